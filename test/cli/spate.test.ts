// The `spate` command: help, argument errors, invalid configuration refused at start with
// the key named, and the ready line.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/kcat.js';
import { startProcessBroker } from '../helpers/process-broker.js';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));
const spate = (...args: string[]) => run(process.execPath, [BIN, ...args]);

t.test('help and usage errors', async (t) => {
  const help = await spate('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /spate start/);
  const none = await spate();
  t.equal(none.code, 1);
  const unknown = await spate('frobnicate');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  const badPort = await spate('start', '--port', 'http');
  t.equal(badPort.code, 1);
  t.match(badPort.stderr, /--port/);
  const noNodeId = await spate('start', '--cluster', 'etcd://127.0.0.1:2379');
  t.equal(noNodeId.code, 1);
  t.match(noNodeId.stderr, /--cluster needs --node-id/);
  const badCluster = await spate('start', '--node-id', '1', '--cluster', 'zk://127.0.0.1:2181');
  t.equal(badCluster.code, 1);
  t.match(badCluster.stderr, /--cluster expects etcd:\/\/host:port/);
  const both = await spate('start', '--node-id', '1', '--cluster', 'etcd://127.0.0.1:2379', '--brokers', '3');
  t.match(both.stderr, /exclude each other/);
});

t.test('invalid configuration is refused at start, naming the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.properties');
  writeFileSync(file, 'num.partitions=-4\n');
  const result = await spate('start', '--config', file, '--data-dir', join(dir, 'data'), '--port', '0');
  t.equal(result.code, 1);
  t.match(result.stderr, /num\.partitions/);
  const override = await spate('start', '--override', 'log.segment.bytes=tiny', '--data-dir', join(dir, 'data'), '--port', '0');
  t.equal(override.code, 1);
  t.match(override.stderr, /log\.segment\.bytes/);
});

t.test('start logs one ready line and honours --config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.properties');
  writeFileSync(file, 'node.id=5\nunknown.thing=1\n');
  const broker = await startProcessBroker(join(dir, 'data'), ['--config', file]);
  t.teardown(() => void broker.child.kill('SIGKILL'));
  t.match(broker.output(), /Spate broker 5 ready on 127\.0\.0\.1:\d+/);
  t.match(broker.output(), /Unknown configuration 'unknown\.thing' ignored/);
  t.equal(broker.output().match(/ready on/g)!.length, 1);
});
