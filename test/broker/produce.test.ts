// Produce and InitProducerId at the protocol level: per-partition errors, topics by ID
// (v13), and the idempotent producer's sequence rules (duplicates acknowledged with their
// original offsets and not appended again, gaps refused).

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const batch = (values: string[], producer?: { producerId: bigint; producerEpoch: number; baseSequence: number }) =>
  encodeRecordBatch({ ...(producer ?? {}), records: values.map((value) => ({ key: null, value: Buffer.from(value) })) });

t.test('per-partition results: unknown topic, unknown partition, bad acks', async (t) => {
  const broker = await startTestBroker(t, { config: { 'auto.create.topics.enable': false } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const created = await client.request(19, 7, {
    topics: [{ name: 'p', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.equal(created.body.topics[0].errorCode, 0);
  const answer = await client.request(0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [
      {
        name: 'p',
        partitionData: [
          { index: 0, records: batch(['a']) },
          { index: 1, records: batch(['b', 'c']) },
          { index: 7, records: batch(['x']) },
        ],
      },
      { name: 'missing', partitionData: [{ index: 0, records: batch(['y']) }] },
    ],
  });
  const [p, missing] = answer.body.responses;
  t.same(
    p.partitionResponses.map((r: any) => [r.index, r.errorCode, r.baseOffset]),
    [
      [0, 0, 0n],
      [1, 0, 0n],
      [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ],
  );
  t.equal(missing.partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  t.equal(broker.logs.topic('missing'), undefined, 'produce never auto-creates');

  const badAcks = await client.request(0, 9, { transactionalId: null, acks: 2, timeoutMs: 1000, topicData: [{ name: 'p', partitionData: [{ index: 0, records: batch(['z']) }] }] });
  t.equal(badAcks.body.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
});

t.test('Produce v13 addresses topics by ID', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const metadata = await client.request(3, 12, { topics: [{ topicId: Buffer.alloc(16), name: 'by-id' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  const topicId: Buffer = metadata.body.topics[0].topicId;
  t.notSame(topicId, Buffer.alloc(16), 'Metadata v12 carries a topic ID');
  t.same(broker.logs.topic('by-id')!.id, topicId);
  const answer = await client.request(0, 13, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ topicId, partitionData: [{ index: 0, records: batch(['one', 'two']) }] }],
  });
  t.same(answer.body.responses[0].topicId, topicId);
  t.equal(answer.body.responses[0].partitionResponses[0].errorCode, 0);
  t.equal(broker.logs.partition('by-id', 0)!.logEndOffset, 2n);
  const unknown = await client.request(0, 13, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ topicId: Buffer.alloc(16, 9), partitionData: [{ index: 0, records: batch(['x']) }] }],
  });
  t.equal(unknown.body.responses[0].partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
});

t.test('idempotent producer: duplicates answered with original offsets, gaps refused', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const init = await client.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  t.equal(init.body.errorCode, 0);
  const producerId: bigint = init.body.producerId;
  t.ok(producerId >= 0n);
  const second = await client.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  t.not(second.body.producerId, producerId, 'each producer gets its own ID');

  const send = (values: string[], baseSequence: number, producerEpoch = 0) =>
    client
      .request(0, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: 'idem', partitionData: [{ index: 0, records: batch(values, { producerId, producerEpoch, baseSequence }) }] }],
      })
      .then((r) => r.body.responses[0].partitionResponses[0]);

  await client.request(3, 4, { topics: [{ name: 'idem' }], allowAutoTopicCreation: true });
  t.match(await send(['a', 'b'], 0), { errorCode: 0, baseOffset: 0n });
  t.match(await send(['c'], 2), { errorCode: 0, baseOffset: 2n });
  t.match(await send(['a', 'b'], 0), { errorCode: 0, baseOffset: 0n }, 'a retry of the first batch is a duplicate');
  t.match(await send(['c'], 2), { errorCode: 0, baseOffset: 2n }, 'a retry of the last batch is a duplicate');
  t.equal(broker.logs.partition('idem', 0)!.logEndOffset, 3n, 'duplicates were not appended');
  t.match(await send(['e'], 5), { errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER }, 'a gap is refused');
  t.equal(broker.logs.partition('idem', 0)!.logEndOffset, 3n);
  t.match(await send(['d'], 3), { errorCode: 0, baseOffset: 3n });
  t.match(await send(['f'], 4, 1), { errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER }, 'a new epoch must start at sequence 0');
  t.match(await send(['f'], 0, 1), { errorCode: 0, baseOffset: 4n }, 'a new epoch from sequence 0 is accepted');
  t.match(await send(['g'], 1, 0), { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH }, 'the old epoch is fenced');
  t.equal(broker.logs.partition('idem', 0)!.logEndOffset, 5n);
});

t.test('KIP-467: a compacted topic names the keyless records of a refused batch', async (t) => {
  const { batchesOf, buildBatch, recordsSection } = await import('../../src/compression/batches.js');
  const { Codec, initCodecs } = await import('../../src/compression/codecs.js');
  await initCodecs();
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  await client.request(19, 7, {
    topics: [{ name: 'keyed', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  const mixed = encodeRecordBatch({
    records: ['a', null, 'c', null, null].map((key, i) => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from(`v${i}`) })),
  });
  const [view] = [...batchesOf(mixed)];
  const gzipped = buildBatch(view!, recordsSection(view!), { codec: Codec.GZIP });
  for (const [label, records] of [
    ['uncompressed', mixed],
    ['gzip', gzipped],
  ] as const) {
    const answer = await client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'keyed', partitionData: [{ index: 0, records }] }] });
    const result = answer.body.responses[0].partitionResponses[0];
    t.equal(result.errorCode, ErrorCode.INVALID_RECORD, `${label}: INVALID_RECORD`);
    t.same(
      result.recordErrors.map((e: any) => e.batchIndex),
      [1, 3, 4],
      `${label}: the keyless records are listed`,
    );
    t.match(result.recordErrors[0].batchIndexErrorMessage, /without key in topic partition keyed-0/);
    t.match(result.errorMessage, /3 record errors/, `${label}: error_message says why`);
  }
  const old = await client.request(0, 7, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'keyed', partitionData: [{ index: 0, records: mixed }] }] });
  t.equal(old.body.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_RECORD, 'v7 (no record_errors field) still refuses');
  t.equal(broker.logs.partition('keyed', 0)!.logEndOffset, 0n, 'nothing was appended');
});
