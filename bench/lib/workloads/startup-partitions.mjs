// Start-up with many partitions (issue 13), the same data on Spate and on Kafka 4.3.1:
// `topics` topics of `perTopic` partitions created with kafkajs, one 100-byte record written
// to every partition (kafkajs), then:
//   - stop with SIGTERM (timed: signal to exit),
//   - start after the clean stop (timed: spawn to ready),
//   - one more record to every partition, kill -9, start again (timed: spawn to ready),
// `runs` times each, and at the end optionally a DeleteTopics of `deleteTopics` topics in
// one request (timed until the answer). "Ready" is what a client needs: ApiVersions answers
// and a ListOffsets for the first and the last partition answers without error at the log
// end it should have; so a broker that listens before its logs are loaded is not ready.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { WireConnection, probeApiVersions } from '../kafka-wire.mjs';

const VALUE = Buffer.alloc(100, 'v');

function int16(n) {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n, 0);
  return b;
}
function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}
function string16(s) {
  const bytes = Buffer.from(s);
  return Buffer.concat([int16(bytes.length), bytes]);
}

/** ListOffsets v1 (latest) of one partition: { errorCode, offset }. */
async function latestOffset(connection, topic, partition) {
  const body = Buffer.concat([int32(-1), int32(1), string16(topic), int32(1), int32(partition), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
  const answer = await connection.request(2, 1, body);
  let at = 4; // topic count
  at += 2 + answer.readInt16BE(at); // name
  at += 4 + 4; // partition count, partition index
  const errorCode = answer.readInt16BE(at);
  const offset = answer.readBigInt64BE(at + 2 + 8);
  return { errorCode, offset };
}

/** Spawn-relative time at which the broker answers ApiVersions and both probe partitions reach `expected`. */
async function waitReady(broker, started, probes, expected, timeoutMs) {
  const deadline = started + timeoutMs;
  while (performance.now() < deadline) {
    if (broker.child.exitCode !== null) throw new Error(`${broker.name} exited while starting:\n${broker.logTail()}`);
    if (await probeApiVersions('127.0.0.1', broker.port, 1000)) {
      let connection;
      try {
        connection = await WireConnection.connect('127.0.0.1', broker.port, 1000);
        let ready = true;
        for (const [topic, partition] of probes) {
          const { errorCode, offset } = await Promise.race([latestOffset(connection, topic, partition), sleep(2000).then(() => ({ errorCode: -2, offset: -1n }))]);
          if (errorCode !== 0 || offset < expected) ready = false;
        }
        if (ready) return performance.now() - started;
      } catch {
        // not listening yet, or closed the connection while starting
      } finally {
        connection?.close();
      }
    }
    await sleep(10);
  }
  throw new Error(`${broker.name} not ready after ${timeoutMs} ms:\n${broker.logTail()}`);
}

/** Starts the broker process and waits until it serves the probe partitions. */
async function startTimed(broker, probes, expected, timeoutMs) {
  const started = performance.now();
  // BrokerProcess.start waits for ApiVersions; readiness is measured from its spawn.
  await broker.start();
  return waitReady(broker, started, probes, expected, timeoutMs);
}

async function stopTimed(broker, signal) {
  const started = performance.now();
  broker.child.kill(signal);
  const timer = setTimeout(() => broker.child.kill('SIGKILL'), 300_000);
  await broker.exited;
  clearTimeout(timer);
  return performance.now() - started;
}

/** Until every partition of `names` has a leader (Kafka's metadata reaches the broker a moment after CreateTopics answers). */
async function waitForLeaders(admin, names, perTopic, timeoutMs = 600_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.length === names.length && topics.every((topic) => topic.partitions.length === perTopic && topic.partitions.every((p) => p.leader >= 0))) return;
    } catch {
      // UNKNOWN_TOPIC_OR_PARTITION while the metadata propagates
    }
    if (performance.now() > deadline) throw new Error(`no leaders for ${names.join(', ')} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function produceEverywhere(bootstrap, topics, perTopic) {
  const kafka = new Kafka({ clientId: 'startup-bench', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let first = 0; first < topics; first += 10) {
      const topicMessages = [];
      for (let t = first; t < Math.min(topics, first + 10); t++) {
        topicMessages.push({ topic: `t${t}`, messages: Array.from({ length: perTopic }, (_, partition) => ({ partition, value: VALUE })) });
      }
      await producer.sendBatch({ acks: 1, topicMessages });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Runs the scenario against one broker (a BrokerProcess whose data survives stop/start).
 * Returns the timings in ms: { createMs, produceMs, stops: [], cleanStarts: [], crashStarts: [], deleteMs }.
 */
export async function startupWithPartitions(broker, { topics, perTopic, runs, deleteTopics = 0, note = () => {}, readyTimeoutMs = 600_000 }) {
  const result = { partitions: topics * perTopic, createMs: 0, produceMs: 0, stops: [], cleanStarts: [], crashStarts: [], deleteMs: undefined };
  const probes = [
    ['t0', 0],
    [`t${topics - 1}`, perTopic - 1],
  ];
  await broker.start();
  const kafka = new Kafka({ clientId: 'startup-bench-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const admin = kafka.admin();
  await admin.connect();
  let started = performance.now();
  for (let first = 0; first < topics; first += 10) {
    const batch = Array.from({ length: Math.min(10, topics - first) }, (_, i) => ({ topic: `t${first + i}`, numPartitions: perTopic, replicationFactor: 1 }));
    await admin.createTopics({ topics: batch, waitForLeaders: false, timeout: 600_000 });
    await waitForLeaders(
      admin,
      batch.map(({ topic }) => topic),
      perTopic,
    );
  }
  result.createMs = performance.now() - started;
  await admin.disconnect();
  note(`${broker.name}: created ${result.partitions} partitions in ${Math.round(result.createMs)} ms`);
  started = performance.now();
  await produceEverywhere(broker.bootstrap, topics, perTopic);
  result.produceMs = performance.now() - started;
  let expected = 1n;
  for (let run = 0; run < runs; run++) {
    result.stops.push(await stopTimed(broker, 'SIGTERM'));
    result.cleanStarts.push(await startTimed(broker, probes, expected, readyTimeoutMs));
    await produceEverywhere(broker.bootstrap, topics, perTopic);
    expected++;
    await stopTimed(broker, 'SIGKILL');
    result.crashStarts.push(await startTimed(broker, probes, expected, readyTimeoutMs));
    note(
      `${broker.name} run ${run + 1}/${runs}: SIGTERM ${Math.round(result.stops.at(-1))} ms, start after it ${Math.round(result.cleanStarts.at(-1))} ms, ` +
        `start after kill -9 ${Math.round(result.crashStarts.at(-1))} ms`,
    );
  }
  if (deleteTopics > 0) {
    const deleter = new Kafka({ clientId: 'startup-bench-delete', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await deleter.connect();
    started = performance.now();
    await deleter.deleteTopics({ topics: Array.from({ length: deleteTopics }, (_, i) => `t${i}`), timeout: 600_000 });
    result.deleteMs = performance.now() - started;
    await deleter.disconnect();
    note(`${broker.name}: deleted ${deleteTopics} topics in ${Math.round(result.deleteMs)} ms`);
  }
  result.stops.push(await stopTimed(broker, 'SIGTERM'));
  return result;
}

/** A fresh work directory for one broker of this workload. */
export function workDirFor(root, name) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
