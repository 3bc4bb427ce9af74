// The transaction APIs at the wire level: the error codes Kafka gives for each misuse, the
// proactive abort of a transaction past its timeout, and the admin views.

import t, { type Test } from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

const INIT = 22;
const ADD_PARTITIONS = 24;
const ADD_OFFSETS = 25;
const END = 26;
const TXN_COMMIT = 28;

async function setup(t: Test, config: Record<string, string | number> = {}) {
  const broker = await startTestBroker(t, { config });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  let correlation = 1;
  const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
  await call(19, 5, { topics: [{ name: 'tx', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const init = async (transactionalId: string, timeoutMs = 60000) => call(INIT, 4, { transactionalId, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
  const add = async (transactionalId: string, producerId: bigint, producerEpoch: number, partitions = [0]) =>
    (
      await call(ADD_PARTITIONS, 3, {
        v3AndBelowTransactionalId: transactionalId,
        v3AndBelowProducerId: producerId,
        v3AndBelowProducerEpoch: producerEpoch,
        v3AndBelowTopics: [{ name: 'tx', partitions }],
      })
    ).resultsByTopicV3AndBelow[0].resultsByPartition.map((r: any) => r.partitionErrorCode);
  const end = async (transactionalId: string, producerId: bigint, producerEpoch: number, committed: boolean) =>
    (await call(END, 3, { transactionalId, producerId, producerEpoch, committed })).errorCode;
  const produce = async (transactionalId: string, producerId: bigint, producerEpoch: number, baseSequence: number, partition = 0) => {
    const records = encodeRecordBatch({ attributes: 0x10, producerId, producerEpoch, baseSequence, records: [{ key: null, value: Buffer.from('x') }] });
    const answer = await call(0, 9, { transactionalId, acks: -1, timeoutMs: 1000, topicData: [{ name: 'tx', partitionData: [{ index: partition, records }] }] });
    return answer.responses[0].partitionResponses[0].errorCode as number;
  };
  return { broker, call, init, add, end, produce };
}

t.test('misuse gets Kafka error codes', async (t) => {
  const { init, add, end, produce, call } = await setup(t);
  t.equal((await init('bad-timeout', 0)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  t.equal((await init('too-long', 2_000_000)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const first = await init('t1');
  t.equal(first.errorCode, 0);
  const { producerId, producerEpoch } = first;

  t.equal(await end('t1', producerId, producerEpoch, true), ErrorCode.INVALID_TXN_STATE, 'EndTxn without a transaction');
  t.same(await add('t1', producerId + 100n, producerEpoch), [ErrorCode.INVALID_PRODUCER_ID_MAPPING], 'unknown producer ID');
  t.same(await add('nobody', producerId, producerEpoch), [ErrorCode.INVALID_PRODUCER_ID_MAPPING], 'unknown transactional ID');
  t.equal(await produce('t1', producerId, producerEpoch, 0, 1), ErrorCode.INVALID_TXN_STATE, 'a write to a partition not in the transaction');
  t.same(await add('t1', producerId, producerEpoch, [0, 7]), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'all or nothing');
  t.same(await add('t1', producerId, producerEpoch), [0]);
  t.equal(await produce('t1', producerId, producerEpoch, 0), 0);

  // A second InitProducerId (a new instance) bumps the epoch: the old one is fenced.
  const second = await init('t1');
  t.equal(second.producerId, producerId);
  t.ok(second.producerEpoch > producerEpoch, `epoch bumped to ${second.producerEpoch}`);
  t.equal(await end('t1', producerId, producerEpoch, true), ErrorCode.PRODUCER_FENCED, 'stale epoch');
  t.same(await add('t1', producerId, producerEpoch), [ErrorCode.PRODUCER_FENCED]);
  for (const version of [0, 1, 2, 3]) {
    const answer = await call(ADD_OFFSETS, version, { transactionalId: 't1', producerId, producerEpoch, groupId: 'g' });
    t.equal(answer.errorCode, version < 2 ? ErrorCode.INVALID_PRODUCER_EPOCH : ErrorCode.PRODUCER_FENCED, `AddOffsetsToTxn v${version}, stale epoch (KIP-588)`);
  }
  t.equal(await produce('t1', producerId, producerEpoch, 1), ErrorCode.PRODUCER_FENCED, 'writes of the old epoch are refused');
  const described = await call(65, 0, { transactionalIds: ['t1', 'ghost'] });
  t.match(described.transactionStates[0], { errorCode: 0, transactionState: 'Empty', producerId }, 'the open transaction was aborted, then the ID re-initialised');
  t.equal(described.transactionStates[1].errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);

  // KIP-360: naming the current producer ID and epoch bumps it; a wrong pair is fenced.
  const bumped = await call(INIT, 4, { transactionalId: 't1', transactionTimeoutMs: 60000, producerId, producerEpoch: second.producerEpoch });
  t.equal(bumped.producerEpoch, second.producerEpoch + 1);
  const wrong = await call(INIT, 4, { transactionalId: 't1', transactionTimeoutMs: 60000, producerId, producerEpoch: 0 });
  t.equal(wrong.errorCode, ErrorCode.PRODUCER_FENCED);

  t.equal((await call(ADD_OFFSETS, 3, { transactionalId: 't1', producerId, producerEpoch: bumped.producerEpoch, groupId: '' })).errorCode, ErrorCode.INVALID_GROUP_ID);
  const commitOutside = await call(TXN_COMMIT, 3, {
    transactionalId: 't1',
    groupId: 'g',
    producerId,
    producerEpoch: bumped.producerEpoch,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 'tx', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
  t.equal(commitOutside.topics[0].partitions[0].errorCode, ErrorCode.INVALID_TXN_STATE, 'TxnOffsetCommit before AddOffsetsToTxn');

  const listed = await call(66, 1, { stateFilters: ['CompleteAbort', 'Nonsense'], producerIdFilters: [], durationFilter: -1n });
  t.same(listed.unknownStateFilters, ['Nonsense']);
});

t.test('transactional offsets are visible only after the commit', async (t) => {
  const { init, end, call } = await setup(t);
  const { producerId, producerEpoch } = await init('offsets');
  t.equal((await call(ADD_OFFSETS, 3, { transactionalId: 'offsets', producerId, producerEpoch, groupId: 'txn-group' })).errorCode, 0);
  const committed = await call(TXN_COMMIT, 3, {
    transactionalId: 'offsets',
    groupId: 'txn-group',
    producerId,
    producerEpoch,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 'tx', partitions: [{ partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
  });
  t.equal(committed.topics[0].partitions[0].errorCode, 0);
  const before = await call(9, 7, { groupId: 'txn-group', topics: [{ name: 'tx', partitionIndexes: [1] }], requireStable: false });
  t.equal(before.topics[0].partitions[0].committedOffset, -1n, 'not visible while the transaction is open');
  const stable = await call(9, 7, { groupId: 'txn-group', topics: [{ name: 'tx', partitionIndexes: [1] }], requireStable: true });
  t.equal(stable.topics[0].partitions[0].errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT, 'requireStable says so');
  t.equal(await end('offsets', producerId, producerEpoch, true), 0);
  const after = await call(9, 7, { groupId: 'txn-group', topics: [{ name: 'tx', partitionIndexes: [1] }], requireStable: true });
  t.equal(after.topics[0].partitions[0].committedOffset, 42n, 'visible after the commit');
  t.equal(await end('offsets', producerId, producerEpoch, true), 0, 'a retried commit answers NONE');
  t.equal(await end('offsets', producerId, producerEpoch, false), ErrorCode.INVALID_TXN_STATE, 'an abort after the commit is refused');
});

t.test('a transaction past transaction.timeout.ms is aborted and its producer fenced', async (t) => {
  const { broker, init, add, end, produce } = await setup(t);
  const { producerId, producerEpoch } = await init('slow', 300);
  t.same(await add('slow', producerId, producerEpoch), [0]);
  t.equal(await produce('slow', producerId, producerEpoch, 0), 0);
  const log = broker.logs.partition('tx', 0)!;
  t.ok(log.lastStableOffset < log.highWatermark, 'open transaction holds the LSO');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(log.lastStableOffset, log.highWatermark, 'the timeout aborted it');
  t.equal(await end('slow', producerId, producerEpoch, true), ErrorCode.PRODUCER_FENCED, 'the late producer is fenced');
});

t.test('transactions v2 (KIP-890 part 2): implicit partitions, an epoch bump at every end, v1 still served', async (t) => {
  const { init, end, call } = await setup(t);
  const first = await init('v2');
  const { producerId } = first;
  const epoch: number = first.producerEpoch;
  const records = (producerEpoch: number, baseSequence: number) =>
    encodeRecordBatch({ attributes: 0x10, producerId, producerEpoch, baseSequence, records: [{ key: null, value: Buffer.from('v2') }] });
  const produce = async (version: number, producerEpoch: number, baseSequence: number) =>
    (
      await call(0, version, {
        transactionalId: 'v2',
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: 'tx', partitionData: [{ index: 0, records: records(producerEpoch, baseSequence) }] }],
      })
    ).responses[0].partitionResponses[0].errorCode as number;
  t.equal(await produce(11, epoch, 0), ErrorCode.INVALID_TXN_STATE, 'Produce v11 still needs AddPartitionsToTxn');
  t.equal(await produce(12, epoch, 0), 0, 'Produce v12 adds the partition itself');
  const ended = await call(END, 5, { transactionalId: 'v2', producerId, producerEpoch: epoch, committed: true });
  t.match(ended, { errorCode: 0, producerId, producerEpoch: epoch + 1 }, 'EndTxn v5 answers the bumped epoch');
  const retried = await call(END, 5, { transactionalId: 'v2', producerId, producerEpoch: epoch, committed: true });
  t.match(retried, { errorCode: 0, producerEpoch: epoch + 1 }, 'a retry with the old epoch gets the same answer');
  const stale = await produce(12, epoch, 1);
  t.ok(stale === ErrorCode.PRODUCER_FENCED || stale === ErrorCode.INVALID_PRODUCER_EPOCH, `the old epoch is fenced (${stale})`);
  t.equal(await produce(12, epoch + 1, 0), 0, 'the next transaction starts at the new epoch, sequence 0');
  const aborted = await call(END, 5, { transactionalId: 'v2', producerId, producerEpoch: epoch + 1, committed: false });
  t.match(aborted, { errorCode: 0, producerEpoch: epoch + 2 });
  t.match(
    await call(END, 5, { transactionalId: 'v2', producerId, producerEpoch: epoch + 2, committed: false }),
    { errorCode: 0, producerEpoch: epoch + 3 },
    'an empty transaction may be aborted',
  );

  t.equal((await call(57, 2, { timeoutMs: 1000, featureUpdates: [{ feature: 'transaction.version', maxVersionLevel: 1, upgradeType: 2 }], validateOnly: false })).errorCode, 0);
  const v1 = await init('v1-only');
  t.equal((await produce(12, 0, 0)) === ErrorCode.NONE, false, 'transaction.version 1: no implicit partitions');
  t.equal(await end('v1-only', v1.producerId, v1.producerEpoch, false), ErrorCode.INVALID_TXN_STATE, 'v1 semantics');
  const v5 = await call(END, 5, { transactionalId: 'v1-only', producerId: v1.producerId, producerEpoch: v1.producerEpoch, committed: false });
  t.match(v5, { producerId: -1n, producerEpoch: -1 }, 'v5 answers -1 ("keep yours") when transactions v2 is not finalised');
});
