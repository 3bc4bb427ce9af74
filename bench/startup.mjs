// `npm run bench:startup`: start to ready and idle RSS of `spate start`, beside `node -e 0`.
//
//   node bench/startup.mjs [--runs 10] [--settle-ms 2000] [--bin NAME=path ...] [--json FILE]
//   node bench/startup.mjs --partitions 10000 [--topics 100] [--runs 3] [--delete N] [--against kafka] [--json FILE]
//
// With --partitions: start-up with many partitions, the same data on Spate and (with
// --against kafka) Apache Kafka 4.3.1: SIGTERM, the start after it and the start after a
// kill -9, timed to the moment a client is served (bench/lib/workloads/startup-partitions.mjs).
//
// Each run spawns `node <bin> start --port 0 --data-dir <fresh tmp dir>`, reads the port from
// the broker's ready line, and counts start to ready from spawn to the first answered
// ApiVersions request (what a client sees, as the full bench does); idle RSS is VmRSS
// --settle-ms after ready. `node -e 0` (spawn to exit) is the floor no Node program can beat.
// With several --bin the variants run interleaved, run by run, so a busy machine slows them
// alike: that makes the comparison fair even where the absolute figures are not. "CPU to
// ready" is the broker's own CPU time (user + system, /proc, 10 ms ticks) when the first
// ApiVersions was answered: the figure a busy machine moves least.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { probeApiVersions } from './lib/kafka-wire.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    'settle-ms': { type: 'string', default: '2000' },
    bin: { type: 'string', multiple: true },
    json: { type: 'string' },
    partitions: { type: 'string' },
    topics: { type: 'string', default: '100' },
    delete: { type: 'string', default: '0' },
    against: { type: 'string' },
  },
});
if (values.partitions !== undefined) {
  await manyPartitions();
  process.exit(0);
}
const runs = Number(values.runs);

/** --partitions: the start-up of a broker holding many partitions, beside Kafka's. */
async function manyPartitions() {
  const { startupWithPartitions } = await import('./lib/workloads/startup-partitions.mjs');
  const { spateBroker } = await import('./lib/brokers/spate.mjs');
  const { freePort } = await import('./lib/ports.mjs');
  const topics = Number(values.topics);
  const perTopic = Math.ceil(Number(values.partitions) / topics);
  const partitionRuns = values.runs === '10' ? 3 : Number(values.runs);
  const root = mkdtempSync(join(os.tmpdir(), 'spate-startup-partitions-'));
  const note = (line) => process.stderr.write(`${line}\n`);
  // Both brokers may open as many files as the kernel lets root: Kafka keeps every
  // segment's files open (Spate raises its own soft limit to the hard one).
  const withFileLimit = (broker) => {
    const { command, args } = broker.options;
    broker.options = {
      ...broker.options,
      command: '/bin/sh',
      args: ['-c', 'ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', command, ...args],
      readyTimeoutMs: 600_000,
    };
    return broker;
  };
  const results = {};
  try {
    const brokers = [['spate', async (workDir) => spateBroker({ root: ROOT, workDir, port: await freePort() })]];
    if (values.against === 'kafka') {
      const { kafkaBroker } = await import('./lib/brokers/kafka.mjs');
      brokers.push(['kafka', async (workDir) => kafkaBroker({ root: ROOT, workDir, port: await freePort(), controllerPort: await freePort() })]);
    }
    for (const [name, make] of brokers) {
      const workDir = join(root, name);
      mkdirSync(workDir, { recursive: true });
      const broker = withFileLimit(await make(workDir));
      try {
        results[name] = await startupWithPartitions(broker, { topics, perTopic, runs: partitionRuns, deleteTopics: Number(values.delete), note });
      } finally {
        await broker.stop(10_000).catch(() => undefined);
        rmSync(workDir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const loadavg = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
  const range = (samples) => `${Math.round(median(samples))} ms (${Math.round(Math.min(...samples))}-${Math.round(Math.max(...samples))})`;
  const report = { date: new Date().toISOString(), node: process.version, topics, perTopic, runs: partitionRuns, loadAverage: loadavg, brokers: results };
  console.log(`${topics * perTopic} partitions (${topics} topics x ${perTopic}), median of ${partitionRuns} (min-max), load average at the end ${loadavg}:`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(6)} create ${Math.round(r.createMs)} ms, SIGTERM ${range(r.stops)}, start after SIGTERM ${range(r.cleanStarts)}, start after kill -9 ${range(r.crashStarts)}` +
        (r.deleteMs !== undefined ? `, DeleteTopics of ${values.delete} ${Math.round(r.deleteMs)} ms` : ''),
    );
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 1));
}
const settleMs = Number(values['settle-ms']);
const variants = (values.bin ?? [`spate=${join(ROOT, 'bin', 'spate.js')}`]).map((spec) => {
  const at = spec.indexOf('=');
  return at > 0 ? { name: spec.slice(0, at), bin: resolve(spec.slice(at + 1)) } : { name: spec, bin: resolve(spec) };
});

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

/** CPU time (user + system) a process has used, in ms: unlike wall time, barely moved by a busy machine. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function nodeNoop() {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', fail);
    child.once('exit', () => done(performance.now() - started));
  });
}

/** One cold start of a fresh broker: { readyMs, selfMs, rssMiB }. */
async function coldStart(bin) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'spate-startup-'));
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((done) => child.once('exit', done));
  let output = '';
  try {
    const port = await new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ready line after 30 s:\n${output}`)), 30_000);
      const onData = (chunk) => {
        output += chunk;
        const match = /ready on [^:\s]+:(\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          done(Number(match[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => fail(new Error(`exited (${code}) before ready:\n${output}`)));
    });
    let answered = false;
    for (let attempt = 0; attempt < 100 && !answered; attempt++) answered = await probeApiVersions('127.0.0.1', port, 1000);
    if (!answered) throw new Error('ApiVersions never answered');
    const readyMs = performance.now() - started;
    const readyCpuMs = cpuMs(child.pid);
    const selfMs = Number(/started in (\d+) ms/.exec(output)?.[1] ?? Number.NaN);
    await sleep(settleMs);
    return { readyMs, readyCpuMs, selfMs, rssMiB: rssMiB(child.pid) };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), min: sorted[0], max: sorted[sorted.length - 1], samples };
}

const noop = [];
const perVariant = new Map(variants.map((v) => [v.name, { readyMs: [], readyCpuMs: [], selfMs: [], rssMiB: [] }]));
for (let run = 0; run < runs; run++) {
  noop.push(await nodeNoop());
  for (const variant of variants) {
    const sample = await coldStart(variant.bin);
    const into = perVariant.get(variant.name);
    for (const key of Object.keys(into)) into[key].push(sample[key]);
  }
  process.stderr.write(`run ${run + 1}/${runs}\r`);
}
process.stderr.write('\n');

const loadavg = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const report = {
  date: new Date().toISOString(),
  node: process.version,
  runs,
  settleMs,
  loadAverage: loadavg,
  nodeNoopMs: stats(noop),
  variants: Object.fromEntries(
    [...perVariant].map(([name, s]) => [name, { readyMs: stats(s.readyMs), readyCpuMs: stats(s.readyCpuMs), selfReportedMs: stats(s.selfMs), idleRssMiB: stats(s.rssMiB) }]),
  ),
};
const f = (x) => x.toFixed(1);
console.log(`median of ${runs} runs (min-max), load average ${loadavg}:`);
console.log(`  node -e 0                ${f(report.nodeNoopMs.median)} ms (${f(report.nodeNoopMs.min)}-${f(report.nodeNoopMs.max)})`);
for (const [name, v] of Object.entries(report.variants)) {
  console.log(
    `  ${name.padEnd(24)} start to ready ${f(v.readyMs.median)} ms (${f(v.readyMs.min)}-${f(v.readyMs.max)}), CPU to ready ${f(v.readyCpuMs.median)} ms, self-reported ${f(v.selfReportedMs.median)} ms, idle RSS ${f(v.idleRssMiB.median)} MiB (${f(v.idleRssMiB.min)}-${f(v.idleRssMiB.max)})`,
  );
}
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 1));
