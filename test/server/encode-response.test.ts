// The dispatcher's response encoding: every response of an API starts in a buffer the size
// of the last one (so it does not double its way up from 256 bytes, copying as it goes),
// and a response encoded after a bigger or smaller one is byte for byte what a fresh
// encoder writes. Writer.inlineByteLength, which the size hint reads, leaves out records
// passed through out of band. FrameReader's shared empty answer is checked too.

import t from 'tap';
import { encodeResponse as encodeFresh, decodeResponse } from '../../src/protocol/frame.js';
import { ApiKey, apiSchemas, type FetchResponse } from '../../src/protocol/generated/index.js';
import { Writer, type RecordsChunk } from '../../src/protocol/primitives.js';
import { encodeResponse } from '../../src/server/dispatcher.js';
import { FrameReader } from '../../src/server/frame-reader.js';

const fetchSchema = apiSchemas.get(ApiKey.Fetch)!;
const writeFetch = (w: Writer, m: unknown) => fetchSchema.writeResponse(w, 12, m);

function fetchResponse(partitions: number, records: Buffer | RecordsChunk): FetchResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 'sized',
        topicId: Buffer.alloc(16),
        partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 10n,
          lastStableOffset: 10n,
          logStartOffset: 0n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records,
        })),
      },
    ],
  } as unknown as FetchResponse;
}

const bytes = (chunks: Array<Buffer | RecordsChunk>) => Buffer.concat(chunks as Buffer[]);

t.test('a response starts in a buffer the size of the previous one of its API', async (t) => {
  const records = Buffer.alloc(16 * 1024, 5);
  const response = fetchResponse(8, records);
  const first = encodeResponse(ApiKey.Fetch, 12, 1, response, writeFetch);
  const second = encodeResponse(ApiKey.Fetch, 12, 1, response, writeFetch);
  t.equal(second.length, 1, 'records under 64 KiB are copied inline: one chunk');
  const frame = second[0] as Buffer;
  t.ok(frame.length > 8 * 16 * 1024);
  // Grown by doubling from 256 bytes, the buffer would be 256 KiB for these 131 KB.
  t.ok(frame.buffer.byteLength <= frame.length * 1.25 + 256, `${frame.length} bytes in a ${frame.buffer.byteLength}-byte buffer`);
  t.same(bytes(second), bytes(first));
  t.same(bytes(second), bytes(encodeFresh(ApiKey.Fetch, 12, 1, response)), 'the same bytes as a fresh encoder');
});

t.test('after a big response a small one is still exact, and the other way round', async (t) => {
  const big = fetchResponse(8, Buffer.alloc(32 * 1024, 1));
  const small = fetchResponse(1, Buffer.from('abc'));
  for (const response of [big, small, big, small]) {
    const encoded = bytes(encodeResponse(ApiKey.Fetch, 12, 9, response, writeFetch));
    t.same(encoded, bytes(encodeFresh(ApiKey.Fetch, 12, 9, response)));
    t.equal(encoded.readInt32BE(0), encoded.length - 4, 'size prefix');
    const decoded = decodeResponse(ApiKey.Fetch, 12, encoded.subarray(4)).body as FetchResponse;
    t.equal(decoded.responses[0]!.partitions.length, response.responses[0]!.partitions.length);
  }
});

t.test('records passed out of band are not part of the size hint', async (t) => {
  const region: RecordsChunk = { byteLength: 1024 * 1024 };
  const w = new Writer();
  w.int32(7);
  w.records(region, false);
  w.int16(1);
  t.equal(w.byteLength, 4 + 4 + 1024 * 1024 + 2);
  t.equal(w.inlineByteLength, 4 + 4 + 2);
  const encoded = encodeResponse(ApiKey.Fetch, 12, 3, fetchResponse(8, region), writeFetch);
  const next = encodeResponse(ApiKey.Fetch, 12, 3, fetchResponse(8, region), writeFetch);
  t.ok((next[0] as Buffer).buffer.byteLength < 64 * 1024, 'eight 1 MiB regions do not make the next response reserve megabytes');
  t.equal(encoded.length, next.length);
});

t.test('FrameReader: a chunk that completes no frame answers with an empty list', async (t) => {
  const reader = new FrameReader(1024);
  t.same(reader.push(Buffer.from([0, 0])), []);
  t.same(reader.push(Buffer.from([0, 3, 1])), []);
  t.same(reader.push(Buffer.alloc(0)), []);
  t.same(reader.push(Buffer.from([2, 3])), [Buffer.from([1, 2, 3])]);
  t.equal(reader.bufferedBytes, 0);
});

t.test('a small records chunk that can copy itself goes inline and is released; a large one stays a chunk', async (t) => {
  const chunk = (size: number) => {
    const state = { released: 0, copied: 0 };
    const value: RecordsChunk = {
      byteLength: size,
      copyTo(target, offset) {
        target.fill(7, offset, offset + size);
        state.copied++;
      },
      release() {
        state.released++;
      },
    };
    return { value, state };
  };
  const small = chunk(1000);
  const encoded = encodeResponse(ApiKey.Fetch, 12, 5, fetchResponse(1, small.value), writeFetch);
  t.equal(encoded.length, 1, 'one buffer: header and records');
  t.same(small.state, { released: 1, copied: 1 }, 'copied once, released by the writer');
  const decoded = decodeResponse(ApiKey.Fetch, 12, (encoded[0] as Buffer).subarray(4)).body as FetchResponse;
  t.ok((decoded.responses[0]!.partitions[0]!.records as Buffer).equals(Buffer.alloc(1000, 7)));
  const large = chunk(64 * 1024);
  const out = encodeResponse(ApiKey.Fetch, 12, 6, fetchResponse(1, large.value), writeFetch);
  t.same(large.state, { released: 0, copied: 0 }, 'a 64 KiB chunk is not copied (sendfile takes it)');
  t.ok(out.includes(large.value));
});
