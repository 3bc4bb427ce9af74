// Durability: data survives a clean restart, and nothing acknowledged is lost when the
// broker process is killed with SIGKILL in the middle of a stream of writes.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startProcessBroker } from '../helpers/process-broker.js';
import { kcatConsume } from '../helpers/kcat.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-durability-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('SIGTERM shuts down cleanly and a restart serves the same data', async (t) => {
  const dataDir = tempDir(t);
  const first = await startProcessBroker(dataDir);
  const kafka = new Kafka({ clientId: 'restart', brokers: [first.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: 'kept', acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ key: `${i}`, value: `kept ${i}` })) });
  await producer.disconnect();
  first.child.kill('SIGTERM');
  const exit = await first.exited;
  t.equal(exit.code, 0, 'exit code 0 after SIGTERM');
  t.match(first.output(), /shutting down/);

  const second = await startProcessBroker(dataDir);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const records = await kcatConsume(second.bootstrap, 'kept');
  t.same(
    records.map((r) => r.value),
    Array.from({ length: 100 }, (_, i) => `kept ${i}`),
  );
});

t.test('kill -9 mid-write loses nothing that was acknowledged', async (t) => {
  const dataDir = tempDir(t);
  const first = await startProcessBroker(dataDir);
  const kafka = new Kafka({ clientId: 'crash', brokers: [first.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
  await producer.connect();

  const acknowledged: string[] = [];
  let stop = false;
  const writers = Array.from({ length: 4 }, async (_, writer) => {
    for (let i = 0; !stop && i < 100_000; i++) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ key: `w${writer}-${i}`, value: `w${writer}-${i}-${j}-${'p'.repeat(200)}` }));
      try {
        await producer.send({ topic: 'crash', acks: -1, messages });
        acknowledged.push(...messages.map((m) => m.value));
      } catch {
        return;
      }
    }
  });
  // Let writes flow, then kill the broker while requests are in flight.
  while (acknowledged.length < 3000) await new Promise((resolve) => setTimeout(resolve, 5));
  first.child.kill('SIGKILL');
  await first.exited;
  stop = true;
  await Promise.all(writers);
  await producer.disconnect().catch(() => undefined);

  const second = await startProcessBroker(dataDir);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const records = await kcatConsume(second.bootstrap, 'crash');
  const stored = new Set(records.map((r) => r.value));
  const missing = acknowledged.filter((value) => !stored.has(value));
  t.equal(missing.length, 0, `all ${acknowledged.length} acknowledged records survive (${records.length} stored)`);
  t.equal(stored.size, records.length, 'no record is stored twice');
});
