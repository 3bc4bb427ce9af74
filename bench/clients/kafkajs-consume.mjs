// kafkajs consumer load: reads `records` records of `topic` from the beginning and reports
// MB/s. Two modes, the same client library either way:
//
//   --mode group   kafkajs's public consumer (it always joins a consumer group; needs
//                  FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch);
//   --mode assign  no group: every partition read from offset 0 through kafkajs's own Fetch
//                  request and record-batch decoder (its Cluster and Broker classes, which
//                  the public consumer uses underneath), for brokers without groups.
//
// Bounded by count, by --max-seconds and by --idle-ms without data. Prints "interval <ms>
// <records> <bytes>" once a second and a final "result {json}".

import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    records: { type: 'string' },
    mode: { type: 'string', default: 'assign' },
    'max-seconds': { type: 'string', default: '60' },
    'idle-ms': { type: 'string', default: '10000' },
  },
});
const total = Number(values.records);
const maxMillis = Number(values['max-seconds']) * 1000;
const idleMillis = Number(values['idle-ms']);
// kafkajs logs (and retries) what goes wrong; keep the last error to report it.
let lastLoggedError;
const logCreator =
  () =>
  ({ level, log }) => {
    if (level <= logLevel.ERROR) lastLoggedError = `${log.message}${log.error ? `: ${log.error}` : ''}`;
  };
const kafka = new Kafka({ clientId: 'spate-bench-kafkajs', brokers: [values.bootstrap], logLevel: logLevel.ERROR, logCreator });

let records = 0;
let bytes = 0;
let intervalRecords = 0;
let intervalBytes = 0;
let start = performance.now();
let lastData = performance.now();
let reporter;
let joinMs;

function count(message) {
  const size = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  records++;
  bytes += size;
  intervalRecords++;
  intervalBytes += size;
  lastData = performance.now();
}

function startClock() {
  start = performance.now();
  lastData = start;
  reporter = setInterval(() => {
    console.log(`interval ${Math.round(performance.now() - start)} ${intervalRecords} ${intervalBytes}`);
    intervalRecords = 0;
    intervalBytes = 0;
  }, 1000);
}

function finish(stopped, error) {
  const seconds = (performance.now() - start) / 1000;
  clearInterval(reporter);
  console.log(`interval ${Math.round(performance.now() - start)} ${intervalRecords} ${intervalBytes}`);
  console.log(
    `result ${JSON.stringify({
      records,
      bytes,
      seconds,
      recordsPerSec: records / seconds,
      mbPerSec: bytes / seconds / (1024 * 1024),
      stopped,
      joinMs,
      error: error ? String(error.message ?? error) : records === 0 ? lastLoggedError : undefined,
    })}`,
  );
  process.exit(0);
}

function stopReason() {
  if (records >= total) return 'count';
  if (performance.now() - start > maxMillis) return 'time';
  if (performance.now() - lastData > idleMillis) return 'idle';
  return undefined;
}

async function consumeAssigned() {
  // The public Kafka object keeps its cluster factory behind a symbol; the cluster it
  // builds is the one every kafkajs consumer fetches through.
  const createCluster = Object.getOwnPropertySymbols(kafka)
    .filter((symbol) => symbol.description === 'private:Kafka:createCluster')
    .map((symbol) => kafka[symbol])[0];
  const cluster = createCluster({ allowAutoTopicCreation: false });
  await cluster.connect();
  await cluster.addTargetTopic(values.topic);
  await cluster.refreshMetadata();
  const partitions = cluster.findTopicPartitionMetadata(values.topic);
  const offsets = new Map(partitions.map((p) => [p.partitionId, 0n]));
  const byLeader = new Map();
  for (const p of partitions) byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partitionId]);
  startClock();
  for (;;) {
    const reason = stopReason();
    if (reason) return finish(reason);
    await Promise.all(
      [...byLeader].map(async ([leader, ids]) => {
        const broker = await cluster.findBroker({ nodeId: leader });
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: 1,
          maxWaitTime: 500,
          minBytes: 1,
          maxBytes: 50 * 1024 * 1024,
          topics: [{ topic: values.topic, partitions: ids.map((partition) => ({ partition, fetchOffset: String(offsets.get(partition)), maxBytes: 1024 * 1024 })) }],
        });
        for (const topicResponse of response.responses) {
          for (const partition of topicResponse.partitions) {
            if (partition.errorCode !== 0) throw new Error(`Fetch error ${partition.errorCode} on partition ${partition.partition}`);
            for (const message of partition.messages) {
              const offset = BigInt(message.offset);
              if (offset < offsets.get(partition.partition)) continue;
              count(message);
              offsets.set(partition.partition, offset + 1n);
            }
          }
        }
      }),
    );
  }
}

async function consumeInGroup() {
  const consumer = kafka.consumer({ groupId: `spate-bench-${process.pid}-${Date.now()}`, maxBytesPerPartition: 1024 * 1024, maxBytes: 50 * 1024 * 1024 });
  consumer.on(consumer.events.CRASH, ({ payload }) => finish('error', payload.error));
  await consumer.connect();
  await consumer.subscribe({ topic: values.topic, fromBeginning: true });
  // The clock starts once the group is joined, as ConsumerPerformance's fetch.MB.sec does:
  // the join (and the broker's group.initial.rebalance.delay.ms) is reported apart.
  const joinStarted = performance.now();
  const joinDeadline = joinStarted + maxMillis;
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joined) return;
    joined = true;
    joinMs = performance.now() - joinStarted;
    startClock();
  });
  const watchdog = setInterval(() => {
    if (!joined) {
      if (performance.now() > joinDeadline) finish('error', new Error(`no group join within ${maxMillis} ms${lastLoggedError ? `: ${lastLoggedError}` : ''}`));
      return;
    }
    const reason = stopReason();
    if (reason) finish(reason);
  }, 100);
  void watchdog;
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) count(message);
      const reason = stopReason();
      if (reason) finish(reason);
    },
  });
}

try {
  if (values.mode === 'group') await consumeInGroup();
  else await consumeAssigned();
} catch (error) {
  finish('error', error);
}
