#!/usr/bin/env node
// What a broker spends per GiB moved, measured so that it does not depend on how busy the
// machine is: broker CPU seconds (user and system apart, and the main thread's alone: the
// part no other core can take), minor page faults and context switches of the main
// thread, all read from /proc/<pid> over each phase and divided by the record bytes moved.
// The broker runs pinned to CPU 0 and the bench's generator (generator.mjs) to CPU 1.
//
//   node bench/load/cost.mjs [--bin name=path/to/bin/spate.js ...] [--rounds 3]
//        [--produce-seconds 6] [--fetch-seconds 6] [--record-size 1024] [--repeat-fetch 1]
//        [--acks 1] [--batch-bytes 131072] [--strace] [--trace-gc]
//
// Several --bin are run round by round, each round in a different order (A B, B A, ...),
// so a busy moment of the machine hits every build alike. Each run: a fresh broker and
// data directory, a topic of 8 partitions, produce for --produce-seconds (acks=1, 4
// connections x 4 in flight), then fetch everything from offset 0 (--repeat-fetch times;
// the second pass reads pages the first already touched; 0: produce only). --acks and
// --batch-bytes go to the generator's produce. --trace-gc also counts scavenges per GiB. --strace counts the broker's
// syscalls during the fetch phase (it slows the broker: only the counts mean something).
// Prints one line per phase and run, then the median per build.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic } from '../lib/admin.mjs';
import { probeApiVersions } from '../lib/kafka-wire.mjs';
import { freePort } from '../lib/ports.mjs';
import { kafkaBroker } from '../lib/brokers/kafka.mjs';
import { configurePinning } from '../lib/cpu-pin.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    bin: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '3' },
    'produce-seconds': { type: 'string', default: '6' },
    'fetch-seconds': { type: 'string', default: '6' },
    'record-size': { type: 'string', default: '1024' },
    'repeat-fetch': { type: 'string', default: '1' },
    acks: { type: 'string', default: '1' },
    'batch-bytes': { type: 'string', default: String(128 * 1024) },
    strace: { type: 'boolean', default: false },
    perf: { type: 'string' },
    'trace-gc': { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const builds = (values.bin.length > 0 ? values.bin : [`current=${join(root, 'bin', 'spate.js')}`]).map((spec) => {
  const at = spec.indexOf('=');
  return at < 0 ? { name: spec, bin: spec } : { name: spec.slice(0, at), bin: spec.slice(at + 1) };
});
const GIB = 1024 ** 3;
const TICKS = 100;

/** CPU seconds of the process's main thread (the event loop; its tid is the pid). */
function mainThreadSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return Number.NaN;
  }
}

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return {
    minflt: Number(f[7]),
    utime: Number(f[11]) / TICKS,
    stime: Number(f[12]) / TICKS,
    main: mainThreadSeconds(pid),
    voluntary: field('voluntary_ctxt_switches'),
    involuntary: field('nonvoluntary_ctxt_switches'),
  };
}

function diff(a, b) {
  const out = {};
  for (const key of Object.keys(a)) out[key] = b[key] - a[key];
  return out;
}

function runGenerator(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', process.execPath, join(root, 'bench', 'load', 'generator.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', () => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('result '));
      if (line === undefined) reject(new Error(`generator gave no result: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

function straceCounts(file) {
  const counts = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
      if (m) counts[m[2]] = Number(m[1]);
    }
  } catch {
    // no strace output
  }
  return counts;
}

/** `--bin kafka`: Apache Kafka as the bench runs it (bench/lib/brokers/kafka.mjs), on CPU 0. */
async function startKafka(dir, port) {
  const broker = kafkaBroker({ root, workDir: dir, port, controllerPort: await freePort() });
  await broker.start();
  return { pid: broker.pid, log: join(dir, 'broker.log'), stop: () => broker.stop(10_000) };
}

async function startSpate(build, dir, port) {
  const log = openSync(join(dir, 'broker.log'), 'a');
  const nodeArgs = ['--initial-heap-size=64', ...values['node-arg']];
  if (values['trace-gc']) nodeArgs.push('--trace-gc');
  if (values.perf !== undefined) nodeArgs.push('--perf-basic-prof-only-functions');
  const broker = spawn(
    'taskset',
    ['-c', '0', process.execPath, ...nodeArgs, build.bin, 'start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--override', 'http.listeners='],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  for (let i = 0; i < 600 && !(await probeApiVersions('127.0.0.1', port, 1000)); i++) await sleep(10);
  return {
    pid: broker.pid,
    log: join(dir, 'broker.log'),
    // SIGTERM: a clean exit writes --cpu-prof's profile; SIGKILL if it takes too long.
    stop: async () => {
      broker.kill('SIGTERM');
      const timer = setTimeout(() => broker.kill('SIGKILL'), 10_000);
      await new Promise((resolve) => broker.once('close', resolve));
      clearTimeout(timer);
    },
  };
}

async function runOnce(build) {
  const dir = mkdtempSync(join(tmpdir(), 'spate-cost-'));
  const port = await freePort();
  const broker = build.bin === 'kafka' ? await startKafka(dir, port) : await startSpate(build, dir, port);
  const result = { build: build.name };
  try {
    const bootstrap = `127.0.0.1:${port}`;
    await createTopic(bootstrap, 'cost', 8);
    const common = ['--bootstrap', bootstrap, '--topic', 'cost', '--partitions', '8', '--connections', '4', '--record-size', values['record-size']];
    const gcCount = () => (readFileSync(broker.log, 'utf8').match(/Mark-Compact/g) ?? []).length;
    const scavengeCount = () => (readFileSync(broker.log, 'utf8').match(/Scavenge/g) ?? []).length;
    const perf = async (phase, run) => {
      if (values.perf === undefined) return run();
      const recorder = spawn('perf', ['record', '-g', '-F', '999', '-o', `${values.perf}-${build.name}-${phase}.data`, '-p', String(broker.pid)], { stdio: 'ignore' });
      await sleep(300);
      try {
        return await run();
      } finally {
        recorder.kill('SIGINT');
        await new Promise((resolve) => recorder.once('close', resolve));
      }
    };
    let before = procStat(broker.pid);
    let gcBefore = gcCount();
    let scavengesBefore = scavengeCount();
    const produced = await perf('produce', () =>
      runGenerator(['produce', ...common, '--inflight', '4', '--acks', values.acks, '--batch-bytes', values['batch-bytes'], '--seconds', values['produce-seconds']]),
    );
    let after = procStat(broker.pid);
    result.produce = { ...diff(before, after), bytes: produced.bytes, mbPerSec: produced.mbPerSec, mc: gcCount() - gcBefore, scavenges: scavengeCount() - scavengesBefore };
    const perPartition = Math.floor(produced.records / 8);
    result.fetch = [];
    for (let r = 0; r < Number(values['repeat-fetch']); r++) {
      let tracer;
      const traceFile = join(dir, `strace-${r}.txt`);
      if (values.strace) {
        tracer = spawn('strace', ['-c', '-f', '-o', traceFile, '-p', String(broker.pid)], { stdio: 'ignore' });
        await sleep(300);
      }
      before = procStat(broker.pid);
      gcBefore = gcCount();
      scavengesBefore = scavengeCount();
      const fetched = await perf(`fetch${r + 1}`, () => runGenerator(['fetch', ...common, '--until', String(perPartition), '--seconds', values['fetch-seconds']]));
      after = procStat(broker.pid);
      const phase = {
        ...diff(before, after),
        bytes: fetched.bytes,
        mbPerSec: fetched.mbPerSec,
        requests: fetched.requests,
        mc: gcCount() - gcBefore,
        scavenges: scavengeCount() - scavengesBefore,
      };
      if (tracer !== undefined) {
        tracer.kill('SIGINT');
        await new Promise((resolve) => tracer.once('close', resolve));
        phase.syscalls = straceCounts(traceFile);
      }
      result.fetch.push(phase);
    }
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

function perGib(phase) {
  const gib = phase.bytes / GIB;
  return {
    cpu: (phase.utime + phase.stime) / gib,
    user: phase.utime / gib,
    sys: phase.stime / gib,
    main: phase.main / gib,
    faults: phase.minflt / gib,
    switches: (phase.voluntary + phase.involuntary) / gib,
  };
}

function describe(label, phase) {
  const g = perGib(phase);
  const sys = phase.syscalls
    ? ' syscalls/GiB ' +
      Object.entries(phase.syscalls)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([k, v]) => `${k}=${Math.round(v / (phase.bytes / GIB))}`)
        .join(' ')
    : '';
  return (
    `${label.padEnd(22)} ${(phase.bytes / GIB).toFixed(2)} GiB ${phase.mbPerSec.toFixed(0).padStart(5)} MB/s  cpu ${g.cpu.toFixed(3)} s/GiB (user ${g.user.toFixed(3)} sys ${g.sys.toFixed(3)}; main thread ${g.main.toFixed(3)})` +
    `  faults ${Math.round(g.faults)}/GiB  switches ${Math.round(g.switches)}/GiB${phase.requests ? `  requests ${phase.requests}` : ''}  MC ${phase.mc}${values['trace-gc'] ? `  scavenges ${Math.round(phase.scavenges / (phase.bytes / GIB))}/GiB` : ''}${sys}`
  );
}

configurePinning(true);
const all = [];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load ${load()}`);
for (let round = 0; round < Number(values.rounds); round++) {
  const order = round % 2 === 0 ? builds : [...builds].reverse();
  for (const build of order) {
    const result = await runOnce(build);
    all.push(result);
    console.log(describe(`${build.name} produce`, result.produce));
    result.fetch.forEach((phase, i) => console.log(describe(`${build.name} fetch#${i + 1}`, phase)));
  }
  console.log(`load ${load()}`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('\nmedian broker CPU s/GiB (user+sys):');
for (const build of builds) {
  const mine = all.filter((r) => r.build === build.name);
  const produce = median(mine.map((r) => perGib(r.produce).cpu));
  const fetches = mine[0].fetch.map((_, i) => median(mine.map((r) => perGib(r.fetch[i]).cpu)).toFixed(3));
  const scavenges = values['trace-gc'] ? `  produce scavenges/GiB ${Math.round(median(mine.map((r) => r.produce.scavenges / (r.produce.bytes / GIB))))}` : '';
  console.log(`  ${build.name.padEnd(12)} produce ${produce.toFixed(3)}${fetches.length > 0 ? `  fetch ${fetches.join(' / ')}` : ''}${scavenges}`);
}
spawnSync('true');
