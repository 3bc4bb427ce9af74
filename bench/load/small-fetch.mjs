#!/usr/bin/env node
// What one small Fetch costs the broker, measured so that machine load barely moves it:
// an in-process broker (a build's dist/) with 8 partitions of 10 records of 1 KiB each, and
// a client process that fetches all 8 from offset 0 again and again (Fetch v11, one request
// in flight), as a consumer near the log end does. Per fetch: the broker process's
// write-like and read-like syscalls (/proc/self/io), its CPU time, and its GCs by kind.
//
//   node bench/load/small-fetch.mjs [--dist name=path/to/dist ...] [--fetches 20000] [--rounds 2]
//
// Run it pinned (taskset -c 0) to see what a one-core broker pays: thread switches to the
// libuv pool then cost more than the reads. Several --dist run round by round, alternating.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (process.argv[2] === 'client') {
  // The client: Fetch v11 of partitions 0-7 from offset 0, `count` times, one at a time.
  const [port, count] = [Number(process.argv[3]), Number(process.argv[4])];
  const topic = Buffer.from('small');
  const clientId = Buffer.from('small-fetch');
  const frame = (correlationId) => {
    const body = 4 * 4 + 1 + 4 + 4 + 4 + 2 + topic.length + 4 + 8 * (4 + 4 + 8 + 8 + 4) + 4 + 2;
    const f = Buffer.alloc(4 + 10 + clientId.length + body);
    let at = f.writeInt32BE(f.length - 4, 0);
    at = f.writeInt16BE(1, at);
    at = f.writeInt16BE(11, at);
    at = f.writeInt32BE(correlationId, at);
    at = f.writeInt16BE(clientId.length, at);
    at += clientId.copy(f, at);
    for (const value of [-1, 0, 0, 1 << 20]) at = f.writeInt32BE(value, at); // replica, max wait, min bytes, max bytes
    at = f.writeInt8(0, at);
    at = f.writeInt32BE(0, at); // no session
    at = f.writeInt32BE(-1, at);
    at = f.writeInt32BE(1, at);
    at = f.writeInt16BE(topic.length, at);
    at += topic.copy(f, at);
    at = f.writeInt32BE(8, at);
    for (let p = 0; p < 8; p++) {
      at = f.writeInt32BE(p, at);
      at = f.writeInt32BE(-1, at);
      at = f.writeBigInt64BE(0n, at);
      at = f.writeBigInt64BE(-1n, at);
      at = f.writeInt32BE(1 << 20, at);
    }
    at = f.writeInt32BE(0, at);
    f.writeInt16BE(0, at);
    return f;
  };
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let pending = Buffer.alloc(0);
  let done = 0;
  socket.on('connect', () => socket.write(frame(0)));
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      pending = pending.subarray(4 + pending.readInt32BE(0));
      if (++done >= count) return socket.end();
      socket.write(frame(done));
    }
  });
} else if (process.argv[2] === 'run') {
  // One build in a process of its own, so GC counts and CPU are that build's alone.
  const [dist, name, fetchesText] = process.argv.slice(3);
  const fetches = Number(fetchesText);
  const { Kafka, logLevel } = await import('kafkajs');
  const gcs = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcs[entry.detail?.kind ?? entry.kind] = (gcs[entry.detail?.kind ?? entry.kind] ?? 0) + 1;
  }).observe({ entryTypes: ['gc'] });
  const io = () =>
    Object.fromEntries(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(': ').map((v, i) => (i ? Number(v) : v))),
    );
  const { startBroker } = await import(pathToFileURL(join(dist, 'index.js')).href);
  const broker = await startBroker({ host: '127.0.0.1', port: 0, temporary: true, logLevel: 'warn', config: { 'http.listeners': '' } });
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'small', numPartitions: 8 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let p = 0; p < 8; p++) await producer.send({ topic: 'small', messages: Array.from({ length: 10 }, () => ({ partition: p, value: Buffer.alloc(1024, p) })) });
  await producer.disconnect();
  for (const key of Object.keys(gcs)) delete gcs[key];
  const before = io();
  const cpu = process.cpuUsage();
  const client = spawn(process.execPath, [fileURLToPath(import.meta.url), 'client', String(broker.port), String(fetches)], { stdio: 'inherit' });
  await new Promise((resolve) => client.on('close', resolve));
  const used = process.cpuUsage(cpu);
  const after = io();
  await broker.stop();
  console.log(
    `${name.padEnd(10)} per fetch: broker CPU ${((used.user + used.system) / fetches).toFixed(1)} us, write-like syscalls ${((after.syscw - before.syscw) / fetches).toFixed(2)}, ` +
      `read-like ${((after.syscr - before.syscr) / fetches).toFixed(2)}; scavenges ${gcs[1] ?? 0}, mark-compacts ${gcs[4] ?? 0} in ${fetches}`,
  );
} else {
  const { values } = parseArgs({
    options: { dist: { type: 'string', multiple: true, default: [] }, fetches: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '2' } },
  });
  const builds = (values.dist.length > 0 ? values.dist : [`current=${join(root, 'dist')}`]).map((spec) => {
    const at = spec.indexOf('=');
    return at < 0 ? { name: spec, dist: spec } : { name: spec.slice(0, at), dist: spec.slice(at + 1) };
  });
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const build of round % 2 ? [...builds].reverse() : builds) {
      const run = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'run', build.dist, build.name, values.fetches], { stdio: 'inherit' });
      await new Promise((resolve) => run.on('close', resolve));
    }
  }
}
