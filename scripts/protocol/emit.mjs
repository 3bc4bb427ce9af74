// Part of the protocol generator (scripts/generate-protocol.mjs): Code emission: one reader and one writer per struct, covering every version.

import { HEADER } from './constants.mjs';
import { rangeText, sameRange } from './definitions.mjs';
import { condition, resolveContexts, structOf } from './versions.mjs';
import { FIXED_SIZE, arrayElementMinSize, defaultExpr, elementTs, fieldTs } from './types.mjs';

const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined ' +
    'r w m version flexible'
  ).split(' '),
);

function localName(field) {
  return RESERVED.has(field.name) ? `${field.name}_` : field.name;
}

const MAX_LINE = 110;

/** `if (cond) throw error;` on one line when it fits, else as a block. */
function guardedThrow(out, cond, error) {
  const line = `if (${cond}) throw ${error};`;
  if (out.depth * 2 + line.length <= MAX_LINE) {
    out.line(line);
    return;
  }
  out.open(`if (${cond}) {`);
  out.line(`throw ${error};`);
  out.close();
}

/** Opens a function, with one parameter per line when the signature does not fit. */
function openFunction(out, head, params, returnType) {
  const line = `${head}(${params.join(', ')}): ${returnType} {`;
  if (out.depth * 2 + line.length <= MAX_LINE) {
    out.open(line);
    return;
  }
  out.open(`${head}(`);
  for (const p of params) out.line(`${p},`);
  out.depth--;
  out.open(`): ${returnType} {`);
}

/** `for (...) target.push(expr);`, as a block when the line would be too long. */
function emitPushLoop(out, id, target, expr) {
  const head = `for (let _i${id} = 0; _i${id} < _n${id}; _i${id}++)`;
  const line = `${head} ${target}.push(${expr});`;
  if (out.depth * 2 + line.length <= MAX_LINE) {
    out.line(line);
    return;
  }
  out.open(`${head} {`);
  out.line(`${target}.push(${expr});`);
  out.close();
}

class Lines {
  constructor() {
    this.lines = [];
    this.depth = 0;
  }
  line(text = '') {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
  }
  open(text) {
    this.line(text);
    this.depth++;
  }
  close(text = '}') {
    this.depth--;
    this.line(text);
  }
  toString() {
    return this.lines.join('\n');
  }
}

/** Per-file state: which primitives helpers the file imports. */
class FileContext {
  constructor() {
    this.values = new Set();
    this.types = new Set(['Reader', 'Writer']);
  }
  use(name) {
    this.values.add(name);
  }
  useType(name) {
    this.types.add(name);
  }
  importLine() {
    const names = [...this.values].sort().concat([...this.types].filter((t) => !this.values.has(t)).sort().map((t) => `type ${t}`));
    return `import { ${names.join(', ')} } from '../primitives.js';`;
  }
}

/** How flexible encoding applies to a field in a struct function: 'always', 'never' or a JS expression. */
function flexMode(message, struct, field, structFlex) {
  const range = field.flexibleOverride !== undefined ? field.flexibleOverride : message.flexible;
  const mode = condition(range, field.context);
  if (mode === 'always' || mode === 'never') return mode;
  // The same condition as the struct's: use the `flexible` local.
  if (field.flexibleOverride === undefined && structFlex !== 'always' && structFlex !== 'never') return 'flexible';
  return `(${mode})`;
}

function pick(mode, compact, plain) {
  if (mode === 'always') return compact;
  if (mode === 'never') return plain;
  return `${mode} ? ${compact} : ${plain}`;
}

function parenthesizeConditional(expr) {
  return /\?/.test(expr) ? `(${expr})` : expr;
}

/** Expression reading one value of a primitive or struct type. */
function readValueExpr(message, type, flex, nullable) {
  if (type.kind === 'struct') {
    const call = `read${structOf(message, type).typeName}(r, version)`;
    if (nullable === 'never') return call;
    if (nullable === 'always') return `r.int8() < 0 ? null : ${call}`;
    return `${nullable} && r.int8() < 0 ? null : ${call}`;
  }
  const n = nullable !== 'never';
  switch (type.name) {
    case 'bool':
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'int64':
    case 'float64':
    case 'uuid':
      return `r.${type.name}()`;
    case 'string':
      return pick(flex, n ? 'r.compactString()' : 'r.nonNullCompactString()', n ? 'r.string()' : 'r.nonNullString()');
    case 'bytes':
    case 'records':
      return pick(flex, n ? 'r.compactBytes()' : 'r.nonNullCompactBytes()', n ? 'r.bytes()' : 'r.nonNullBytes()');
    default:
      throw new Error(`unknown primitive ${type.name}`);
  }
}

function describe(struct, field) {
  return `${struct.typeName}.${field.name}`;
}

/**
 * Emits statements that read `field` into the already-declared variable `target`.
 * `flex` and `nullable` are modes ('always' | 'never' | expression).
 */
function emitReadInto(out, message, struct, field, target, flex, nullable, counter, ctx) {
  if (field.type.kind !== 'array') {
    out.line(`${target} = ${readValueExpr(message, field.type, flex, nullable)};`);
    if (nullable !== 'always' && nullable !== 'never' && field.type.kind === 'primitive') {
      ctx.use('ProtocolDecodeError');
      guardedThrow(out, `${target} === null && !(${nullable})`, `new ProtocolDecodeError('non-nullable ${describe(struct, field)} was null')`);
    }
    return;
  }
  const id = counter.next();
  const min = arrayElementMinSize(message, field);
  const element = field.type.element;
  const elementExpr = readValueExpr(message, element, flex, 'never');
  if (nullable === 'never') {
    out.line(`const _n${id} = ${pick(flex, `r.nonNullCompactArrayLength(${min})`, `r.nonNullArrayLength(${min})`)};`);
    out.line(`const _a${id}: ${elementTs(message, element)}[] = [];`);
    emitPushLoop(out, id, `_a${id}`, elementExpr);
    out.line(`${target} = _a${id};`);
    return;
  }
  out.line(`const _n${id} = ${pick(flex, `r.compactArrayLength(${min})`, `r.arrayLength(${min})`)};`);
  out.open(`if (_n${id} < 0) {`);
  if (nullable !== 'always') {
    ctx.use('ProtocolDecodeError');
    guardedThrow(out, `!(${nullable})`, `new ProtocolDecodeError('non-nullable ${describe(struct, field)} was null')`);
  }
  out.line(`${target} = null;`);
  out.close('} else {');
  out.depth++;
  out.line(`const _a${id}: ${elementTs(message, element)}[] = [];`);
  emitPushLoop(out, id, `_a${id}`, elementExpr);
  out.line(`${target} = _a${id};`);
  out.close();
}

function makeCounter() {
  let n = 0;
  return { next: () => ++n };
}

function structFlexMode(message, struct) {
  return condition(message.flexible, struct.context);
}

function emitReader(out, message, struct, exported, ctx) {
  const type = struct.typeName;
  const structFlex = structFlexMode(message, struct);
  const counter = makeCounter();
  const body = new Lines();
  body.depth = 1;
  const regular = struct.fields.filter((f) => !f.tagged);
  const tagged = struct.fields.filter((f) => f.tagged).sort((a, b) => a.tag - b.tag);

  for (const field of regular) {
    const present = condition(field.context, struct.context);
    const flex = flexMode(message, struct, field, structFlex);
    const nullable = condition(field.nullableHere, field.context);
    const local = localName(field);
    const ts = fieldTs(message, field);
    if (present === 'always' && field.type.kind !== 'array') {
      body.line(`const ${local} = ${readValueExpr(message, field.type, flex, nullable)};`);
      if (nullable !== 'always' && nullable !== 'never' && field.type.kind === 'primitive') {
        ctx.use('ProtocolDecodeError');
        guardedThrow(body, `${local} === null && !(${nullable})`, `new ProtocolDecodeError('non-nullable ${describe(struct, field)} was null')`);
      }
      continue;
    }
    if (present === 'always' && nullable === 'never') {
      // Arrays that are always there and never null: fill the local directly.
      const id = counter.next();
      const min = arrayElementMinSize(message, field);
      const element = field.type.element;
      body.line(`const _n${id} = ${pick(flex, `r.nonNullCompactArrayLength(${min})`, `r.nonNullArrayLength(${min})`)};`);
      body.line(`const ${local}: ${ts} = [];`);
      emitPushLoop(body, id, local, readValueExpr(message, element, flex, 'never'));
      continue;
    }
    if (present !== 'always' && field.type.kind !== 'array' && !(nullable !== 'always' && nullable !== 'never')) {
      const read = parenthesizeConditional(readValueExpr(message, field.type, flex, nullable));
      body.line(`const ${local}: ${ts} = ${present} ? ${read} : ${defaultExpr(message, field, ctx)};`);
      continue;
    }
    if (present === 'always') {
      body.line(`let ${local}: ${ts};`);
      emitReadInto(body, message, struct, field, local, flex, nullable, counter, ctx);
    } else {
      body.line(`let ${local}: ${ts} = ${defaultExpr(message, field, ctx)};`);
      body.open(`if (${present}) {`);
      emitReadInto(body, message, struct, field, local, flex, nullable, counter, ctx);
      body.close();
    }
  }

  for (const field of tagged) {
    body.line(`let ${localName(field)}: ${fieldTs(message, field)} = ${defaultExpr(message, field, ctx)};`);
  }
  if (structFlex !== 'never') {
    if (tagged.length === 0) {
      body.line(structFlex === 'always' ? 'r.skipTaggedFields();' : `if (flexible) r.skipTaggedFields();`);
    } else {
      if (structFlex !== 'always') body.open('if (flexible) {');
      body.line('const _tagCount = r.uvarint();');
      body.open('for (let _t = 0; _t < _tagCount; _t++) {');
      body.line('const _tag = r.uvarint();');
      body.line('const _end = r.taggedFieldEnd(r.uvarint());');
      body.open('switch (_tag) {');
      for (const field of tagged) {
        const present = condition(field.context, struct.context);
        const nullable = condition(field.nullableHere, field.context);
        body.open(`case ${field.tag}: {`);
        if (present !== 'always') body.open(`if (${present}) {`);
        emitReadInto(body, message, struct, field, localName(field), 'always', nullable, counter, ctx);
        if (present !== 'always') body.close();
        body.line('break;');
        body.close();
      }
      body.close();
      body.line('r.endTaggedField(_end);');
      body.close();
      if (structFlex !== 'always') body.close();
    }
  }
  const props = struct.fields.map((f) => (localName(f) === f.name ? f.name : `${f.name}: ${localName(f)}`));
  const literal = props.length === 0 ? '{}' : `{ ${props.join(', ')} }`;
  if (literal.length + 11 > 110) {
    body.open('return {');
    for (const p of props) body.line(`${p},`);
    body.close('};');
  } else {
    body.line(`return ${literal};`);
  }

  const text = body.toString();
  openFunction(out, `${exported ? 'export ' : ''}function read${type}`, ['r: Reader', 'version: number'], type);
  if (/\bflexible\b/.test(text.replace(/'[^']*'/g, ''))) {
    out.line(`const flexible = ${structFlex === 'always' ? 'true' : structFlex === 'never' ? 'false' : structFlex};`);
  }
  out.lines.push(text);
  out.close();
}

/** The value of `field` in `m` for writing: the message's value, or the default when left out. */
function accessExpr(message, field, ctx, source = 'm') {
  const expr = `${source}.${field.name}`;
  if (isRequired(field)) return expr;
  const def = defaultExpr(message, field, ctx);
  if (field.nullableHere && def !== 'null') return `${expr} === undefined ? ${def} : ${expr}`;
  return `${expr} ?? ${def}`;
}

function isRequired(field) {
  return !field.tagged && sameRange(field.context, field.structContext);
}

/** Statements writing one non-array value `v` (an expression without side effects) with writer `wn`. */
function emitWriteValue(out, message, struct, field, type, v, flex, nullable, ctx, wn) {
  if (type.kind === 'struct') {
    const call = `write${structOf(message, type).typeName}(${wn}, version, ${v});`;
    if (nullable === 'never') {
      out.line(call);
      return;
    }
    if (nullable !== 'always') {
      ctx.use('ProtocolEncodeError');
      guardedThrow(out, `${v} === null && !(${nullable})`, `new ProtocolEncodeError('${describe(struct, field)} cannot be null in version ' + version)`);
    }
    out.open(`if (${v} === null) {`);
    out.line(`${wn}.int8(-1);`);
    out.close('} else {');
    out.depth++;
    out.line(`${wn}.int8(1);`);
    out.line(call);
    out.close();
    return;
  }
  if (nullable !== 'always' && field.nullableHere && field.type.kind !== 'array') {
    ctx.use('ProtocolEncodeError');
    guardedThrow(out, `${v} === null && !(${nullable})`, `new ProtocolEncodeError('${describe(struct, field)} cannot be null in version ' + version)`);
  }
  switch (type.name) {
    case 'bool':
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'int64':
    case 'float64':
    case 'uuid':
      out.line(`${wn}.${type.name}(${v});`);
      return;
    case 'string':
      emitPick(out, flex, `${wn}.compactString(${v});`, `${wn}.string(${v});`);
      return;
    case 'bytes':
      emitPick(out, flex, `${wn}.compactBytes(${v});`, `${wn}.bytes(${v});`);
      return;
    case 'records':
      out.line(`${wn}.records(${v}, ${flex === 'always' ? 'true' : flex === 'never' ? 'false' : flex});`);
      return;
    default:
      throw new Error(`unknown primitive ${type.name}`);
  }
}

function emitPick(out, mode, compact, plain) {
  if (mode === 'always') out.line(compact);
  else if (mode === 'never') out.line(plain);
  else {
    out.line(`if (${mode}) ${compact}`);
    out.line(`else ${plain}`);
  }
}

/** Statements writing `field` whose value is the expression `v` (evaluated once) with writer `wn`. */
function emitWriteField(out, message, struct, field, v, flex, nullable, counter, ctx, wn = 'w') {
  if (field.type.kind !== 'array') {
    // A computed value (`m.x ?? default`) used more than once gets a local.
    const usedTwice = field.nullableHere && (field.type.kind === 'struct' || nullable !== 'always');
    const needsLocal = usedTwice && /[?]/.test(v);
    if (needsLocal) {
      const id = counter.next();
      out.line(`const _v${id} = ${v};`);
      v = `_v${id}`;
    }
    emitWriteValue(out, message, struct, field, field.type, v, flex, nullable, ctx, wn);
    return;
  }
  const id = counter.next();
  const a = `_a${id}`;
  const i = `_i${id}`;
  out.line(`const ${a} = ${v};`);
  const element = field.type.element;
  const writeLoop = () => {
    emitPick(out, flex, `${wn}.compactArrayLength(${a}.length);`, `${wn}.arrayLength(${a}.length);`);
    out.open(`for (let ${i} = 0; ${i} < ${a}.length; ${i}++) {`);
    emitWriteValue(out, message, struct, field, element, `${a}[${i}]!`, flex, 'never', ctx, wn);
    out.close();
  };
  if (!field.nullableHere) {
    writeLoop();
    return;
  }
  out.open(`if (${a} === null) {`);
  if (nullable !== 'always') {
    ctx.use('ProtocolEncodeError');
    guardedThrow(out, `!(${nullable})`, `new ProtocolEncodeError('${describe(struct, field)} cannot be null in version ' + version)`);
  }
  emitPick(out, flex, `${wn}.compactArrayLength(-1);`, `${wn}.arrayLength(-1);`);
  out.close('} else {');
  out.depth++;
  writeLoop();
  out.close();
}

/** Expression: true when the tagged field value `v` (possibly undefined) differs from its default. */
function notDefaultExpr(message, field, v, ctx) {
  const def = defaultExpr(message, field, ctx);
  const type = field.type;
  if (def === 'null') return `${v} != null`;
  const nullOr = (rest) => (field.nullableHere ? `(${v} === null || ${rest})` : rest);
  if (type.kind === 'array') return `${v} !== undefined && ${nullOr(`${v}.length > 0`)}`;
  if (type.kind === 'struct') return `${v} !== undefined && ${nullOr(`!isDefault${structOf(message, type).typeName}(${v})`)}`;
  switch (type.name) {
    case 'bytes':
    case 'records':
      return `${v} !== undefined && ${nullOr(`${v}.length > 0`)}`;
    case 'uuid':
      ctx.use('isZeroUuid');
      return `${v} !== undefined && !isZeroUuid(${v})`;
    default:
      return `${v} !== undefined && ${v} !== ${def}`;
  }
}

/** Expression: true when struct field `m.x` holds its default (used for tagged struct values). */
function isDefaultFieldExpr(message, field, ctx) {
  const v = `m.${field.name}`;
  const def = defaultExpr(message, field, ctx);
  const type = field.type;
  const optional = !isRequired(field);
  const undef = (rest) => (optional ? `(${v} === undefined || ${rest})` : rest);
  if (def === 'null') return optional ? `${v} == null` : `${v} === null`;
  const notNull = (rest) => (field.nullableHere ? `${v} !== null && ${rest}` : rest);
  if (type.kind === 'array') return undef(notNull(`${v}.length === 0`));
  if (type.kind === 'struct') return undef(notNull(`isDefault${structOf(message, type).typeName}(${v})`));
  switch (type.name) {
    case 'bytes':
    case 'records':
      return undef(notNull(`${v}.length === 0`));
    case 'uuid':
      ctx.use('isZeroUuid');
      return undef(`isZeroUuid(${v})`);
    default:
      return undef(`${v} === ${def}`);
  }
}

function emitWriter(out, message, struct, exported, ctx) {
  const type = struct.typeName;
  const structFlex = structFlexMode(message, struct);
  const counter = makeCounter();
  const body = new Lines();
  body.depth = 1;
  const regular = struct.fields.filter((f) => !f.tagged);
  const tagged = struct.fields.filter((f) => f.tagged).sort((a, b) => a.tag - b.tag);

  for (const field of regular) {
    const present = condition(field.context, struct.context);
    const flex = flexMode(message, struct, field, structFlex);
    const nullable = condition(field.nullableHere, field.context);
    const value = accessExpr(message, field, ctx);
    if (present === 'always') {
      emitWriteField(body, message, struct, field, value, flex, nullable, counter, ctx);
    } else {
      const block = new Lines();
      block.depth = body.depth + 1;
      emitWriteField(block, message, struct, field, value, flex, nullable, counter, ctx);
      if (block.lines.length === 1) {
        body.line(`if (${present}) ${block.lines[0].trim()}`);
      } else {
        body.line(`if (${present}) {`);
        body.lines.push(block.toString());
        body.line('}');
      }
    }
  }

  if (structFlex !== 'never') {
    if (tagged.length === 0) {
      body.line(structFlex === 'always' ? 'w.emptyTaggedFields();' : 'if (flexible) w.emptyTaggedFields();');
    } else {
      if (structFlex !== 'always') body.open('if (flexible) {');
      let i = 0;
      for (const field of tagged) {
        const present = condition(field.context, struct.context);
        body.line(`const _t${i} = m.${field.name};`);
        const cond = notDefaultExpr(message, field, `_t${i}`, ctx);
        body.line(`const _has${i} = ${present === 'always' ? '' : `${present} && `}${cond};`);
        i++;
      }
      const counts = tagged.map((_, j) => `(_has${j} ? 1 : 0)`);
      body.line(`w.uvarint(${counts.length === 1 ? counts[0].slice(1, -1) : counts.join(' + ')});`);
      i = 0;
      for (const field of tagged) {
        const t = `_t${i}`;
        body.open(`if (_has${i}) {`);
        const fixed = field.type.kind === 'primitive' && !field.nullableHere ? FIXED_SIZE[field.type.name] : undefined;
        if (fixed !== undefined) {
          body.line(`w.uvarint(${field.tag});`);
          body.line(`w.uvarint(${fixed});`);
          body.line(`w.${field.type.name}(${t});`);
        } else {
          ctx.use('Writer');
          body.line(`const _s = new Writer(64);`);
          const nullable = condition(field.nullableHere, field.context);
          emitWriteField(body, message, struct, field, t, 'always', nullable, counter, ctx, '_s');
          body.line(`w.taggedField(${field.tag}, _s);`);
        }
        body.close();
        i++;
      }
      if (structFlex !== 'always') body.close();
    }
  }

  const text = body.toString();
  const usesM = /\bm\./.test(text);
  openFunction(out, `${exported ? 'export ' : ''}function write${type}`, ['w: Writer', 'version: number', `${usesM ? 'm' : '_m'}: ${type}`], 'void');
  if (/\bflexible\b/.test(text.replace(/'[^']*'/g, ''))) {
    out.line(`const flexible = ${structFlex === 'always' ? 'true' : structFlex === 'never' ? 'false' : structFlex};`);
  }
  if (text.trim() !== '') out.lines.push(text);
  out.close();
}

function emitCreate(out, message, struct, ctx) {
  const type = struct.typeName;
  const props = struct.fields.map((f) => `${f.name}: ${defaultExpr(message, f, ctx)}`);
  out.line(`/** A ${type} with every field at its default. */`);
  if (props.length === 0) {
    out.line(`export function create${type}(): ${type} {`);
    out.line('  return {};');
    out.line('}');
    return;
  }
  out.open(`export function create${type}(): ${type} {`);
  const oneLine = `return { ${props.join(', ')} };`;
  if (oneLine.length + out.depth * 2 <= 110) {
    out.line(oneLine);
  } else {
    out.open('return {');
    for (const p of props) out.line(`${p},`);
    out.close('};');
  }
  out.close();
}

function emitIsDefault(out, message, struct, ctx) {
  const type = struct.typeName;
  const parts = struct.fields.map((f) => isDefaultFieldExpr(message, f, ctx));
  out.open(`function isDefault${type}(m: ${type}): boolean {`);
  if (parts.length === 0) {
    out.line('return true;');
  } else {
    out.open('return (');
    parts.forEach((p, i) => out.line(`${p}${i < parts.length - 1 ? ' &&' : ''}`));
    out.close(');');
  }
  out.close();
}

function docComment(text) {
  return text.replace(/\*\//g, '*\\/');
}

/** A doc comment, on one line when it fits in 110 columns, else wrapped. */
function emitDoc(out, text) {
  const indent = out.depth * 2;
  if (indent + text.length + 7 <= 110) {
    out.line(`/** ${text} */`);
    return;
  }
  out.line('/**');
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent + 3 + line.length + 1 + word.length > 110) {
      out.line(` * ${line}`);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.line(` * ${line}`);
  out.line(' */');
}

function emitInterface(out, message, struct) {
  out.line(`/** ${struct === message.root ? `${message.name}, versions ${rangeText(message.valid)}.` : `Struct ${struct.name} of ${message.name} (versions ${rangeText(struct.context)}).`} */`);
  if (struct.fields.length === 0) {
    out.line(`export interface ${struct.typeName} {}`);
    return;
  }
  out.open(`export interface ${struct.typeName} {`);
  for (const field of struct.fields) {
    const notes = [];
    if (!sameRange(field.context, struct.context)) notes.push(`versions ${rangeText(field.context)}`);
    if (field.tagged) notes.push(`tag ${field.tag}`);
    if (field.nullableHere && !sameRange(field.nullableHere, field.context)) notes.push(`nullable in ${rangeText(field.nullableHere)}`);
    if (field.defaultText !== undefined) notes.push(`default ${field.defaultText}`);
    const about = docComment(field.about.trim()) + (notes.length ? ` (${notes.join('; ')})` : '');
    emitDoc(out, about);
    out.line(`${field.name}${isRequired(field) ? '' : '?'}: ${fieldTs(message, field)};`);
  }
  out.close();
}

/** Structs reachable from tagged struct fields need an isDefault function. */
function structsNeedingIsDefault(message) {
  const need = new Set();
  const add = (struct) => {
    if (need.has(struct)) return;
    need.add(struct);
    for (const f of struct.fields) {
      const s = structOf(message, f.type);
      if (s && f.type.kind === 'struct') add(s);
    }
  };
  for (const struct of [message.root, ...message.structs.values()]) {
    if (!struct.context) continue;
    for (const f of struct.fields) {
      if (f.tagged && f.type.kind === 'struct' && f.defaultText !== 'null') add(structOf(message, f.type));
    }
  }
  return need;
}

/** Structs in definition order, children after the struct that uses them, only those in use. */
function liveStructs(message) {
  return [...message.structs.values()].filter((s) => s.context);
}

function emitMessage(out, message, ctx) {
  resolveContexts(message);
  const structs = [message.root, ...liveStructs(message)];
  for (const s of structs) for (const f of s.fields) f.structContext = s.context;
  const isDefaultSet = structsNeedingIsDefault(message);
  if (structs.some((s) => s.fields.some((f) => f.type.name === 'records'))) ctx.useType('RecordsChunk');

  out.line(`// ---- ${message.name} ----`);
  out.line();
  for (const s of structs) {
    emitInterface(out, message, s);
    out.line();
  }
  for (const s of structs) {
    emitCreate(out, message, s, ctx);
    out.line();
  }
  for (const s of structs) {
    if (!isDefaultSet.has(s)) continue;
    emitIsDefault(out, message, s, ctx);
    out.line();
  }
  for (const s of structs) {
    emitReader(out, message, s, s === message.root, ctx);
    out.line();
  }
  for (const s of structs) {
    emitWriter(out, message, s, s === message.root, ctx);
    out.line();
  }
}

function exportedNames(message) {
  const names = [message.name, `read${message.name}`, `write${message.name}`, `create${message.name}`];
  for (const s of liveStructs(message)) names.push(s.typeName, `create${s.typeName}`);
  return names;
}

function renderFile(messages, summary) {
  const ctx = new FileContext();
  const out = new Lines();
  for (const message of messages) emitMessage(out, message, ctx);
  const text = out.toString().replace(/\n+$/, '');
  return `${HEADER}\n//\n${summary.map((l) => `// ${l}`.trimEnd()).join('\n')}\n\n${ctx.importLine()}\n\n${text}\n`;
}

export { RESERVED, localName, MAX_LINE, guardedThrow, openFunction, emitPushLoop, Lines, FileContext, flexMode, pick, parenthesizeConditional, readValueExpr, describe, emitReadInto, makeCounter, structFlexMode, emitReader, accessExpr, isRequired, emitWriteValue, emitPick, emitWriteField, notDefaultExpr, isDefaultFieldExpr, emitWriter, emitCreate, emitIsDefault, docComment, emitDoc, emitInterface, structsNeedingIsDefault, liveStructs, emitMessage, exportedNames, renderFile };
