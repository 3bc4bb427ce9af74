// Bad input never crashes the broker or disturbs other connections: truncated frames,
// impossible sizes, garbage API keys and versions, bad varints and bad CRCs each get a
// clean close or a Kafka error code, and a bystander connection keeps being served.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const API_VERSIONS = 18;
const PRODUCE = 0;

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

t.test('malformed frames close only their own connection', async (t) => {
  const broker = await startTestBroker(t, { config: { 'socket.request.max.bytes': 1024 * 1024 } });
  const bystander = await RawClient.connect(broker.bootstrap);
  t.teardown(() => bystander.close());
  const stillServing = async (label: string) => {
    const answer = await bystander.request(API_VERSIONS, 3, { clientSoftwareName: 'bystander', clientSoftwareVersion: '1' });
    t.equal(answer.body.errorCode, 0, `bystander served after ${label}`);
  };

  const header = (apiKey: number, version: number) => {
    const b = Buffer.alloc(10);
    b.writeInt16BE(apiKey, 0);
    b.writeInt16BE(version, 2);
    b.writeInt32BE(7, 4);
    b.writeInt16BE(-1, 8); // null client id
    return b;
  };

  const cases: Array<[string, Buffer]> = [
    ['negative frame size', Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3])],
    ['frame above socket.request.max.bytes', Buffer.from([0x7f, 0xff, 0xff, 0xff])],
    ['frame shorter than a header', frame(Buffer.from([0, 18]))],
    ['unknown API key', frame(header(999, 0))],
    ['API key not served', frame(header(4, 0))],
    ['unsupported Fetch version', frame(header(1, 99))],
    ['truncated Produce body', frame(Buffer.concat([header(PRODUCE, 7), Buffer.from([0xff, 0xff, 0, 1])]))],
    ['Metadata array count beyond the frame', frame(Buffer.concat([header(3, 4), Buffer.from([0x7f, 0xff, 0xff, 0xff])]))],
    ['bad varint in a flexible request', frame(Buffer.concat([header(3, 12), Buffer.from([0x00]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]))],
    ['random garbage', frame(Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 7919) & 0xff)))],
  ];
  for (const [label, bytes] of cases) {
    const client = await RawClient.connect(broker.bootstrap);
    client.write(bytes);
    await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
    t.ok(client.isClosed, `${label}: connection closed`);
    client.close();
    await stillServing(label);
  }

  // A frame cut short by the client hanging up: nothing to answer, broker unharmed.
  const partial = await RawClient.connect(broker.bootstrap);
  partial.write(Buffer.from([0, 0, 1, 0, 0, 18, 0]));
  partial.close();
  await stillServing('a truncated frame');
});

t.test('ApiVersions with an unknown version answers v0 with UNSUPPORTED_VERSION and its range', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const body = Buffer.alloc(10);
  body.writeInt16BE(API_VERSIONS, 0);
  body.writeInt16BE(42, 2);
  body.writeInt32BE(99, 4);
  body.writeInt16BE(-1, 8);
  client.write(frame(Buffer.concat([body, Buffer.from([0, 0, 0, 0])])));
  const response = await client.nextFrame();
  t.equal(response.readInt32BE(0), 99, 'correlation id');
  t.equal(response.readInt16BE(4), ErrorCode.UNSUPPORTED_VERSION);
  t.equal(response.readInt32BE(6), 1, 'one api key listed');
  t.same([response.readInt16BE(10), response.readInt16BE(12), response.readInt16BE(14)], [API_VERSIONS, 0, 4]);
  t.equal(response.length, 16, 'v0 format: nothing after the array');
});

t.test('a batch with a bad CRC is answered CORRUPT_MESSAGE and nothing of it is written', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  await client.request(3, 4, { topics: [{ name: 'crc' }], allowAutoTopicCreation: true });
  const good = encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('good') }] });
  const bad = Buffer.from(encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('bad!') }] }));
  bad[bad.length - 2] ^= 0xff;
  const produce = (records: Buffer) =>
    client.request(PRODUCE, 7, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'crc', partitionData: [{ index: 0, records }] }] });
  const rejected = await produce(bad);
  t.equal(rejected.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  t.equal(broker.logs.partition('crc', 0)!.logEndOffset, 0n, 'nothing written');
  const mixed = await produce(Buffer.concat([good, bad]));
  t.equal(mixed.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE, 'one bad batch fails the whole set');
  t.equal(broker.logs.partition('crc', 0)!.logEndOffset, 0n, 'not even the good batch before it');
  const accepted = await produce(good);
  t.equal(accepted.body.responses[0].partitionResponses[0].errorCode, 0);
  t.equal(broker.logs.partition('crc', 0)!.logEndOffset, 1n);
});

t.test('pipelined requests are answered in request order', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  // A long-polling Fetch first, then quick requests: their answers must wait behind it.
  await client.request(3, 4, { topics: [{ name: 'pipeline' }], allowAutoTopicCreation: true });
  const frames = [
    encodeRequest(1, 11, 1, {
      replicaId: -1,
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'pipeline', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    }),
    ...Array.from({ length: 20 }, (_, i) => encodeRequest(API_VERSIONS, 2, i + 2, {})),
  ];
  client.write(Buffer.concat(frames));
  const order: number[] = [];
  for (let i = 0; i < frames.length; i++) order.push((await client.nextFrame()).readInt32BE(0));
  t.same(
    order,
    Array.from({ length: 21 }, (_, i) => i + 1),
  );
});

t.test('a record batch above max.message.bytes is refused with MESSAGE_TOO_LARGE', async (t) => {
  const broker = await startTestBroker(t, { config: { 'message.max.bytes': 1000 } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  await client.request(3, 4, { topics: [{ name: 'big' }], allowAutoTopicCreation: true });
  const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(2000, 1) }] });
  const answer = await client.request(PRODUCE, 7, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'big', partitionData: [{ index: 0, records }] }] });
  t.equal(answer.body.responses[0].partitionResponses[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE);
});

t.test('idle connections close after connections.max.idle.ms', async (t) => {
  const broker = await startTestBroker(t, { config: { 'connections.max.idle.ms': 200 } });
  const client = await RawClient.connect(broker.bootstrap);
  await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
  t.ok(client.isClosed);
});

t.test('bytes after a request body are ignored, as Kafka does (librdkafka >= 2.1 sends them)', async (t) => {
  const broker = await startTestBroker(t);
  await broker.logs.createTopic('trailing', 1, {});
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const request = encodeRequest(3, 12, 5, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const padded = Buffer.concat([request, Buffer.from([0, 0, 0])]);
  padded.writeInt32BE(padded.length - 4, 0);
  client.write(padded);
  const { decodeResponse } = await import('../../src/protocol/frame.js');
  const answer = decodeResponse(3, 12, await client.nextFrame()) as { correlationId: number; body: any };
  t.equal(answer.correlationId, 5);
  t.same(
    answer.body.topics.map((topic: any) => topic.name),
    ['trailing'],
    'Metadata for all topics is answered',
  );
  t.notOk(client.isClosed, 'the connection stays open');
});
