// `npm run bench [-- --quick] [-- --against kafka]`: starts a Spate broker as a child
// process, runs the workloads against it with Kafka's own Java load generators and kafkajs,
// and writes a report (terminal table, bench/results/*.md and *.json, SVG charts). With
// --against kafka it runs the same workloads, clients and settings against Apache Kafka
// 4.3.1 (KRaft, one node) on the same machine and reports Spate/Kafka ratios against the
// targets of issue 6. See bench/README.md.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spateBroker } from './lib/brokers/spate.mjs';
import { ensureKafkaJars, kafkaBroker, KAFKA_VERSION } from './lib/brokers/kafka.mjs';
import { JavaTools } from './lib/java-tools.mjs';
import { freePort } from './lib/ports.mjs';
import { memory } from './lib/proc-stats.mjs';
import { Progress } from './lib/progress.mjs';
import { summariseProfile } from './lib/profile.mjs';
import { PRODUCE_CASES, javaTopic, produceJava, produceKafkajs } from './lib/workloads/produce.mjs';
import { consumeJavaAssigned, consumeJavaGroup, consumeKafkajs } from './lib/workloads/consume.mjs';
import { latencyAtRate, latencyOneAtATime } from './lib/workloads/latency.mjs';
import { manyConnections, manyPartitions } from './lib/workloads/scale.mjs';
import { loopbackLimit } from './lib/workloads/loopback.mjs';
import { CEILING_CASES, ceiling } from './lib/workloads/ceiling.mjs';
import { configurePinning } from './lib/cpu-pin.mjs';
import { gatewayFanout, gatewayProduce, metricsCost } from './lib/workloads/gateway.mjs';
import { kafkaCluster, spateCluster } from './lib/brokers/cluster.mjs';
import { replicatedFailover, replicatedProduce, waitForBrokers } from './lib/workloads/replicated.mjs';
import { writeRatioHistory } from './lib/report/ratios.mjs';
import { evaluateTargets } from './lib/report/compare.mjs';
import { buildCharts } from './lib/report/charts.mjs';
import { markdownReport, terminalReport } from './lib/report/render.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const GROUPS = ['ceiling', 'produce', 'consume', 'latency', 'scale', 'replicated', 'gateway'];
/** The groups run against one broker; 'replicated' runs against a cluster of three. */
const SINGLE_BROKER_GROUPS = GROUPS.filter((group) => group !== 'replicated');
/** The single-broker groups measured against Kafka too ('gateway' is Spate's alone). */
const KAFKA_COMPARED_GROUPS = SINGLE_BROKER_GROUPS.filter((group) => group !== 'gateway');

const USAGE = `Usage: npm run bench -- [--quick] [--against kafka] [--only GROUPS] [--no-profile]

  --quick            a short run for smoke testing (about 2 minutes a broker)
  --against kafka    also run every workload against Apache Kafka ${KAFKA_VERSION} (KRaft, one node)
                     and report Spate/Kafka; without it, the last Kafka run of the same
                     mode saved in bench/results/ is used for the ratios, if there is one
  --only GROUPS      comma-separated subset of: ${GROUPS.join(', ')}
                     (replicated: three brokers, RF 3, acks=all, and failover; Spate as three
                     processes on etcd, which needs the etcd binary; gateway: Spate only, REST
                     and WebSocket next to the binary protocol, and the cost of /metrics)
  --no-pin           do not pin the broker to core 0 and the load generators to the others
  --no-profile       skip the CPU profiles of Spate taken where a target is missed
  --profile          take them even when every target is met
  --render FILE      only rebuild the report (Markdown, charts, table) from a saved report.json`;

// Counts are bounds; every run is also bounded in time (the caps, in seconds).
const PLANS = {
  quick: {
    extraStarts: 2,
    idleSettleMs: 2000,
    warmupRecords: 200_000,
    loopbackSeconds: 4,
    loopbackRepeats: 3,
    ceilingSeconds: 3,
    ceilingRepeats: 3,
    produce: { 1024: { java: 300_000, kafkajs: 40_000 }, 100: { java: 1_500_000, kafkajs: 150_000 } },
    produceCapSeconds: 40,
    kafkajsCapSeconds: 20,
    consumeCapSeconds: 40,
    kafkajsGroupConsume: true,
    rates: [1000, 10_000],
    rateSeconds: 10,
    serialRecords: 500,
    partitions: 100,
    partitionRecords: 100_000,
    connections: 200,
    connectionSeconds: 5,
    profileRecords: 300_000,
    gatewaySeconds: 5,
    gatewayFanoutRate: 1000,
    metricsCostRounds: 5,
    metricsCostSeconds: 3,
    replicated: { warmupRecords: 100_000, records: 300_000, capSeconds: 60, failoverRounds: 5, failoverRate: 500 },
  },
  full: {
    extraStarts: 4,
    idleSettleMs: 5000,
    warmupRecords: 1_000_000,
    loopbackSeconds: 10,
    loopbackRepeats: 3,
    ceilingSeconds: 10,
    ceilingRepeats: 5,
    produce: { 1024: { java: 2_000_000, kafkajs: 300_000 }, 100: { java: 10_000_000, kafkajs: 1_000_000 } },
    produceCapSeconds: 90,
    kafkajsCapSeconds: 60,
    consumeCapSeconds: 90,
    kafkajsGroupConsume: true,
    rates: [1000, 10_000, 20_000],
    rateSeconds: 30,
    serialRecords: 5000,
    partitions: 1000,
    partitionRecords: 500_000,
    connections: 1000,
    connectionSeconds: 20,
    profileRecords: 1_000_000,
    gatewaySeconds: 10,
    gatewayFanoutRate: 1000,
    metricsCostRounds: 7,
    metricsCostSeconds: 5,
    replicated: { warmupRecords: 500_000, records: 2_000_000, capSeconds: 120, failoverRounds: 10, failoverRate: 1000 },
  },
};

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      against: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.against !== undefined && values.against !== 'kafka') throw new Error(`--against takes 'kafka', got '${values.against}'`);
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : GROUPS;
  for (const group of only) if (!GROUPS.includes(group)) throw new Error(`unknown group '${group}' in --only (one of ${GROUPS.join(', ')})`);
  return {
    mode: values.quick ? 'quick' : 'full',
    againstKafka: values.against === 'kafka',
    only: new Set(only),
    profile: values['no-profile'] ? 'never' : values.profile ? 'always' : 'on-miss',
    render: values.render,
    pin: !values['no-pin'],
  };
}

function machine() {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  // `java -version` and -XshowSettings print to stderr.
  const java = spawnSync('java', ['-XshowSettings:properties', '-version'], { encoding: 'utf8' }).stderr ?? '';
  const javaVersion = /java\.runtime\.version = (\S+)/.exec(java)?.[1] ?? /version "([^"]+)"/.exec(java)?.[1] ?? '?';
  return {
    cpu: cpu.trim(),
    // The machine's cores, not this process's: the bench pins itself to the clients' cores first.
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: os.release(),
    java: `Java ${javaVersion}`,
  };
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** A broker of the given kind in a fresh working directory. */
async function makeBroker(kind, cpuProfileDir, workDir) {
  const dir = workDir ?? mkdtempSync(join(os.tmpdir(), `spate-bench-${kind}-`));
  const port = await freePort();
  if (kind === 'spate') return { broker: spateBroker({ root: ROOT, workDir: dir, port, cpuProfileDir, httpPort: await freePort() }), dir };
  return { broker: kafkaBroker({ root: ROOT, workDir: dir, port, controllerPort: await freePort() }), dir };
}

/** broker.session.timeout.ms of both clusters in the replicated group: the same failure-detection budget (Kafka's default is 9000). */
const REPLICATED_SESSION_TIMEOUT_MS = 2000;

/**
 * The replicated group against a three-broker cluster of `kind` (brokers/cluster.mjs):
 * produce with RF 3 and acks=all, then the failover rounds. Results go into `out`.
 */
async function benchReplicated(kind, plan, tools, progress, out) {
  const workDir = mkdtempSync(join(os.tmpdir(), `spate-bench-${kind}-cluster-`));
  // Kafka's brokers heartbeat every broker.heartbeat.interval.ms (2000 by default) and must do so several times a session; Spate's lease is renewed every third of it.
  const overrides =
    kind === 'spate'
      ? { 'broker.session.timeout.ms': REPLICATED_SESSION_TIMEOUT_MS }
      : { 'broker.session.timeout.ms': REPLICATED_SESSION_TIMEOUT_MS, 'broker.heartbeat.interval.ms': 500 };
  let cluster;
  try {
    progress.step(`${kind}: three-broker cluster`);
    cluster = kind === 'spate' ? await spateCluster({ root: ROOT, workDir, overrides }) : await kafkaCluster({ root: ROOT, workDir, overrides });
    await cluster.start();
    await waitForBrokers(cluster.bootstrap);
    const ctx = { broker: cluster, tools, root: ROOT, progress, results: out.results, workDir };
    const r = plan.replicated;
    // Unreported warm-up, as for the single broker.
    await replicatedProduce({ ...ctx, results: [] }, r.warmupRecords, r.capSeconds).catch(() => undefined);
    await replicatedProduce(ctx, r.records, r.capSeconds);
    await replicatedFailover(ctx, r.failoverRounds, r.failoverRate, REPLICATED_SESSION_TIMEOUT_MS);
  } catch (error) {
    out.errors.push(`${kind} cluster: ${error.message.split('\n')[0]}`);
    progress.note(`  ${kind} cluster: ${error.message.split('\n')[0]}`);
  } finally {
    await cluster?.stop().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
    progress.advance(plan.replicated.capSeconds + plan.replicated.failoverRounds * 10);
  }
}

/** Runs every selected workload against one broker; returns its results and footprint. */
async function benchBroker(kind, plan, options, tools, progress) {
  const out = { name: kind, startToReadyMs: [], results: [], errors: [] };
  if (!SINGLE_BROKER_GROUPS.some((group) => options.only.has(group))) return out;
  // The gateway alone (--only gateway, Spate's own) warms its own paths: the cold starts and the Java warm-up are for the Kafka comparisons.
  const gatewayOnly = !KAFKA_COMPARED_GROUPS.some((group) => options.only.has(group));
  if (gatewayOnly && kind !== 'spate') return out;
  for (let i = 0; i < (gatewayOnly ? 0 : plan.extraStarts); i++) {
    progress.step(`${kind}: cold start ${i + 1} of ${plan.extraStarts + 1}`);
    const { broker, dir } = await makeBroker(kind);
    try {
      out.startToReadyMs.push(await broker.start());
    } catch (error) {
      out.errors.push(`${kind} cold start failed: ${error.message.split('\n')[0]}`);
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    progress.advance(kind === 'kafka' ? 12 : 1);
  }

  progress.step(`${kind}: start`);
  const { broker, dir } = await makeBroker(kind);
  try {
    out.startToReadyMs.push(await broker.start());
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  // Spate's ready line says how long its own start took, after Node has loaded it.
  const selfReported = /started in (\d+) ms/.exec(broker.logTail(50));
  if (selfReported) out.selfReportedStartMs = Number(selfReported[1]);
  progress.step(`${kind}: idle`);
  await sleep(plan.idleSettleMs);
  out.idleRss = memory(broker.pid).rss;
  progress.advance(kind === 'kafka' ? 12 : 3);

  const ctx = { broker, tools, root: ROOT, progress, results: out.results };
  const alive = () => broker.child.exitCode === null && broker.child.signalCode === null;
  const step = async (weight, fn) => {
    if (!alive()) {
      progress.advance(weight);
      return undefined;
    }
    try {
      return await fn();
    } catch (error) {
      out.errors.push(`${kind}: ${error.message.split('\n')[0]}`);
      progress.note(`  ${kind}: ${error.message.split('\n')[0]}`);
      return undefined;
    } finally {
      progress.advance(weight);
    }
  };

  try {
    // Warm-up, not reported: both brokers' JITs (V8's, HotSpot's) compile their hot paths
    // before anything is measured, as the OpenMessaging Benchmark's warm-up phase does.
    await step(plan.warmupRecords / 50_000, async () => {
      if (gatewayOnly) return;
      const scratch = { ...ctx, results: [] };
      const warm = { key: 'warmup', size: 1024, acks: '1', label: 'Warm-up (not reported)', sizeLabel: '1 KiB' };
      const produced = await produceJava(scratch, warm, plan.warmupRecords, plan.produceCapSeconds);
      if (produced.ok) await consumeJavaAssigned(scratch, warm, javaTopic(warm), produced.metrics.records, plan.consumeCapSeconds);
    });

    if (options.only.has('ceiling')) {
      for (const c of CEILING_CASES) await step(plan.ceilingRepeats * plan.ceilingSeconds * 2, () => ceiling(ctx, c, plan.ceilingSeconds, plan.ceilingRepeats));
    }

    const produced = new Map();
    if (options.only.has('produce') || options.only.has('consume')) {
      for (const c of PRODUCE_CASES) {
        // The consume workloads read the acks=1 topics, so those are written even for --only consume.
        if (!options.only.has('produce') && c.acks !== '1') continue;
        const counts = plan.produce[c.size];
        const result = await step(plan.produceCapSeconds / 2, () => produceJava(ctx, c, counts.java, plan.produceCapSeconds));
        if (result?.ok || result?.metrics?.records > 0) produced.set(c.key, result.metrics.records);
        if (options.only.has('produce')) await step(plan.kafkajsCapSeconds / 2, () => produceKafkajs(ctx, c, counts.kafkajs, plan.kafkajsCapSeconds));
      }
    }
    if (options.only.has('consume')) {
      for (const c of PRODUCE_CASES.filter((x) => x.acks === '1')) {
        const records = produced.get(c.key);
        const sized = { ...c, sizeLabel: c.size === 1024 ? '1 KiB' : `${c.size} B` };
        if (!records) {
          out.errors.push(`${kind}: no data for the ${c.key} consume workloads (its produce failed)`);
          continue;
        }
        const topic = javaTopic(c);
        await step(plan.consumeCapSeconds / 3, () => consumeJavaAssigned(ctx, sized, topic, records, plan.consumeCapSeconds));
        await step(plan.consumeCapSeconds / 4, () => consumeKafkajs(ctx, sized, topic, records, plan.consumeCapSeconds, 'assign'));
        if (c.size === 1024) {
          await step(plan.consumeCapSeconds / 4, () => consumeJavaGroup(ctx, sized, topic, records, plan.consumeCapSeconds));
          if (plan.kafkajsGroupConsume) await step(plan.consumeCapSeconds / 4, () => consumeKafkajs(ctx, sized, topic, records, plan.consumeCapSeconds, 'group'));
        }
      }
    }
    if (options.only.has('latency')) {
      for (const rate of plan.rates) await step(plan.rateSeconds + 4, () => latencyAtRate(ctx, rate, plan.rateSeconds));
      await step(8, () => latencyOneAtATime(ctx, plan.serialRecords));
    }
    if (options.only.has('scale')) {
      await step(15, () => manyPartitions(ctx, plan.partitions, plan.partitionRecords, plan.produceCapSeconds));
      await step(plan.connectionSeconds + 5, () => manyConnections(ctx, plan.connections, plan.connectionSeconds));
    }
    if (options.only.has('gateway') && kind === 'spate') {
      await step(plan.gatewaySeconds * 3 + 10, () => gatewayProduce(ctx, plan.gatewaySeconds));
      await step(plan.gatewaySeconds * 2 + 10, () => gatewayFanout(ctx, plan.gatewaySeconds, plan.gatewayFanoutRate));
      await step(plan.metricsCostRounds * (plan.metricsCostSeconds + 2) * 8 + 20, () => metricsCost(ctx, { rounds: plan.metricsCostRounds, seconds: plan.metricsCostSeconds }));
    }
    if (!alive()) out.errors.push(`${kind} exited during the run:\n${broker.logTail(20)}`);
    out.peakRss = memory(broker.pid).hwm;
  } finally {
    progress.step(`${kind}: stop`);
    const stopStarted = performance.now();
    const status = await broker.stop();
    out.stopMs = performance.now() - stopStarted;
    if (status && status.code !== 0 && status.signal !== 'SIGTERM' && status.code !== 143) {
      out.errors.push(`${kind} exited with ${JSON.stringify(status)} on SIGTERM:\n${broker.logTail(10)}`);
    }
    // What the broker itself complained about during the run (its log goes with the data dir).
    const complaints = broker
      .logTail(1_000_000)
      .split('\n')
      .filter((line) => /\b(ERROR|WARN)\b/.test(line));
    out.logWarnings = { count: complaints.length, first: complaints.slice(0, 8).map((line) => line.slice(0, 300)) };
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/**
 * CPU profiles of Spate under the workloads whose targets it missed, each in its own broker
 * run under `node --cpu-prof`, summarised for the report.
 */
async function profileSpate(plan, misses, tools, progress) {
  const profileDir = join(ROOT, 'bench', 'results', 'profiles');
  mkdirSync(profileDir, { recursive: true });
  const scenarios = [];
  const want = (name) => misses.some((m) => m.includes(name));
  const c1k = PRODUCE_CASES[0];
  if (want('produce') || want('CPU') || want('loopback')) {
    scenarios.push({
      scenario: 'produce-1k-acks1',
      reason: 'produce throughput, CPU per GiB, loopback',
      run: (ctx) => produceJava(ctx, c1k, plan.profileRecords, plan.produceCapSeconds),
    });
  }
  if (want('consume')) {
    scenarios.push({
      scenario: 'consume-1k',
      reason: 'consume throughput',
      prepare: (ctx) => produceJava(ctx, c1k, plan.profileRecords, plan.produceCapSeconds),
      run: (ctx) => consumeJavaAssigned(ctx, { ...c1k, sizeLabel: '1 KiB' }, javaTopic(c1k), plan.profileRecords, plan.consumeCapSeconds),
    });
  }
  if (want('e2e')) {
    scenarios.push({ scenario: 'latency-10k', reason: 'end-to-end latency', run: (ctx) => latencyAtRate(ctx, 10_000, plan.rateSeconds) });
  }
  if (want('start to ready')) scenarios.push({ scenario: 'start', reason: 'start to ready', run: async () => {} });

  const profiles = [];
  for (const s of scenarios) {
    progress.step(`spate profile: ${s.scenario}`);
    const dir = mkdtempSync(join(os.tmpdir(), 'spate-bench-profile-'));
    const rawDir = join(dir, 'cpuprofile');
    const scratch = [];
    try {
      if (s.prepare) {
        // Write the data with an unprofiled broker, then profile a second one on the same data.
        const { broker } = await makeBroker('spate', undefined, dir);
        await broker.start();
        await s.prepare({ broker, tools, root: ROOT, progress, results: scratch });
        await broker.stop();
      }
      const { broker } = await makeBroker('spate', rawDir, dir);
      await broker.start();
      await s.run({ broker, tools, root: ROOT, progress, results: scratch });
      await broker.stop();
      const file = readdirSync(rawDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('the broker wrote no .cpuprofile (did it exit cleanly on SIGTERM?)');
      const target = join(profileDir, `${s.scenario}.cpuprofile`);
      renameSync(join(rawDir, file), target);
      const window = s.scenario === 'start' ? 'all' : 'workload';
      profiles.push({ scenario: s.scenario, reason: s.reason, file: relative(ROOT, target), summary: summariseProfile(target, ROOT, window) });
    } catch (error) {
      profiles.push({ scenario: s.scenario, reason: s.reason, error: error.message.split('\n')[0] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      progress.advance(20);
    }
  }
  return profiles;
}

const METHOD = (plan, mode) => [
  `Each broker runs as a child process on 127.0.0.1 with a fresh data directory; Spate as \`node bin/spate.js start\`, Kafka ${KAFKA_VERSION} as \`kafka.Kafka\` in KRaft combined mode (broker and controller in one JVM, storage formatted with kafka.tools.StorageTool) with kafka-server-start.sh's JVM options (-Xms1G -Xmx1G, G1). Both keep their default flush policy (the page cache, no fsync per write) and log at INFO to a file.`,
  `Topics are created with kafkajs's admin client on both brokers: 8 partitions per throughput and latency topic. Before the measured workloads each broker gets a warm-up, not reported: ${plan.warmupRecords.toLocaleString('en-US')} 1 KiB records produced and consumed, so both JITs have compiled their hot paths.`,
  `Produce: Kafka's ProducerPerformance (kafka-tools ${KAFKA_VERSION}) with batch.size=1048576, linger.ms=5, compression none, buffer.memory=64 MiB, no rate limit; ${plan.produce[1024].java.toLocaleString('en-US')} records of 1 KiB and ${plan.produce[100].java.toLocaleString('en-US')} of 100 B per case (capped at ${plan.produceCapSeconds} s). kafkajs 2.2.4: send() calls of up to 1 MiB of records, 5 in flight, ${plan.produce[1024].kafkajs.toLocaleString('en-US')} / ${plan.produce[100].kafkajs.toLocaleString('en-US')} records. MB/s is MiB of record payload per second, as ProducerPerformance reports it.`,
  `Consume: the acks=1 topics read from offset 0. "Java KafkaConsumer, assign" is bench/java/SpateBench.java: the Java consumer with ConsumerPerformance's settings (1 MiB per partition fetch, 2 MiB receive buffer) but assigned partitions and no group. ConsumerPerformance itself always joins a group (its fetch.MB.sec, without the join, is reported). kafkajs: its public consumer (always a group) and an assign-mode loop over its own Fetch request and decoder.`,
  `End-to-end latency: SpateBench e2e sends 1 KiB records at a fixed rate (${plan.rates.map((r) => r.toLocaleString('en-US')).join(', ')} records/s for ${plan.rateSeconds} s, acks=all, linger.ms=1) and an assign-mode consumer in the same JVM records receipt time minus the record's scheduled send time in an HdrHistogram (warm-up left out). A rate counts as sustained when every record arrived without send errors. EndToEndLatency (Kafka's tool) sends ${plan.serialRecords.toLocaleString('en-US')} records one at a time.`,
  `Scale: a topic of ${plan.partitions.toLocaleString('en-US')} partitions created, then ${plan.partitionRecords.toLocaleString('en-US')} 1 KiB records produced across it; ${plan.connections.toLocaleString('en-US')} connections opened by the bench's wire client (ApiVersions v0, Metadata v1), each producing one 1 KiB record (Produce v7, acks=1) a second for ${plan.connectionSeconds} s.`,
  `Broker cost: CPU is utime + stime of the broker process from /proc/<pid>/stat over each workload (the load generator's own CPU and the rest of the machine's, from /proc/stat, are recorded beside it: on 2 cores a client near 100-200% is the limit, not the broker); RSS from /proc/<pid>/status (VmRSS, ${plan.idleSettleMs / 1000} s after ready for idle; VmHWM for peak). Start to ready: from spawn to the first answered ApiVersions request, median of ${plan.extraStarts + 1} starts (Kafka's storage formatting is done before and not counted).`,
  `Loopback limit: bench/clients/loopback.mjs, one Node process writing Produce requests (8 partitions x 128 x 1 KiB records) to another that only counts the bytes, ${plan.loopbackSeconds} s, median of ${plan.loopbackRepeats} runs.`,
  `Ceiling: bench/load/generator.mjs, the bench's own generator: Produce v7 requests built once (8 partitions x 128 KiB batches), ${4} connections with 4 requests in flight each, acks=1, ${plan.ceilingSeconds} s a run; then a Fetch v11 loop that walks only the batch headers and counts bytes, over everything written. Median of ${plan.ceilingRepeats} runs each, with the slowest and fastest run.`,
  `Gateway (Spate only): REST produce of one 100-byte record per POST with 32 in flight (Node's http client, keep-alive) next to kafkajs send() of one record with acks=all and 32 in flight (REST produces with acks=all), and a streamed POST of 500 records per body; fan-out: ${plan.gatewayFanoutRate} records/s (kafkajs, a batch every 10 ms) to a one-partition topic read by 100 WebSocket subscribers from its end, next to 100 Fetch v4 long-poll consumers (the bench's wire client), latency = receipt minus the record timestamp; ${plan.gatewaySeconds} s each after a 2 s warm-up. The /metrics cost: four variants (HTTP off, so no metrics hook; HTTP on with the request hook off; on; on and scraped every second), a fresh broker for each in every round, the bench's generator against it for ${plan.metricsCostSeconds} s after a 1 s warm-up, ${plan.metricsCostRounds} rounds in rotating order, for small requests (10 x 100 B records) and large ones (8 x 128 KiB); the per-round differences of records/s and of the broker's CPU per record, their median and range.`,
  `Replicated (three brokers): Spate as three \`spate start --node-id N --cluster etcd://...\` processes with one etcd (3.4, Debian's etcd-server); Kafka ${KAFKA_VERSION} as one KRaft controller and three brokers (process.roles=controller / broker, four JVMs with kafka-server-start.sh's options), so that killing a broker kills no controller on either side. Every process of a cluster (brokers, and etcd or the controller) runs on the broker core and the cost figures sum them. Produce: a topic of 8 partitions, replication factor 3, min.insync.replicas=2, ProducerPerformance with acks=all and the settings above, ${plan.replicated.records.toLocaleString('en-US')} records of 1 KiB after an unreported warm-up of ${plan.replicated.warmupRecords.toLocaleString('en-US')}. Failover: broker.session.timeout.ms=${REPLICATED_SESSION_TIMEOUT_MS} on both (Kafka's default is 9000; Kafka's brokers heartbeat every 500 ms, Spate renews its etcd lease every third of the timeout); Kafka's VerifiableProducer (idempotent, acks=all, ${plan.replicated.failoverRate} records/s) writes to a partition replicated 3 times whose leader is killed with SIGKILL, ${plan.replicated.failoverRounds} rounds; a round's failover is from the kill to the first acknowledgement of a record the new leader wrote (at or past its epoch's start offset, from OffsetForLeaderEpoch); the killed broker is restarted and the next round waits for a full ISR; every acknowledged record is then read back.`,
  `Pinning: ${pinningText()}.`,
  `Mode: ${mode}. Clients, broker and bench share the machine's cores; numbers are for this machine only.`,
];

function pinningText() {
  const pinning = currentPinningForMethod;
  return pinning
    ? `each broker on CPU ${pinning.broker} (taskset), the load generators and the bench on CPU ${pinning.clients}`
    : 'none (--no-pin, one core, or no taskset): broker and clients share every core';
}
let currentPinningForMethod;

/** The loopback limit, several times: the median run, with the slowest and fastest. */
async function repeatedLoopback(plan) {
  const runs = [];
  for (let i = 0; i < plan.loopbackRepeats; i++) runs.push(await loopbackLimit(ROOT, plan.loopbackSeconds));
  const ok = runs.filter((r) => r.ok).sort((a, b) => a.payloadMbPerSec - b.payloadMbPerSec);
  if (ok.length === 0) return runs[0];
  const mid = ok[Math.floor(ok.length / 2)];
  return { ...mid, spread: { payloadMbPerSec: { min: ok[0].payloadMbPerSec, max: ok.at(-1).payloadMbPerSec, runs: ok.map((r) => r.payloadMbPerSec) } }, repeats: ok.length };
}

async function main() {
  const options = parseCommandLine();
  const plan = PLANS[options.mode];
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  if (options.render) {
    const saved = JSON.parse(readFileSync(options.render, 'utf8'));
    return writeReports(saved, resultsDir);
  }
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');

  // Kafka has no gateway: a gateway-only run measures Spate alone.
  const brokers = ['spate', ...(options.againstKafka && [...options.only].some((group) => group !== 'gateway') ? ['kafka'] : [])];
  const weightPerBroker = (kind) => {
    let w = (kind === 'kafka' ? 12 : 1) * (plan.extraStarts + 1) + 3;
    w += plan.warmupRecords / 50_000;
    if (options.only.has('ceiling')) w += CEILING_CASES.length * plan.ceilingRepeats * plan.ceilingSeconds * 2;
    if (options.only.has('produce')) w += 2 * (plan.produceCapSeconds + plan.kafkajsCapSeconds);
    if (options.only.has('consume')) w += 2 * plan.consumeCapSeconds;
    if (options.only.has('latency')) w += plan.rates.length * (plan.rateSeconds + 4) + 8;
    if (options.only.has('scale')) w += 20 + plan.connectionSeconds;
    if (options.only.has('gateway') && kind === 'spate') w += plan.gatewaySeconds * 5 + 20 + plan.metricsCostRounds * (plan.metricsCostSeconds + 2) * 8 + 20;
    if (options.only.has('replicated')) w += plan.replicated.capSeconds + plan.replicated.failoverRounds * 10;
    return w;
  };
  const progress = new Progress(brokers.reduce((sum, b) => sum + weightPerBroker(b), plan.loopbackSeconds * plan.loopbackRepeats + (options.profile === 'never' ? 0 : 60)));
  const note = (line) => progress.note(line);
  const pinning = configurePinning(options.pin);
  currentPinningForMethod = pinning;
  const tools = new JavaTools(ROOT, note);
  if (options.againstKafka) ensureKafkaJars(ROOT, note);

  const m = machine();
  const data = {
    meta: {
      date: new Date().toISOString(),
      mode: options.mode,
      command: `npm run bench --${options.mode === 'quick' ? ' --quick' : ''}${options.againstKafka ? ' --against kafka' : ''}${options.only.size < GROUPS.length ? ` --only ${[...options.only].join(',')}` : ''}`,
      machine: m,
      node: process.version,
      java: m.java,
      kafkaVersion: KAFKA_VERSION,
      spateCommit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
      spateDirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
      pinning: pinning ?? null,
      // A run of the replicated group alone keeps its own results (bench/results/replicated-<mode>/), beside the single-broker ones.
      // So does a run of the gateway group alone (bench/results/gateway-<mode>/): it must not replace a full run's report.
      results:
        options.only.size === 1 && options.only.has('replicated')
          ? `replicated-${options.mode}`
          : options.only.size === 1 && options.only.has('gateway')
            ? `gateway-${options.mode}`
            : options.mode,
    },
    method: METHOD(plan, options.mode),
    brokers: {},
  };

  const singleBroker = KAFKA_COMPARED_GROUPS.some((group) => options.only.has(group));
  if (singleBroker) {
    progress.step('loopback limit');
    data.loopback = await repeatedLoopback(plan);
  }
  progress.advance(plan.loopbackSeconds * plan.loopbackRepeats);

  for (const kind of brokers) {
    try {
      data.brokers[kind] = await benchBroker(kind, plan, options, tools, progress);
    } catch (error) {
      progress.note(`${kind} could not be benchmarked: ${error.message}`);
      data.brokers[kind] = { name: kind, startToReadyMs: [], results: [], errors: [`${kind} could not be benchmarked: ${error.message}`] };
    }
    if (options.only.has('replicated')) await benchReplicated(kind, plan, tools, progress, data.brokers[kind]);
  }

  const kafkaCache = join(resultsDir, `kafka-${data.meta.results}.json`);
  if (options.againstKafka) {
    writeFileSync(kafkaCache, JSON.stringify({ date: data.meta.date, only: [...options.only], broker: data.brokers.kafka }, null, 1));
  } else if (existsSync(kafkaCache) && [...options.only].some((group) => group !== 'gateway')) {
    const cached = JSON.parse(readFileSync(kafkaCache, 'utf8'));
    data.brokers.kafka = { ...cached.broker, fromCache: cached.date };
    progress.note(`using the Kafka figures of ${cached.date} from ${relative(ROOT, kafkaCache)} for the ratios`);
  }

  const { targets } = evaluateTargets(data.brokers.spate, data.brokers.kafka, data.loopback);
  const misses = targets.filter((t) => t.status === 'missed' && !/replicated|failover/.test(t.target)).map((t) => t.target);
  if (singleBroker && (options.profile === 'always' || (options.profile === 'on-miss' && misses.length > 0))) {
    data.brokers.spate.profiles = await profileSpate(plan, options.profile === 'always' ? ['produce', 'consume', 'e2e', 'start to ready'] : misses, tools, progress);
  }
  progress.finish();
  writeReports(data, resultsDir);
}

/** bench/results/<mode>/ keeps each mode's latest run (report.json is its data); latest.md is the last run's report. */
function writeReports(data, resultsDir) {
  const options = { mode: data.meta.mode, results: data.meta.results ?? data.meta.mode };
  const modeDir = join(resultsDir, options.results);
  const chartDir = join(modeDir, 'charts');
  rmSync(chartDir, { recursive: true, force: true });
  mkdirSync(chartDir, { recursive: true });
  const charts = buildCharts(data);
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(chartDir, name), svg);
  data.charts = Object.keys(charts);
  writeFileSync(join(modeDir, 'report.md'), markdownReport(data, 'charts/'));
  writeFileSync(join(modeDir, 'report.json'), JSON.stringify(data, null, 1));
  if (options.results === options.mode) {
    if (data.brokers.kafka) writeRatioHistory(data, resultsDir);
    writeFileSync(join(resultsDir, 'latest.md'), markdownReport(data, `${options.mode}/charts/`));
  }

  console.log(terminalReport(data));
  console.log(
    `\nreport: ${relative(process.cwd(), options.results === options.mode ? join(resultsDir, 'latest.md') : join(modeDir, 'report.md'))} (and ${relative(process.cwd(), modeDir)}/), charts in ${relative(process.cwd(), chartDir)}/`,
  );
  const failures = Object.values(data.brokers).flatMap((b) => [
    ...(b.results ?? []).filter((r) => !r.ok).map((r) => `${b.name}: ${r.name} [${r.client}]: ${r.error}`),
    ...(b.errors ?? []),
  ]);
  if (failures.length) console.log(`\n${failures.length} failure(s):\n${failures.map((f) => `  - ${f.split('\n')[0]}`).join('\n')}`);
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
