// Replicated workloads on a three-broker cluster (brokers/cluster.mjs), the same for Spate
// and Kafka:
//
// - produce: a topic of 8 partitions, replication factor 3, min.insync.replicas=2; 1 KiB
//   records, acks=all, Kafka's ProducerPerformance with the settings of the single-broker
//   produce workload. The broker cost is the whole cluster's (three brokers, and etcd or the
//   KRaft controller).
// - failover: Kafka's VerifiableProducer (the Java client, idempotent, acks=all, printing each
//   acknowledgement) writes to a topic of one partition replicated 3 times while the
//   partition's leader is killed with SIGKILL, round after round; the failover time of a round
//   is from the kill to the first acknowledgement of a record the new leader wrote (an offset
//   at or past the start of its leader epoch, from OffsetForLeaderEpoch). The killed broker is
//   started again and the next round waits for a full ISR. Every acknowledged record must be
//   in the log.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { TOOL, parseProducerPerformance } from '../java-tools.mjs';
import { onClientCores } from '../cpu-pin.mjs';
import { failureReason } from '../run-process.mjs';
import { JAVA_PRODUCER_PROPS } from './produce.mjs';
import { measure } from './measure.mjs';

export const REPLICATED_PRODUCE = { key: '1k-acksall-rf3', size: 1024, label: 'Produce 1 KiB records, acks=all, RF 3, min.insync.replicas=2' };

/** Creates a topic with replication factor 3 through kafkajs's admin client; resolves once every partition has a leader. */
async function createReplicatedTopic(bootstrap, topic, partitions, configs = {}) {
  const admin = new Kafka({ clientId: 'spate-bench-admin', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value: String(value) })) }],
      waitForLeaders: true,
      timeout: 60_000,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Waits until DescribeCluster lists the three brokers (a KRaft broker registers after it answers ApiVersions). */
export async function waitForBrokers(bootstrap, count = 3, timeoutMs = 120_000) {
  const admin = new Kafka({ clientId: 'spate-bench-admin', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const cluster = await admin.describeCluster().catch(() => undefined);
      if (cluster && cluster.brokers.length >= count) return;
      await sleep(200);
    }
    throw new Error(`the cluster did not list ${count} brokers within ${timeoutMs / 1000} s`);
  } finally {
    await admin.disconnect();
  }
}

export async function replicatedProduce(ctx, records, maxSeconds) {
  const c = REPLICATED_PRODUCE;
  const topic = `replicated-${c.key}`;
  await createReplicatedTopic(ctx.broker.bootstrap, topic, 8, { 'min.insync.replicas': 2 });
  return measure(ctx, { id: `replicated/${c.key}/java`, group: 'replicated', name: c.label, client: 'Java ProducerPerformance' }, async () => {
    const run = await ctx.tools.run(
      TOOL.producerPerformance,
      [
        ...['--bootstrap-server', ctx.broker.bootstrap, '--topic', topic, '--num-records', String(records), '--record-size', String(c.size)],
        ...['--throughput', '-1', '--reporting-interval', '1000', '--command-property', 'acks=all', ...JAVA_PRODUCER_PROPS],
      ],
      { timeoutMs: maxSeconds * 1000 },
    );
    const { summary, series } = parseProducerPerformance(run.lines);
    if (!summary) return { error: failureReason(run) };
    return {
      clientCpuSeconds: run.cpuSeconds,
      metrics: summary,
      bytes: summary.records * c.size,
      series,
      note: run.timedOut ? `stopped at the ${maxSeconds} s limit; figures from the interval reports` : undefined,
      error: run.code !== 0 && !run.timedOut ? failureReason(run) : undefined,
    };
  });
}

// A minimal request/response over one socket with Spate's own codec (dist/), for the two
// requests the failover rounds need: Metadata v12 and OffsetForLeaderEpoch v4.
async function ask(root, bootstrap, apiKey, version, body) {
  const { encodeRequest, decodeResponse } = await import(join(root, 'dist', 'protocol', 'frame.js'));
  const net = await import('node:net');
  const [host, port] = bootstrap.split(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${bootstrap}`));
    }, 5000);
    socket.on('connect', () => {
      try {
        socket.write(encodeRequest(apiKey, version, 1, 'spate-bench', body));
      } catch (error) {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      }
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4 || buffered.length < 4 + buffered.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(decodeResponse(apiKey, version, buffered.subarray(4, 4 + buffered.readInt32BE(0))).body);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function partitionState(root, bootstrap, topic) {
  const body = await ask(root, bootstrap, 3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const partition = body.topics[0]?.partitions[0];
  return partition ? { leader: partition.leaderId, epoch: partition.leaderEpoch, isr: partition.isrNodes.length } : { leader: -1, epoch: -1, isr: 0 };
}

/** Asks each live broker in turn until one answers. */
async function anyBroker(cluster, fn) {
  let last;
  for (const broker of cluster.brokers.values()) {
    if (broker.child.exitCode !== null || broker.child.signalCode !== null) continue;
    try {
      return await fn(broker.bootstrap);
    } catch (error) {
      last = error;
    }
  }
  throw last ?? new Error('no live broker');
}

async function until(what, check, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

export async function replicatedFailover(ctx, rounds, rate, sessionTimeoutMs) {
  const cluster = ctx.broker;
  const topic = 'replicated-failover';
  await createReplicatedTopic(cluster.bootstrap, topic, 1, { 'min.insync.replicas': 2 });
  return measure(
    ctx,
    {
      id: 'replicated/failover/java',
      group: 'replicated',
      name: `Failover: kill -9 of the partition leader, ${rounds} rounds (broker.session.timeout.ms=${sessionTimeoutMs})`,
      client: 'Java VerifiableProducer',
    },
    async () => {
      const config = join(ctx.workDir, 'verifiable-producer.properties');
      writeFileSync(config, ['enable.idempotence=true', 'acks=all', 'retries=2147483647', 'linger.ms=5', 'delivery.timeout.ms=300000', 'metadata.max.age.ms=1000', ''].join('\n'));
      const [command, args] = onClientCores('java', [
        ...['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${ctx.tools.lib}/*`, TOOL.verifiableProducer],
        ...['--bootstrap-server', cluster.bootstrap, '--topic', topic, '--throughput', String(rate), '--acks', '-1', '--command-config', config],
      ]);
      const producer = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const acked = [];
      let failed = 0;
      const done = new Promise((resolve) =>
        createInterface({ input: producer.stdout })
          .on('line', (line) => {
            if (!line.startsWith('{')) return;
            const event = JSON.parse(line);
            if (event.name === 'producer_send_success') acked.push({ value: event.value, offset: BigInt(event.offset), at: performance.now() });
            else if (event.name === 'producer_send_error') failed++;
          })
          .on('close', resolve),
      );
      const times = [];
      try {
        await until('the producer to get going', async () => acked.length >= rate, 60_000);
        for (let round = 1; round <= rounds; round++) {
          ctx.progress.step(`${cluster.name}: failover round ${round} of ${rounds}`);
          await until(`round ${round}: a full ISR`, async () => (await anyBroker(cluster, (b) => partitionState(ctx.root, b, topic))).isr === 3, 120_000);
          const before = await anyBroker(cluster, (b) => partitionState(ctx.root, b, topic));
          const killedAt = performance.now();
          await cluster.kill(before.leader);
          let elected;
          await until(
            `round ${round}: a new leader`,
            async () => {
              const state = await anyBroker(cluster, (b) => partitionState(ctx.root, b, topic));
              if (state.leader < 0 || state.leader === before.leader) return false;
              elected = state;
              return true;
            },
            120_000,
          );
          // Where the new leader's epoch starts: the end of the epoch before, asked of the new leader until it answers it.
          let start = -1n;
          await until(
            `round ${round}: the start offset of leader epoch ${elected.epoch}`,
            async () => {
              const answer = await ask(ctx.root, cluster.bootstrapOf(elected.leader), 23, 4, {
                replicaId: -1,
                topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: elected.epoch - 1 }] }],
              });
              const partition = answer.topics[0].partitions[0];
              if (partition.errorCode !== 0 || partition.endOffset < 0n) return false;
              start = partition.endOffset;
              return true;
            },
            60_000,
          );
          // The first acknowledgement, after the kill, of a record the new leader wrote.
          let first;
          await until(
            `round ${round}: a record acknowledged by the new leader`,
            async () => (first = acked.find((ack) => ack.at > killedAt && ack.offset >= start)) !== undefined,
            120_000,
          );
          times.push(first.at - killedAt);
          await cluster.restart(before.leader);
        }
      } finally {
        producer.kill('SIGTERM');
        const killer = setTimeout(() => producer.kill('SIGKILL'), 60_000);
        await done;
        clearTimeout(killer);
      }
      // Every acknowledged record is in the log (read back with kafkajs from offset 0).
      const lost = await missingRecords(ctx.root, cluster, topic, acked);
      const metrics = {
        p50Ms: median(times),
        maxMs: Math.max(...times),
        minMs: Math.min(...times),
        rounds: times.length,
        perRoundMs: times.map(Math.round),
        acked: acked.length,
        failed,
        lost,
      };
      return { metrics, error: lost > 0 ? `${lost} acknowledged records missing from the log` : undefined };
    },
  );
}

/** How many acknowledged values are not in partition 0 of `topic`, read from its leader with Fetch from offset 0. */
async function missingRecords(root, cluster, topic, acked) {
  const { decodeRecordBatches } = await import(join(root, 'dist', 'protocol', 'record-batch.js'));
  await until('a leader to read from', async () => (await anyBroker(cluster, (b) => partitionState(root, b, topic))).leader >= 0, 120_000);
  const { leader } = await anyBroker(cluster, (b) => partitionState(root, b, topic));
  const seen = new Set();
  let offset = 0n;
  for (let request = 0; request < 100_000; request++) {
    const partition = { partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 };
    const body = await ask(root, cluster.bootstrapOf(leader), 1, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [partition] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const records = body.responses[0]?.partitions[0]?.records;
    const batches = records ? decodeRecordBatches(Buffer.from(records)) : [];
    if (batches.length === 0) break;
    for (const batch of batches) for (const record of batch.records) seen.add(record.value.toString());
    const last = batches.at(-1);
    offset = last.baseOffset + BigInt(last.lastOffsetDelta) + 1n;
  }
  return acked.filter((ack) => !seen.has(ack.value)).length;
}
