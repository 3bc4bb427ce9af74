// The bundled `spate` command (dist/bundle/, scripts/bundle.mjs) as a user runs it: the
// paths it resolves from import.meta.url still find the native addon and both worker
// threads' files, and the libraries it keeps out of the start (the codecs, piscina) are
// there when a batch needs them. Run `npm run build:ts` first: this test runs the bundle.

import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { spawn } from 'node:child_process';
import { kcatConsume, run, type KcatRecord } from '../helpers/kcat.js';
import { startProcessBroker } from '../helpers/process-broker.js';

const BUNDLE = fileURLToPath(new URL('../../dist/bundle/', import.meta.url));

function logBytes(dataDir: string, partitionDir: string): number {
  const dir = join(dataDir, partitionDir);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

t.test('the bundle carries its worker entries', async (t) => {
  for (const file of ['spate.js', 'worker.js', 'cleaner-worker.js']) t.ok(existsSync(join(BUNDLE, file)), `dist/bundle/${file}`);
});

t.test('loading the bundle loads no codec library, no piscina and no etcd client', async (t) => {
  // CommonJS packages land in require.cache when they load; the bundle itself is ESM.
  const script = [
    `await import(${JSON.stringify(join(BUNDLE, 'spate.js'))});`,
    "const { createRequire } = await import('node:module');",
    'console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));',
  ].join('\n');
  const result = await run(process.execPath, ['--input-type=module', '-e', script]);
  t.equal(result.code, 0, result.stderr);
  const loaded = JSON.parse(result.stdout) as string[];
  // etcd3 and its gRPC stack load only with --cluster etcd://..., the HTTP side only with a listener.
  for (const name of ['snappy', 'lz4-napi', 'zstd-wasm', 'piscina', 'etcd3', '@grpc', 'uWebSockets.js', 'prom-client', '@opentelemetry']) {
    t.notOk(
      loaded.some((file) => file.includes(`/${name}/`)),
      `${name} is not loaded at start`,
    );
  }
  t.ok(
    loaded.some((file) => file.endsWith('spate.node')),
    'the native addon is',
  );
});

t.test('the bundled broker recompresses through its worker pool and compacts through its cleaner thread', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-bundle-'));
  const dataDir = join(dir, 'data');
  const broker = await startProcessBroker(dataDir, ['--override', 'log.cleaner.backoff.ms=100']);
  t.teardown(async () => {
    broker.child.kill('SIGTERM');
    await broker.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const kafka = new Kafka({ clientId: 'spate-bundle', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      { topic: 'gzipped', numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'gzip' }] },
      {
        topic: 'compacted',
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.ms', value: '100' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      },
    ],
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  // Uncompressed 1 KiB values of one letter: a gzip topic stores them a fraction of their size
  // only if the compression worker (dist/bundle/worker.js, the codec libraries) ran.
  const value = 'a'.repeat(1024);
  await producer.send({ topic: 'gzipped', messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value })) });
  const read = await kcatConsume(broker.bootstrap, 'gzipped');
  t.equal(read.length, 200, 'every record reads back');
  t.ok(
    read.every((r) => r.value === value),
    'with its value',
  );
  const stored = logBytes(dataDir, 'gzipped-0');
  t.ok(stored > 0 && stored < (200 * 1024) / 4, `200 KiB of values stored gzip-compressed in ${stored} bytes`);

  // Compaction runs in dist/bundle/cleaner-worker.js (piscina, loaded on first use).
  for (let round = 0; round < 4; round++) {
    await producer.send({ topic: 'compacted', messages: Array.from({ length: 10 }, (_, i) => ({ key: `key-${i}`, value: `round ${round}` })) });
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await producer.send({ topic: 'compacted', messages: [{ key: 'end', value: 'roll' }] });
  let final: KcatRecord[] = [];
  for (let attempt = 0; attempt < 100 && final.length !== 11; attempt++) {
    final = await kcatConsume(broker.bootstrap, 'compacted');
    if (final.length !== 11) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.equal(final.length, 11, '41 records compacted to the last of each of 11 keys');
  t.ok(
    final.filter((r) => r.key !== 'end').every((r) => r.value === 'round 3'),
    'the last value of every key',
  );
  t.notMatch(broker.output(), /\bERROR\b/, 'the broker logged no error');
});

t.test('with an HTTP listener: ready for Kafka clients first, then /metrics, without @opentelemetry/api', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-bundle-http-'));
  // NODE_DEBUG=module: Node names every CommonJS file it loads on stderr.
  const child = spawn(process.execPath, [join(BUNDLE, '..', '..', 'bin', 'spate.js'), 'start', '--port', '0', '--http-port', '0', '--data-dir', join(dir, 'data')], {
    env: { ...process.env, NODE_DEBUG: 'module' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no HTTP line:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /HTTP on (http:\/\/\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  t.ok(output.indexOf('ready on') >= 0 && output.indexOf('ready on') < output.indexOf('HTTP on'), 'the ready line comes before the HTTP listener');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /^process_cpu_seconds_total \d/m, "prom-client's process metrics");
  t.match(metrics, /^nodejs_eventloop_utilization_ratio /m);
  t.match(metrics, /kafka_network_request_metrics_requests_total|spate_/, 'and the broker metrics');
  t.notMatch(output, /@opentelemetry/, 'prom-client ran without loading @opentelemetry/api');
  t.match(output, /uWebSockets\.js/, 'uWebSockets.js loaded (the check sees CommonJS loads)');
});
