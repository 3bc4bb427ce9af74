import t from 'tap';
import * as generated from '../../src/protocol/generated/index.js';
import { apiSchemas, ApiKey, apiName } from '../../src/protocol/generated/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { encodeWithModel, haveSpecs, loadSpecs, randomMessage, versionsOf } from './fixtures/schema-model.js';

type Codec = {
  create: () => unknown;
  read: (r: Reader, version: number) => unknown;
  write: (w: Writer, version: number, m: any) => void;
};

const modules = generated as unknown as Record<string, unknown>;
function codec(name: string): Codec {
  return {
    create: modules[`create${name}`] as Codec['create'],
    read: modules[`read${name}`] as Codec['read'],
    write: modules[`write${name}`] as Codec['write'],
  };
}

function encode(c: Codec, version: number, m: unknown): Buffer {
  const w = new Writer();
  c.write(w, version, m);
  return w.toBuffer();
}

function decode(c: Codec, version: number, bytes: Buffer): unknown {
  const r = new Reader(bytes);
  const m = c.read(r, version);
  if (r.remaining() !== 0) throw new Error(`${r.remaining()} bytes left after decoding`);
  return m;
}

// Header and data schemas: name -> version range.
const OTHER_SCHEMAS: Array<[string, number, number]> = [
  ['RequestHeader', 1, 2],
  ['ResponseHeader', 0, 1],
  ['ConsumerProtocolSubscription', 0, 3],
  ['ConsumerProtocolAssignment', 0, 3],
  ['ControlRecordTypeSchema', 0, 0],
  ['EndTxnMarker', 0, 0],
  ['DefaultPrincipalData', 0, 0],
  ['LeaderChangeMessage', 0, 0],
  ['SnapshotHeaderRecord', 0, 0],
  ['SnapshotFooterRecord', 0, 0],
  ['KRaftVersionRecord', 0, 0],
  ['VotersRecord', 0, 0],
];

t.test('the registry', async (t) => {
  t.equal(apiSchemas.size, 89, '93 api keys minus the 4 Kafka 4 removed');
  for (const removed of [4, 5, 6, 7]) t.notOk(apiSchemas.has(removed), `${apiName(removed)} has no codec`);
  for (let key = 0; key <= 92; key++) t.ok(apiName(key) !== `Unknown(${key})`, `api key ${key} has a name`);
  t.equal(ApiKey.Produce, 0);
  t.equal(ApiKey.ApiVersions, 18);
  t.equal(ApiKey.DeleteShareGroupOffsets, 92);
  const produce = apiSchemas.get(ApiKey.Produce)!;
  t.match(produce, { name: 'Produce', minVersion: 3, maxVersion: 13, firstFlexibleVersion: 9, latestVersionUnstable: false });
  t.same(produce.listeners, ['broker']);
  t.equal(apiSchemas.get(ApiKey.SaslHandshake)!.firstFlexibleVersion, Infinity);
  t.equal(apiSchemas.get(ApiKey.InitProducerId)!.latestVersionUnstable, true);
  t.same(apiSchemas.get(ApiKey.Fetch)!.listeners, ['broker', 'controller']);
});

t.test('default-filled messages round-trip in every version of every API', async (t) => {
  let checked = 0;
  const failures: string[] = [];
  for (const schema of apiSchemas.values()) {
    for (const kind of ['Request', 'Response'] as const) {
      const c = codec(`${schema.name}${kind}`);
      for (let v = schema.minVersion; v <= schema.maxVersion; v++) {
        try {
          const m = c.create();
          const bytes = encode(c, v, m);
          const back = decode(c, v, bytes);
          t.same(back, m, `${schema.name}${kind} v${v}`);
          checked++;
        } catch (error) {
          failures.push(`${schema.name}${kind} v${v}: ${(error as Error).message}`);
        }
      }
    }
  }
  for (const [name, lo, hi] of OTHER_SCHEMAS) {
    const c = codec(name);
    for (let v = lo; v <= hi; v++) {
      const m = c.create();
      t.same(decode(c, v, encode(c, v, m)), m, `${name} v${v}`);
      checked++;
    }
  }
  t.same(failures, []);
  t.ok(checked > 600, `${checked} message versions`);
});

t.test('random messages: generated codecs agree byte for byte with a schema interpreter', { skip: haveSpecs ? false : 'no protocol definitions' }, async (t) => {
  const specs = loadSpecs().filter((s) => s.validVersions !== null);
  let checked = 0;
  const failures: string[] = [];
  for (const spec of specs) {
    const c = codec(spec.name);
    for (const v of versionsOf(spec)) {
      for (let seed = 1; seed <= 12; seed++) {
        const label = `${spec.name} v${v} seed ${seed}`;
        try {
          const m = randomMessage(spec, v, seed * 7919 + v);
          const expected = encodeWithModel(spec, m, v);
          const actual = encode(c, v, m);
          if (!actual.equals(expected)) {
            failures.push(`${label}: writer\n  got      ${actual.toString('hex')}\n  expected ${expected.toString('hex')}`);
            continue;
          }
          const decoded = decode(c, v, actual) as Record<string, unknown>;
          const again = encodeWithModel(spec, decoded, v);
          if (!again.equals(expected)) failures.push(`${label}: reader lost or changed a value`);
          if (!encode(c, v, decoded).equals(expected)) failures.push(`${label}: re-encoding the decoded message differs`);
          checked++;
        } catch (error) {
          failures.push(`${label}: ${(error as Error).stack}`);
        }
      }
    }
  }
  t.same(failures.slice(0, 10), [], 'no mismatches');
  t.equal(failures.length, 0, `${failures.length} failures`);
  t.ok(checked > 5000, `${checked} random messages`);
});

t.test('every exported create function returns a fresh default object', async (t) => {
  const creators = Object.entries(modules).filter(([name, value]) => name.startsWith('create') && typeof value === 'function');
  t.ok(creators.length > 400, `${creators.length} create functions`);
  for (const [name, create] of creators) {
    const a = (create as () => object)();
    const b = (create as () => object)();
    if (typeof a !== 'object' || a === null || a === b) t.fail(`${name} did not return a fresh object`);
  }
});
