// Part of the protocol generator (scripts/generate-protocol.mjs): Reading the definitions: JSON with comments, version ranges, types and field trees.

import { readFileSync } from 'node:fs';

/** Removes `//` comments (outside strings) so JSON.parse accepts the file. */
function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[++i];
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** "3+", "0-12", "5", "none" -> { lo, hi } (hi may be Infinity) or null. */
function parseRange(text) {
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  let m = /^(\d+)\+$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`bad version range ${JSON.stringify(text)}`);
}

function intersect(a, b) {
  if (!a || !b) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

function hull(a, b) {
  if (!a) return b;
  if (!b) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

function sameRange(a, b) {
  return (!a && !b) || (a && b && a.lo === b.lo && a.hi === b.hi);
}

function rangeText(r) {
  if (!r) return 'none';
  if (r.hi === Infinity) return `${r.lo}+`;
  return r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`;
}

const PRIMITIVES = new Set(['bool', 'int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'string', 'bytes', 'uuid', 'records']);

function parseType(text) {
  if (text.startsWith('[]')) {
    const element = parseType(text.slice(2));
    if (element.kind === 'array') throw new Error(`nested arrays are not supported: ${text}`);
    return { kind: 'array', element };
  }
  if (PRIMITIVES.has(text)) return { kind: 'primitive', name: text };
  if (!/^[A-Z][A-Za-z0-9]*$/.test(text)) throw new Error(`bad type ${text}`);
  return { kind: 'struct', name: text };
}

function camelCase(name) {
  return name[0].toLowerCase() + name.slice(1);
}

function kebabCase(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function loadSpec(path) {
  const json = JSON.parse(stripComments(readFileSync(path, 'utf8')));
  const valid = parseRange(json.validVersions);
  const message = {
    file: path,
    name: json.name,
    type: json.type,
    apiKey: json.apiKey,
    listeners: json.listeners ?? [],
    latestVersionUnstable: json.latestVersionUnstable === true,
    valid,
    flexible: parseRange(json.flexibleVersions),
    structs: new Map(),
    root: null,
  };
  for (const common of json.commonStructs ?? []) defineStruct(message, common.name, common.fields);
  message.root = { name: '', typeName: json.name, fields: convertFields(message, json.fields ?? []), context: null };
  return message;
}

function defineStruct(message, name, fields) {
  if (message.structs.has(name)) throw new Error(`${message.name}: struct ${name} defined twice`);
  // Register before converting so the order of definition is the order of the file.
  // Struct names that already start with the message name (MetadataResponseTopic) are not prefixed twice.
  const typeName = name.startsWith(message.name) ? name : message.name + name;
  const struct = { name, typeName, fields: null, context: null };
  message.structs.set(name, struct);
  struct.fields = convertFields(message, fields);
  return struct;
}

function convertFields(message, fields) {
  return fields.map((f) => {
    const type = parseType(f.type);
    const field = {
      jsonName: f.name,
      name: camelCase(f.name),
      type,
      versions: parseRange(f.versions),
      nullable: parseRange(f.nullableVersions) ?? null,
      tagged: parseRange(f.taggedVersions) ?? null,
      tag: f.tag,
      defaultText: f.default,
      flexibleOverride: parseRange(f.flexibleVersions),
      about: f.about ?? '',
      context: null,
    };
    if (field.versions === undefined) throw new Error(`${message.name}.${f.name}: no versions`);
    if (field.tagged && !sameRange(field.tagged, field.versions)) {
      throw new Error(`${message.name}.${f.name}: a field tagged in only some of its versions is not supported`);
    }
    if (field.tagged && typeof field.tag !== 'number') throw new Error(`${message.name}.${f.name}: tagged without tag`);
    const structType = type.kind === 'array' ? type.element : type;
    if (f.fields) {
      if (structType.kind !== 'struct') throw new Error(`${message.name}.${f.name}: fields on a non-struct`);
      defineStruct(message, structType.name, f.fields);
    }
    return field;
  });
}

export { stripComments, parseRange, intersect, hull, sameRange, rangeText, PRIMITIVES, parseType, camelCase, kebabCase, loadSpec, defineStruct, convertFields };
