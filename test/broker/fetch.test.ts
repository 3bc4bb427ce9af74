// Fetch at the protocol level: long polls woken by a produce (not by the timer), min/max
// bytes, OFFSET_OUT_OF_RANGE, watermarks, and KIP-227 sessions (full, incremental, errors).

import t, { type Test } from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const batch = (values: string[]) => encodeRecordBatch({ records: values.map((value) => ({ key: null, value: Buffer.from(value) })) });

async function setup(t: Test, partitions = 1) {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  await client.request(19, 5, { topics: [{ name: 'f', numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const produce = async (values: string[], partition = 0) => {
    const r = await client.request(0, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'f', partitionData: [{ index: partition, records: batch(values) }] }],
    });
    return r.body.responses[0].partitionResponses[0];
  };
  return { broker, client, produce };
}

const fetchRequest = (partitions: Array<{ partition: number; fetchOffset: bigint; partitionMaxBytes?: number }>, extra: Record<string, unknown> = {}) => ({
  replicaId: -1,
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: 1 << 20,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: partitions.length === 0 ? [] : [{ topic: 'f', partitions: partitions.map((p) => ({ currentLeaderEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, ...p })) }],
  forgottenTopicsData: [],
  rackId: '',
  ...extra,
});

const values = (records: Buffer | null) => (records === null ? [] : decodeRecordBatches(records).flatMap((b) => b.records.map((r) => r.value!.toString())));

t.test('fetch returns records with watermarks, and OFFSET_OUT_OF_RANGE past the end', async (t) => {
  const { client, produce } = await setup(t);
  await produce(['a', 'b']);
  await produce(['c']);
  const answer = await client.request(1, 11, fetchRequest([{ partition: 0, fetchOffset: 0n }]));
  const partition = answer.body.responses[0].partitions[0];
  t.equal(partition.errorCode, 0);
  t.equal(partition.highWatermark, 3n);
  t.equal(partition.lastStableOffset, 3n);
  t.equal(partition.logStartOffset, 0n);
  t.same(values(partition.records), ['a', 'b', 'c']);
  const mid = await client.request(1, 11, fetchRequest([{ partition: 0, fetchOffset: 2n }]));
  t.same(values(mid.body.responses[0].partitions[0].records), ['c'], 'fetching mid-log starts at the batch holding the offset');
  const beyond = await client.request(1, 11, fetchRequest([{ partition: 0, fetchOffset: 4n }]));
  t.equal(beyond.body.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const atEnd = await client.request(1, 11, fetchRequest([{ partition: 0, fetchOffset: 3n }]));
  t.equal(atEnd.body.responses[0].partitions[0].errorCode, 0);
  t.same(values(atEnd.body.responses[0].partitions[0].records), []);
});

t.test('a long poll is woken by a produce, well before its max wait', async (t) => {
  const { broker, produce } = await setup(t);
  const consumer = await RawClient.connect(broker.bootstrap);
  t.teardown(() => consumer.close());
  const started = Date.now();
  const pending = consumer.request(1, 12, fetchRequest([{ partition: 0, fetchOffset: 0n }], { maxWaitMs: 20000, minBytes: 1 }));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await produce(['wake']);
  const answer = await pending;
  t.ok(Date.now() - started < 10000, 'answered long before the 20 s max wait');
  t.same(values(answer.body.responses[0].partitions[0].records), ['wake']);
});

t.test('min_bytes waits for enough data; max wait answers with what there is', async (t) => {
  const { broker, produce } = await setup(t);
  await produce(['x']);
  const consumer = await RawClient.connect(broker.bootstrap);
  t.teardown(() => consumer.close());
  const started = Date.now();
  const short = await consumer.request(1, 12, fetchRequest([{ partition: 0, fetchOffset: 0n }], { maxWaitMs: 300, minBytes: 100000 }));
  t.ok(Date.now() - started >= 250, 'waited for max wait since min_bytes was not reached');
  t.same(values(short.body.responses[0].partitions[0].records), ['x']);
});

t.test('max_bytes and partition_max_bytes limit the response, but the first batch is whole', async (t) => {
  const { client, produce } = await setup(t, 2);
  for (let i = 0; i < 10; i++) await produce([`p0-${i}-${'x'.repeat(1000)}`], 0);
  for (let i = 0; i < 10; i++) await produce([`p1-${i}-${'y'.repeat(1000)}`], 1);
  const limited = await client.request(
    1,
    11,
    fetchRequest(
      [
        { partition: 0, fetchOffset: 0n, partitionMaxBytes: 3000 },
        { partition: 1, fetchOffset: 0n, partitionMaxBytes: 3000 },
      ],
      { maxBytes: 4000 },
    ),
  );
  const [p0, p1] = limited.body.responses[0].partitions;
  t.ok(values(p0.records).length >= 1 && values(p0.records).length <= 2, 'partition 0 limited by partition_max_bytes');
  t.ok(p0.records.length + (p1.records?.length ?? 0) <= 4000, 'total within max_bytes');
  const tiny = await client.request(1, 11, fetchRequest([{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 10 }], { maxBytes: 10 }));
  t.equal(values(tiny.body.responses[0].partitions[0].records).length, 1, 'one oversized first batch is still returned (KIP-74)');
});

t.test('fetch sessions: full then incremental, only changed partitions, errors for bad ids/epochs', async (t) => {
  const { client, produce } = await setup(t, 2);
  await produce(['a'], 0);
  await produce(['b'], 1);
  const full = await client.request(
    1,
    12,
    fetchRequest(
      [
        { partition: 0, fetchOffset: 0n },
        { partition: 1, fetchOffset: 0n },
      ],
      { sessionEpoch: 0 },
    ),
  );
  const sessionId: number = full.body.sessionId;
  t.ok(sessionId > 0, 'a session was created');
  t.equal(full.body.responses[0].partitions.length, 2);

  // Incremental, epoch 1: both partitions move to offset 1; no new data anywhere, no changes.
  const quiet = await client.request(
    1,
    12,
    fetchRequest(
      [
        { partition: 0, fetchOffset: 1n },
        { partition: 1, fetchOffset: 1n },
      ],
      { sessionId, sessionEpoch: 1 },
    ),
  );
  t.equal(quiet.body.errorCode, 0);
  t.same(quiet.body.responses, [], 'nothing changed, nothing listed');

  await produce(['c'], 1);
  const changed = await client.request(1, 12, fetchRequest([], { sessionId, sessionEpoch: 2 }));
  t.same(
    changed.body.responses[0].partitions.map((p: any) => p.partitionIndex),
    [1],
    'only the partition with news',
  );
  t.same(values(changed.body.responses[0].partitions[0].records), ['c']);

  const staleEpoch = await client.request(1, 12, fetchRequest([], { sessionId, sessionEpoch: 2 }));
  t.equal(staleEpoch.body.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  const unknown = await client.request(1, 12, fetchRequest([], { sessionId: sessionId + 1, sessionEpoch: 1 }));
  t.equal(unknown.body.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

  // Forget partition 1, then produce to it: the session no longer reports it.
  const forgot = await client.request(1, 12, fetchRequest([], { sessionId, sessionEpoch: 3, forgottenTopicsData: [{ topic: 'f', partitions: [1] }] }));
  t.same(forgot.body.responses, []);
  t.equal(forgot.body.errorCode, 0);
  await produce(['d'], 1);
  await produce(['e'], 0);
  const after = await client.request(1, 12, fetchRequest([], { sessionId, sessionEpoch: 4 }));
  t.same(
    after.body.responses[0].partitions.map((p: any) => p.partitionIndex),
    [0],
  );
  t.same(values(after.body.responses[0].partitions[0].records), ['e']);

  const closed = await client.request(1, 12, fetchRequest([{ partition: 0, fetchOffset: 0n }], { sessionId, sessionEpoch: -1 }));
  t.equal(closed.body.sessionId, 0, 'epoch -1 closes the session');
  const gone = await client.request(1, 12, fetchRequest([], { sessionId, sessionEpoch: 5 }));
  t.equal(gone.body.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});

t.test('ListOffsets: earliest, latest, by timestamp, max timestamp', async (t) => {
  const { client } = await setup(t);
  const at = (ts: number, value: string) => encodeRecordBatch({ records: [{ key: null, value: Buffer.from(value), timestamp: BigInt(ts) }] });
  for (const [ts, value] of [
    [1000, 'a'],
    [5000, 'b'],
    [3000, 'c'],
  ] as const) {
    await client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'f', partitionData: [{ index: 0, records: at(ts, value) }] }] });
  }
  const list = async (timestamp: bigint) => {
    const r = await client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'f', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
    return r.body.topics[0].partitions[0];
  };
  t.match(await list(-2n), { errorCode: 0, offset: 0n });
  t.match(await list(-1n), { errorCode: 0, offset: 3n });
  t.match(await list(2000n), { errorCode: 0, offset: 1n, timestamp: 5000n });
  t.match(await list(6000n), { errorCode: 0, offset: -1n });
  t.match(await list(-3n), { errorCode: 0, offset: 1n, timestamp: 5000n });
  const unknown = await client.request(2, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: 'nope', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  t.equal(unknown.body.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('oldest and newest Fetch versions: v4 by name, v18 by topic ID', async (t) => {
  const { broker, client, produce } = await setup(t);
  await produce(['old', 'new']);
  const v4 = await client.request(1, 4, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 1,
    topics: [{ topic: 'f', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
  });
  const p4 = v4.body.responses[0].partitions[0];
  t.same(values(p4.records), ['old', 'new']);
  t.same(p4.abortedTransactions, [], 'read_committed answers an (empty) aborted transaction list');
  t.equal(p4.lastStableOffset, 2n);
  const topicId = broker.logs.topic('f')!.id;
  const v18 = await client.request(1, 18, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  t.same(v18.body.responses[0].topicId, topicId);
  t.same(values(v18.body.responses[0].partitions[0].records), ['old', 'new'], 'the batch holding offset 1');
  t.equal(v18.body.responses[0].partitions[0].abortedTransactions, null, 'read_uncommitted: null list');
  const unknown = await client.request(1, 18, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topicId: Buffer.alloc(16, 7),
        partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  t.equal(unknown.body.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
});

t.test('ListOffsets MAX_TIMESTAMP answers the first record carrying the largest timestamp (KAFKA-16310)', async (t) => {
  const { client } = await setup(t);
  const { batchesOf, buildBatch, recordsSection } = await import('../../src/compression/batches.js');
  const { Codec } = await import('../../src/compression/codecs.js');
  const batchOf = (timestamps: number[], codec = 0) => {
    const plain = encodeRecordBatch({ records: timestamps.map((ts, i) => ({ key: null, value: Buffer.from(`r${i}`), timestamp: BigInt(ts) })) });
    if (codec === 0) return plain;
    const [view] = [...batchesOf(plain)];
    return buildBatch(view!, recordsSection(view!), { codec: codec as 1 });
  };
  const produce = (records: Buffer) =>
    client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'f', partitionData: [{ index: 0, records }] }] });
  const maxOffset = async () => {
    const r = await client.request(2, 9, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'f', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3n }] }],
    });
    return r.body.topics[0].partitions[0];
  };
  await produce(batchOf([1000, 9000, 2000, 9000, 3000])); // offsets 0-4: the first 9000 is offset 1
  t.match(await maxOffset(), { errorCode: 0, offset: 1n, timestamp: 9000n }, 'uncompressed: offset 1, not the batch end');
  await produce(batchOf([9000, 1000])); // offsets 5-6: a later record with the same timestamp
  t.match(await maxOffset(), { offset: 1n }, 'the first of equal timestamps across batches');
  await produce(batchOf([500, 700, 12000, 12000], Codec.GZIP)); // offsets 7-10
  t.match(await maxOffset(), { errorCode: 0, offset: 9n, timestamp: 12000n }, 'inside a gzip batch');
});
