// Part of the protocol generator (scripts/generate-protocol.mjs): Working out in which versions each struct and field exists (flexible versions, contexts).

import { hull, intersect, sameRange } from './definitions.mjs';

function structOf(message, type) {
  const t = type.kind === 'array' ? type.element : type;
  if (t.kind !== 'struct') return null;
  const struct = message.structs.get(t.name);
  if (!struct) throw new Error(`${message.name}: unknown struct ${t.name}`);
  return struct;
}

/** A struct's context is the hull of the versions in which any field of its type exists. */
function resolveContexts(message) {
  const visit = (struct, range) => {
    const next = hull(struct.context, range);
    if (sameRange(next, struct.context)) return;
    struct.context = next;
    for (const field of struct.fields) {
      const present = intersect(field.versions, struct.context);
      const target = structOf(message, field.type);
      if (present && target) visit(target, present);
    }
  };
  visit(message.root, message.valid);
  for (const struct of [message.root, ...message.structs.values()]) {
    if (!struct.context) continue;
    // Fields that exist in no valid version (e.g. a field removed with its versions) are dropped.
    struct.fields = struct.fields.filter((field) => intersect(field.versions, struct.context));
    for (const field of struct.fields) {
      field.context = intersect(field.versions, struct.context);
      field.nullableHere = intersect(field.nullable, field.context);
      if (field.tagged && !covers(message.flexible, field.context)) {
        throw new Error(`${message.name}.${field.jsonName}: tagged outside flexible versions`);
      }
      if (field.tagged && field.type.kind === 'primitive' && field.type.name === 'records') {
        throw new Error(`${message.name}.${field.jsonName}: tagged records are not supported`);
      }
      const nullableType = ['string', 'bytes', 'records'].includes(field.type.name) || field.type.kind !== 'primitive';
      if (field.nullableHere && !nullableType) throw new Error(`${message.name}.${field.jsonName}: nullable ${field.type.name}`);
    }
    const tags = struct.fields.filter((f) => f.tagged).map((f) => f.tag);
    if (new Set(tags).size !== tags.length) throw new Error(`${message.name}: duplicate tags in ${struct.typeName}`);
  }
}

function covers(outer, inner) {
  return !!outer && !!inner && outer.lo <= inner.lo && outer.hi >= inner.hi;
}

/**
 * How a range applies within a context: 'always', 'never', or a JS condition on `version`.
 */
function condition(range, context) {
  const within = intersect(range, context);
  if (!within) return 'never';
  const needLo = within.lo > context.lo;
  const needHi = within.hi < context.hi;
  if (!needLo && !needHi) return 'always';
  if (needLo && needHi) {
    return within.lo === within.hi ? `version === ${within.lo}` : `version >= ${within.lo} && version <= ${within.hi}`;
  }
  return needLo ? `version >= ${within.lo}` : `version <= ${within.hi}`;
}

export { structOf, resolveContexts, covers, condition };
