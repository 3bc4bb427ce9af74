// `spate start --brokers 3`: a one-process cluster from the command line, seen by kafkajs'
// admin client, stopped cleanly by SIGTERM.

import t from 'tap';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startProcessBroker } from '../helpers/process-broker.js';

t.test('spate start --brokers 3 serves a replicated cluster', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-cli-cluster-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cluster = await startProcessBroker(dir, ['--brokers', '3']);
  t.teardown(() => void cluster.child.kill('SIGKILL'));
  const endpoints = cluster.bootstrap.split(',');
  t.equal(endpoints.length, 3, 'the ready line lists three brokers');

  const kafka = new Kafka({ clientId: 'cli-cluster', brokers: [endpoints[0]!], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const described = await admin.describeCluster();
  t.same(described.brokers.map((broker) => broker.nodeId).sort(), [0, 1, 2]);
  t.equal(described.controller, 0);
  t.ok(await admin.createTopics({ topics: [{ topic: 'three-ways', numPartitions: 3, replicationFactor: 3 }] }));
  const metadata = await admin.fetchTopicMetadata({ topics: ['three-ways'] });
  const leaders = new Set<number>();
  for (const partition of metadata.topics[0]!.partitions) {
    t.equal(partition.replicas.length, 3);
    t.same([...partition.isr].sort(), [0, 1, 2]);
    leaders.add(partition.leader);
  }
  t.equal(leaders.size, 3, 'leaders are spread over the brokers');
  const refused = await admin
    .createTopics({ topics: [{ topic: 'too-many', replicationFactor: 4 }] })
    .catch((error: { errors?: Array<{ type: string; message: string }> }) => error);
  t.match((refused as { errors: Array<{ type: string; message: string }> }).errors[0], { type: 'INVALID_REPLICATION_FACTOR' }, 'a factor above the broker count is refused');
  await admin.disconnect();
  for (const id of [0, 1, 2]) t.ok(existsSync(join(dir, `broker-${id}`, 'three-ways-0')), `broker ${id} holds a replica`);

  cluster.child.kill('SIGTERM');
  t.match(await cluster.exited, { code: 0 });
});
