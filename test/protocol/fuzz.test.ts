// Hostile input: random bytes, truncated and mutated encodings fed to every reader. A reader may
// succeed or throw ProtocolDecodeError, nothing else (no RangeError, TypeError, out-of-memory),
// and must finish quickly.

import t from 'tap';
import { decodeRequest } from '../../src/protocol/frame.js';
import * as generated from '../../src/protocol/generated/index.js';
import { apiSchemas } from '../../src/protocol/generated/index.js';
import { ProtocolDecodeError, Reader, Writer } from '../../src/protocol/primitives.js';
import { haveSpecs, loadSpecs, random, randomMessage, type MessageSpec } from './fixtures/schema-model.js';

const modules = generated as unknown as Record<string, any>;
const specs = new Map<string, MessageSpec>(haveSpecs ? loadSpecs().map((s) => [s.name, s]) : []);

function tryRead(read: (r: Reader, v: number) => unknown, version: number, bytes: Buffer): 'ok' | 'decode-error' | Error {
  try {
    read(new Reader(bytes), version);
    return 'ok';
  } catch (error) {
    if (error instanceof ProtocolDecodeError) return 'decode-error';
    return error as Error;
  }
}

/** Valid encodings to mutate: the default message, and random ones when the definitions are at hand. */
function samples(name: string, version: number): Buffer[] {
  const out: Buffer[] = [];
  const messages: unknown[] = [modules[`create${name}`]()];
  const spec = specs.get(name);
  if (spec) for (let seed = 1; seed <= 4; seed++) messages.push(randomMessage(spec, version, seed * 31 + version));
  for (const m of messages) {
    const w = new Writer();
    modules[`write${name}`](w, version, m);
    out.push(w.toBuffer());
  }
  return out;
}

t.test('every reader of every API and version only ever throws ProtocolDecodeError', async (t) => {
  const rnd = random(12345);
  const unexpected: string[] = [];
  const prefixSucceeded: string[] = [];
  let reads = 0;
  const started = Date.now();
  for (const schema of apiSchemas.values()) {
    for (const kind of ['Request', 'Response']) {
      const name = `${schema.name}${kind}`;
      const read = modules[`read${name}`] as (r: Reader, v: number) => unknown;
      for (let v = schema.minVersion; v <= schema.maxVersion; v++) {
        const check = (bytes: Buffer, what: string) => {
          reads++;
          const result = tryRead(read, v, bytes);
          if (result instanceof Error) unexpected.push(`${name} v${v} ${what} ${bytes.toString('hex')}: ${result.stack}`);
          return result;
        };
        // Random bytes, biased towards 0x00 and 0xff, which make null markers and huge counts.
        for (let i = 0; i < 40; i++) {
          const length = Math.floor(rnd() * 48);
          const bytes = Buffer.from(
            Array.from({ length }, () => {
              const x = rnd();
              return x < 0.3 ? 0 : x < 0.5 ? 0xff : x < 0.6 ? 0x7f : Math.floor(rnd() * 256);
            }),
          );
          check(bytes, 'random');
        }
        for (const sample of samples(name, v)) {
          // Every strict prefix is truncated and must fail (at most ~64 cuts per sample).
          const step = Math.max(1, Math.floor(sample.length / 64));
          for (let cut = 0; cut < sample.length; cut += cut < 16 ? 1 : step) {
            if (check(sample.subarray(0, cut), `prefix ${cut}/${sample.length}`) === 'ok') prefixSucceeded.push(`${name} v${v} cut ${cut}`);
          }
          // Single-byte mutations.
          for (let i = 0; i < 24 && sample.length > 0; i++) {
            const mutated = Buffer.from(sample);
            const at = Math.floor(rnd() * sample.length);
            mutated[at] = [0x00, 0xff, 0x7f, 0x80, Math.floor(rnd() * 256)][i % 5]!;
            check(mutated, `mutated at ${at}`);
          }
        }
      }
    }
  }
  t.same(unexpected.slice(0, 5), [], 'no exception other than ProtocolDecodeError');
  t.same(prefixSucceeded.slice(0, 5), [], 'no truncated encoding decodes');
  t.ok(reads > 20000, `${reads} reads`);
  t.ok(Date.now() - started < 60_000, `finished in ${Date.now() - started} ms`);
});

t.test('huge counts fail fast without allocating', async (t) => {
  const started = process.hrtime.bigint();
  // Produce v3: null txn id, acks, timeout, then 2^31-1 topics.
  t.throws(() => modules.readProduceRequest(new Reader(Buffer.from('ffff0001000075307fffffff', 'hex')), 3), ProtocolDecodeError);
  // Produce v9: compact count 2^32-2.
  t.throws(() => modules.readProduceRequest(new Reader(Buffer.from('000001000075 30ffffffff0f'.replace(/ /g, ''), 'hex')), 9), ProtocolDecodeError);
  // Fetch response v4: 1 topic 'a' with 2^31-1 partitions.
  t.throws(() => modules.readFetchResponse(new Reader(Buffer.from('00000000000000010001617fffffff', 'hex')), 4), ProtocolDecodeError);
  // Tagged field claiming 2^32-1 bytes.
  t.throws(() => modules.readApiVersionsRequest(new Reader(Buffer.from('010101ffffffff0f', 'hex')), 3), ProtocolDecodeError);
  t.ok(process.hrtime.bigint() - started < 100_000_000n);
});

t.test('whole frames with random headers', async (t) => {
  const rnd = random(99);
  const unexpected: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const length = 4 + Math.floor(rnd() * 40);
    const frame = Buffer.from(Array.from({ length }, () => Math.floor(rnd() * 256)));
    // A real api key and a version near its range, so bodies get exercised too.
    const keys = [...apiSchemas.keys()];
    const schema = apiSchemas.get(keys[Math.floor(rnd() * keys.length)]!)!;
    frame.writeInt16BE(schema.apiKey, 0);
    frame.writeInt16BE(schema.minVersion + Math.floor(rnd() * (schema.maxVersion - schema.minVersion + 2)), 2);
    try {
      decodeRequest(frame);
    } catch (error) {
      if (!(error instanceof ProtocolDecodeError)) unexpected.push(`${frame.toString('hex')}: ${(error as Error).stack}`);
    }
  }
  t.same(unexpected.slice(0, 5), []);
});
