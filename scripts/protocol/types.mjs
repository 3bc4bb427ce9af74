// Part of the protocol generator (scripts/generate-protocol.mjs): TypeScript types, default values and minimum encoded sizes of fields.

import { intersect } from './definitions.mjs';
import { structOf } from './versions.mjs';

const TS_PRIMITIVE = {
  bool: 'boolean',
  int8: 'number',
  int16: 'number',
  uint16: 'number',
  int32: 'number',
  int64: 'bigint',
  float64: 'number',
  string: 'string',
  bytes: 'Buffer',
  uuid: 'Buffer',
  records: 'Buffer | RecordsChunk',
};

function elementTs(message, type) {
  if (type.kind === 'primitive') return TS_PRIMITIVE[type.name];
  return structOf(message, type).typeName;
}

function fieldTs(message, field) {
  let ts;
  if (field.type.kind === 'array') ts = `${elementTs(message, field.type.element)}[]`;
  else ts = elementTs(message, field.type);
  return field.nullableHere ? `${ts} | null` : ts;
}

const FIXED_SIZE = { bool: 1, int8: 1, int16: 2, uint16: 2, int32: 4, int64: 8, float64: 8, uuid: 16 };

function isFlexibleAt(message, field, version) {
  const range = field.flexibleOverride !== undefined ? field.flexibleOverride : message.flexible;
  return !!intersect(range, { lo: version, hi: version });
}

function inRange(range, version) {
  return !!range && version >= range.lo && version <= range.hi;
}

/** Smallest number of bytes one value of `type` occupies in `version` (to bound array counts). */
function minSize(message, type, version, flexible, nullable) {
  if (type.kind === 'array') return flexible ? 1 : 4;
  if (type.kind === 'primitive') {
    if (type.name in FIXED_SIZE) return FIXED_SIZE[type.name];
    if (type.name === 'string') return flexible ? 1 : 2;
    return flexible ? 1 : 4;
  }
  if (nullable) return 1;
  return structMinSize(message, structOf(message, type), version);
}

function structMinSize(message, struct, version) {
  let size = inRange(message.flexible, version) ? 1 : 0;
  for (const field of struct.fields) {
    if (!inRange(field.context, version) || field.tagged) continue;
    size += minSize(message, field.type, version, isFlexibleAt(message, field, version), inRange(field.nullable, version));
  }
  return size;
}

/** Minimum element size of an array field over all versions in which it exists (at least 1). */
function arrayElementMinSize(message, field) {
  let min = Infinity;
  for (let v = field.context.lo; v <= Math.min(field.context.hi, maxVersion(message)); v++) {
    min = Math.min(min, minSize(message, field.type.element, v, isFlexibleAt(message, field, v), false));
  }
  if (!(min >= 1)) throw new Error(`${message.name}.${field.jsonName}: array elements can be empty`);
  return min;
}

function maxVersion(message) {
  return message.valid.hi;
}

function parseIntegerDefault(text) {
  const n = /^-?0x/i.test(text) ? Number.parseInt(text, 16) : Number(text);
  if (!Number.isInteger(n)) throw new Error(`bad integer default ${text}`);
  return n;
}

/** The JS expression of a field's default value, as Kafka defines it. */
function defaultExpr(message, field, ctx) {
  const d = field.defaultText;
  const type = field.type;
  if (d === 'null') {
    if (!field.nullableHere) {
      // Null default on a field that cannot be null in any valid version: use the type's zero.
      return zeroExpr(message, type, ctx);
    }
    return 'null';
  }
  if (type.kind === 'array') {
    if (d !== undefined && d !== '') throw new Error(`${message.name}.${field.jsonName}: array default ${d}`);
    return '[]';
  }
  if (type.kind === 'struct') {
    if (d !== undefined) throw new Error(`${message.name}.${field.jsonName}: struct default ${d}`);
    return zeroExpr(message, type, ctx);
  }
  if (d === undefined) {
    // Kafka's records fields default to null.
    if (type.name === 'records' && field.nullableHere) return 'null';
    return zeroExpr(message, type, ctx);
  }
  const text = String(d);
  switch (type.name) {
    case 'bool':
      if (text !== 'true' && text !== 'false') throw new Error(`bad bool default ${text}`);
      return text;
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
      return String(parseIntegerDefault(text));
    case 'int64':
      return `${BigInt(text)}n`;
    case 'float64':
      return String(Number(text));
    case 'string':
      return quote(text);
    default:
      throw new Error(`${message.name}.${field.jsonName}: default ${text} for ${type.name}`);
  }
}

function zeroExpr(message, type, ctx) {
  if (type.kind === 'array') return '[]';
  if (type.kind === 'struct') return `create${structOf(message, type).typeName}()`;
  switch (type.name) {
    case 'bool':
      return 'false';
    case 'int64':
      return '0n';
    case 'string':
      return "''";
    case 'bytes':
      ctx.use('EMPTY_BUFFER');
      return 'EMPTY_BUFFER';
    case 'records':
      ctx.use('EMPTY_BUFFER');
      return 'EMPTY_BUFFER';
    case 'uuid':
      ctx.use('ZERO_UUID');
      return 'ZERO_UUID';
    default:
      return '0';
  }
}

function quote(text) {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export { TS_PRIMITIVE, elementTs, fieldTs, FIXED_SIZE, isFlexibleAt, inRange, minSize, structMinSize, arrayElementMinSize, maxVersion, parseIntegerDefault, defaultExpr, zeroExpr, quote };
