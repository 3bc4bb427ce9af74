// Part of the protocol generator (scripts/generate-protocol.mjs): The API table and index.ts, and generate(): the whole run over a spec directory.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER } from './constants.mjs';
import { kebabCase, loadSpec, rangeText, sameRange } from './definitions.mjs';
import { quote } from './types.mjs';
import { Lines, exportedNames, renderFile } from './emit.mjs';

function apiBaseName(requestName) {
  return requestName.replace(/Request$/, '');
}

function listenersText(list) {
  return `[${list.map(quote).join(', ')}]`;
}

function generate(specDir, outDir) {
  const files = readdirSync(specDir).filter((f) => f.endsWith('.json')).sort();
  const specs = files.map((f) => loadSpec(join(specDir, f)));
  const requests = new Map();
  const responses = new Map();
  const others = [];
  for (const spec of specs) {
    if (spec.type === 'request') requests.set(spec.apiKey, spec);
    else if (spec.type === 'response') responses.set(spec.apiKey, spec);
    else others.push(spec);
  }

  const output = new Map();
  const apis = [];
  const keys = [...requests.keys()].sort((a, b) => a - b);
  for (const key of keys) {
    const request = requests.get(key);
    const response = responses.get(key);
    if (!response) throw new Error(`no response for api key ${key}`);
    const base = apiBaseName(request.name);
    if (!request.valid) {
      apis.push({ key, base, removed: true });
      continue;
    }
    if (!sameRange(request.valid, response.valid)) throw new Error(`${base}: request and response versions differ`);
    const fileName = `${String(key).padStart(2, '0')}-${kebabCase(base)}`;
    const summary = [
      `${base} (api key ${key}): versions ${rangeText(request.valid)}, flexible ${rangeText(request.flexible)}` +
        `${request.latestVersionUnstable ? `, v${request.valid.hi} unstable` : ''}; listeners: ${request.listeners.join(', ')}.`,
    ];
    output.set(`${fileName}.ts`, renderFile([request, response], summary));
    apis.push({ key, base, fileName, request, response });
  }

  const dataFiles = [];
  for (const spec of others.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const fileName = kebabCase(spec.name).replace(/^k-raft/, 'kraft');
    const what = spec.type === 'header' ? 'header' : 'data schema (not an RPC)';
    const summary = [`${spec.name}: ${what}, versions ${rangeText(spec.valid)}, flexible ${rangeText(spec.flexible)}.`];
    output.set(`${fileName}.ts`, renderFile([spec], summary));
    dataFiles.push({ fileName, spec });
  }

  // Every name exported through index.ts must be unique.
  const seen = new Map();
  const all = [...apis.filter((a) => !a.removed).flatMap((a) => [a.request, a.response]), ...others];
  for (const message of all) {
    for (const name of exportedNames(message)) {
      if (seen.has(name)) throw new Error(`exported name ${name} collides (${seen.get(name)} and ${message.name})`);
      seen.set(name, message.name);
    }
  }

  output.set('index.ts', renderIndex(apis, dataFiles));

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of [...output.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) writeFileSync(join(outDir, name), text);
  return { files: output.size, apis: apis.filter((a) => !a.removed).length };
}

function renderIndex(apis, dataFiles) {
  const out = new Lines();
  out.line(HEADER);
  out.line('//');
  out.line('// The registry of every Kafka API: version ranges, flexible versions and codecs, keyed by api key.');
  out.line('// APIs whose every version Kafka has removed (validVersions "none") keep a name in ApiKey but have');
  out.line('// no codec and no entry in apiSchemas.');
  out.line();
  out.line("import type { Reader, Writer } from '../primitives.js';");
  const live = apis.filter((a) => !a.removed);
  for (const api of live) {
    const r = api.request.name;
    const s = api.response.name;
    const names = [`create${r}`, `create${s}`, `read${r}`, `read${s}`, `write${r}`, `write${s}`];
    const oneLine = `import { ${names.join(', ')} } from './${api.fileName}.js';`;
    if (oneLine.length <= 120) {
      out.line(oneLine);
    } else {
      out.open('import {');
      for (const n of names) out.line(`${n},`);
      out.close(`} from './${api.fileName}.js';`);
    }
  }
  out.line();
  for (const api of live) out.line(`export * from './${api.fileName}.js';`);
  for (const d of dataFiles) out.line(`export * from './${d.fileName}.js';`);
  out.line();
  out.line('/** Every Kafka API key by name (including the ones Kafka 4 removed). */');
  out.open('export const ApiKey = {');
  for (const api of apis) out.line(`${api.base}: ${api.key},`);
  out.close('} as const;');
  out.line();
  out.line('export type ApiKeyName = keyof typeof ApiKey;');
  out.line();
  out.open('export interface ApiSchema {');
  out.line('apiKey: number;');
  out.line('name: string;');
  out.line('minVersion: number;');
  out.line('maxVersion: number;');
  out.line('/** Infinity when the API is never flexible. */');
  out.line('firstFlexibleVersion: number;');
  out.line('listeners: readonly string[];');
  out.line('/** The highest version is still under development; Kafka does not advertise it by default. */');
  out.line('latestVersionUnstable: boolean;');
  out.line('/** A request with every field at its default. */');
  out.line('createRequest(): unknown;');
  out.line('/** A response with every field at its default (e.g. to fill in an error answer). */');
  out.line('createResponse(): unknown;');
  out.line('readRequest(r: Reader, version: number): unknown;');
  out.line('writeRequest(w: Writer, version: number, m: any): void;');
  out.line('readResponse(r: Reader, version: number): unknown;');
  out.line('writeResponse(w: Writer, version: number, m: any): void;');
  out.close();
  out.line();
  out.open('const schemas: ApiSchema[] = [');
  for (const api of live) {
    const q = api.request;
    const p = api.response;
    out.open('{');
    out.line(`apiKey: ${api.key},`);
    out.line(`name: ${quote(api.base)},`);
    out.line(`minVersion: ${q.valid.lo},`);
    out.line(`maxVersion: ${q.valid.hi},`);
    out.line(`firstFlexibleVersion: ${q.flexible ? q.flexible.lo : 'Infinity'},`);
    out.line(`listeners: ${listenersText(q.listeners)},`);
    out.line(`latestVersionUnstable: ${q.latestVersionUnstable},`);
    out.line(`createRequest: create${q.name},`);
    out.line(`readRequest: read${q.name},`);
    out.line(`writeRequest: write${q.name},`);
    out.line(`createResponse: create${p.name},`);
    out.line(`readResponse: read${p.name},`);
    out.line(`writeResponse: write${p.name},`);
    out.close('},');
  }
  out.close('];');
  out.line();
  out.line('/** Every API that has at least one version, by api key. */');
  out.line('export const apiSchemas: ReadonlyMap<number, ApiSchema> = new Map(schemas.map((schema) => [schema.apiKey, schema]));');
  out.line();
  out.line('const apiNames = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));');
  out.line();
  out.line('/** The API\'s name for logs, e.g. `apiName(0) === \'Produce\'`; `Unknown(n)` otherwise. */');
  out.open('export function apiName(apiKey: number): string {');
  out.line('return apiNames.get(apiKey) ?? `Unknown(${apiKey})`;');
  out.close();
  return out.toString() + '\n';
}

export { apiBaseName, listenersText, generate, renderIndex };
