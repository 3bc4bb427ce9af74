#!/usr/bin/env node
// What the /metrics request hook costs a Produce request, measured where the machine's load
// cannot decide the answer: the broker's own Connection, Dispatcher and Produce handler in
// this process, fed frames through a socket stand-in (no network, no syscalls), one
// connection with the hook and one without, in blocks of 3,000 requests that alternate (40
// pairs), CPU time per request from process.cpuUsage(). Prints the median of each side and
// of the paired differences, for requests of 1 and of 10 records of 100 bytes.
//
// With --system, the same A/B end to end: the broker in this process (pinned to core 0) and
// the bench's generator as a child (core 1) sending small Produce requests (10 x 100 B, 4
// connections x 16 in flight) over loopback, the hook switched on or off for each 3 s run
// (new connections pick it up), runs alternating; the broker's CPU per record from
// process.cpuUsage(), paired per round.
//
//   node bench/micro/metrics-hook.mjs [--system [PAIRS]]   (after npm run build; pin it: taskset -c 0 ...)

import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { createTopic } from '../lib/admin.mjs';

const dist = new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);

class SocketStandIn extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  writableLength = 0;
  answered = 0;
  setNoDelay() {}
  setTimeout() {}
  pause() {}
  resume() {}
  isPaused() {
    return false;
  }
  cork() {}
  uncork() {}
  destroy() {}
  write(_chunk, callback) {
    this.answered++;
    if (typeof callback === 'function') callback();
    return true;
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function run({ pairs = 40, block = 3000 } = {}) {
  const [{ startBroker }, { Connection }, { encodeRequest }, { encodeRecordBatch }] = await Promise.all([
    load('index.js'),
    load('server/connection.js'),
    load('protocol/frame.js'),
    load('protocol/record-batch.js'),
  ]);
  const broker = await startBroker({ port: 0, temporary: true, logLevel: 'warn' });
  try {
    const state = broker['state'];
    const dispatcher = broker['gateway'].options.dispatcher;
    const observer = dispatcher.observer;
    const times = broker['requestTimes'];
    await createTopic(broker.bootstrap, 'hook', 1);
    const connection = (timed) => {
      const socket = new SocketStandIn();
      new Connection(
        1,
        socket,
        dispatcher,
        broker.logger,
        { maxFrameBytes: 1 << 20, maxInFlight: 1000, idleTimeoutMs: 0, ...(timed ? { requestTimes: times } : {}) },
        state.security.session(state.config.listeners[0].name),
      );
      return socket;
    };
    console.log('metrics hook: CPU per Produce request, hook on vs off (median of paired blocks)');
    for (const count of [1, 10]) {
      const records = encodeRecordBatch({ records: Array.from({ length: count }, () => ({ value: Buffer.alloc(100, 'x') })) });
      const frame = encodeRequest(0, 7, 1, 'hook', { transactionalId: null, acks: 1, timeoutMs: 30000, topicData: [{ name: 'hook', partitionData: [{ index: 0, records }] }] });
      const on = connection(true);
      const off = connection(false);
      const measure = async (socket, n) => {
        // The dispatcher's observer is shared: only the hooked connection's requests may see it.
        dispatcher.observer = socket === on ? observer : undefined;
        const start = socket.answered;
        const before = process.cpuUsage();
        for (let index = 0; index < n; index++) {
          socket.emit('data', Buffer.from(frame)); // one frame a read, as a client sending one at a time
          if (index % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
        }
        while (socket.answered - start < n) await new Promise((resolve) => setImmediate(resolve));
        const used = process.cpuUsage(before);
        return ((used.user + used.system) * 1000) / n;
      };
      for (let index = 0; index < 5; index++) {
        await measure(on, 2000);
        await measure(off, 2000);
      }
      const results = { on: [], off: [] };
      for (let pair = 0; pair < pairs; pair++) {
        for (const socket of pair % 2 ? [on, off] : [off, on]) results[socket === on ? 'on' : 'off'].push(await measure(socket, block));
      }
      dispatcher.observer = observer;
      const difference = median(results.on.map((value, index) => value - results.off[index]));
      console.log(
        `  ${count} record${count === 1 ? '' : 's'} of 100 B: off ${median(results.off).toFixed(0)} ns, on ${median(results.on).toFixed(0)} ns, ` +
          `paired difference ${difference.toFixed(0)} ns (${((100 * difference) / median(results.off)).toFixed(1)}% of this path, which leaves out the socket syscalls)`,
      );
    }
  } finally {
    await broker.stop();
  }
}

/** The end-to-end A/B (--system): one broker process, the hook toggled between generator runs. */
export async function runSystem(pairs = 20) {
  const { startBroker } = await load('index.js');
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const broker = await startBroker({ port: 0, temporary: true, logLevel: 'warn' });
  try {
    await createTopic(broker.bootstrap, 'hook', 1);
    const dispatcher = broker['gateway'].options.dispatcher;
    const observer = dispatcher.observer;
    const times = broker['requestTimes'];
    const set = (on) => {
      dispatcher.observer = on ? observer : undefined;
      broker['requestTimes'] = on ? times : undefined;
    };
    const generator = new URL('../load/generator.mjs', import.meta.url).pathname;
    const produce = (seconds) =>
      new Promise((resolve, reject) => {
        const args = [
          process.execPath,
          generator,
          'produce',
          '--bootstrap',
          broker.bootstrap,
          '--topic',
          'hook',
          '--partitions',
          '1',
          '--record-size',
          '100',
          '--batch-bytes',
          '1000',
        ];
        const child = spawn('taskset', ['-c', '1', ...args, '--connections', '4', '--inflight', '16', '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.on('error', reject);
        child.on('close', () =>
          resolve(
            JSON.parse(
              output
                .split('\n')
                .find((line) => line.startsWith('result '))
                .slice(7),
            ),
          ),
        );
      });
    await produce(3);
    const results = { on: [], off: [] };
    for (let pair = 0; pair < pairs; pair++) {
      for (const variant of pair % 2 ? ['on', 'off'] : ['off', 'on']) {
        set(variant === 'on');
        const before = process.cpuUsage();
        const result = await produce(3);
        const used = process.cpuUsage(before);
        results[variant].push((used.user + used.system) / result.records);
      }
    }
    set(true);
    const paired = results.on.map((value, index) => 100 * (value / results.off[index] - 1));
    console.log(
      `metrics hook end to end: broker CPU per record off ${median(results.off).toFixed(3)} µs, on ${median(results.on).toFixed(3)} µs; ` +
        `paired difference median ${median(paired).toFixed(1)}% (${Math.min(...paired).toFixed(1)} to ${Math.max(...paired).toFixed(1)}, ${pairs} pairs)`,
    );
  } finally {
    await broker.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === '--system') await runSystem(Number(process.argv[3] ?? 20));
  else await run();
}
