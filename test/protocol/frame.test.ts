import t from 'tap';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isFlexibleVersion,
  readRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeResponseHeader,
} from '../../src/protocol/frame.js';
import { ApiKey, type FetchResponse } from '../../src/protocol/generated/index.js';
import { ProtocolDecodeError, Reader, Writer, type RecordsChunk } from '../../src/protocol/primitives.js';

t.test('header versions', async (t) => {
  t.equal(requestHeaderVersion(ApiKey.ApiVersions, 0), 1);
  t.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  t.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  t.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  t.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1, 'never-flexible API');
  t.equal(requestHeaderVersion(ApiKey.ApiVersions, 5), 1, 'unsupported version: v1 so the broker can answer');
  t.equal(requestHeaderVersion(ApiKey.Produce, 2), 1, 'version Kafka 4 removed');
  t.equal(requestHeaderVersion(ApiKey.LeaderAndIsr, 7), 1, 'removed API');
  t.equal(requestHeaderVersion(1000, 0), 1, 'unknown API');

  t.equal(responseHeaderVersion(ApiKey.ApiVersions, 0), 0);
  t.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0, 'ApiVersions always answers with header v0');
  t.equal(responseHeaderVersion(ApiKey.ApiVersions, 4), 0);
  t.equal(responseHeaderVersion(ApiKey.Fetch, 11), 0);
  t.equal(responseHeaderVersion(ApiKey.Fetch, 12), 1);
  t.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
  t.equal(responseHeaderVersion(ApiKey.AlterPartitionReassignments, 0), 1, 'flexible from v0');

  t.equal(isFlexibleVersion(ApiKey.Metadata, 8), false);
  t.equal(isFlexibleVersion(ApiKey.Metadata, 9), true);
  t.equal(isFlexibleVersion(999, 9), false);
});

t.test('readRequestHeader', async (t) => {
  // Unknown API key 1000 v0: read with header v1, body left in place.
  const unknown = Buffer.from('03e8 0000 00000005 0001 61 cafe'.replace(/ /g, ''), 'hex');
  const r = new Reader(unknown);
  t.same(readRequestHeader(r), { apiKey: 1000, apiVersion: 0, correlationId: 5, clientId: 'a', headerVersion: 1 });
  t.equal(r.remaining(), 2);

  // A future ApiVersions v9 sent with a flexible header: the header is read as v1 (the tagged-field
  // byte stays with the body) so that the broker can still answer UNSUPPORTED_VERSION.
  const future = Buffer.from('0012 0009 00000006 ffff 00'.replace(/ /g, ''), 'hex');
  const f = new Reader(future);
  t.match(readRequestHeader(f), { apiKey: 18, apiVersion: 9, correlationId: 6, clientId: null, headerVersion: 1 });
  t.equal(f.remaining(), 1);

  t.throws(() => readRequestHeader(new Reader(Buffer.from('0012', 'hex'))), ProtocolDecodeError);
  t.throws(() => readRequestHeader(new Reader(Buffer.from('001200030000', 'hex'))), ProtocolDecodeError);
});

t.test('writeResponseHeader', async (t) => {
  const v0 = new Writer();
  writeResponseHeader(v0, 0, 258);
  t.equal(v0.toBuffer().toString('hex'), '00000102');
  const v1 = new Writer();
  writeResponseHeader(v1, 1, 258);
  t.equal(v1.toBuffer().toString('hex'), '0000010200');
});

t.test('request frames round-trip', async (t) => {
  const frame = encodeRequest(ApiKey.Metadata, 12, 99, 'client', { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  t.equal(frame.readInt32BE(0), frame.length - 4);
  const { header, body } = decodeRequest(frame.subarray(4));
  t.same(header, { apiKey: 3, apiVersion: 12, correlationId: 99, clientId: 'client', headerVersion: 2 });
  t.match(body, { topics: null, allowAutoTopicCreation: false });
  t.throws(() => decodeRequest(Buffer.concat([frame.subarray(4), Buffer.from([0])])), ProtocolDecodeError, 'trailing bytes');
  t.throws(() => encodeRequest(ApiKey.Metadata, 14, 1, null, {}), ProtocolDecodeError, 'version out of range');
  t.throws(() => encodeRequest(4, 0, 1, null, {}), ProtocolDecodeError, 'removed API');
});

t.test('a Fetch response passes big records through as chunks', async (t) => {
  const region: RecordsChunk = { byteLength: 1 << 20 };
  const small = Buffer.from('abc');
  const response: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 't',
        partitions: [
          { partitionIndex: 0, errorCode: 0, highWatermark: 1n, lastStableOffset: 1n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1, records: region },
          { partitionIndex: 1, errorCode: 0, highWatermark: 1n, lastStableOffset: 1n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1, records: small },
        ],
      },
    ],
  };
  const chunks = encodeResponse(ApiKey.Fetch, 12, 7, response);
  t.equal(chunks.length, 3);
  t.equal(chunks[1], region);
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  t.equal((chunks[0] as Buffer).readInt32BE(0), total - 4, 'size prefix counts the out-of-band chunk');
  t.equal((chunks[0] as Buffer).readInt32BE(4), 7);
  t.equal((chunks[0] as Buffer)[8], 0, 'response header v1 tagged fields');

  // The same response with the region replaced by real bytes decodes.
  const bytes = Buffer.alloc(region.byteLength, 1);
  const full = Buffer.concat([chunks[0] as Buffer, bytes, chunks[2] as Buffer]);
  const decoded = decodeResponse(ApiKey.Fetch, 12, full.subarray(4)).body as FetchResponse;
  t.equal((decoded.responses[0]!.partitions[0]!.records as Buffer).length, bytes.length);
  t.equal((decoded.responses[0]!.partitions[1]!.records as Buffer).toString(), 'abc');
});
