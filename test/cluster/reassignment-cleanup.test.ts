// A broker that a completed reassignment removed from a partition's replicas deletes its
// local copy (Kafka's StopReplica with delete): the fetcher stops, the directory is renamed
// `-delete` and removed in the background, an empty log takes its place. A broker that was
// stopped while the move completed deletes its stray copy when it starts again. The remaining
// replicas keep every record.

import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { type SpateCluster } from '../../src/index.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';

async function setup(t: Test, topic: string, replicas: number[]): Promise<{ cluster: SpateCluster; admin: Admin; kafka: Kafka }> {
  const cluster = await startTestCluster(t);
  const kafka = new Kafka({ clientId: 'reassign-cleanup', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < 20; i++) await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ value: `r${i * 50 + j}` })) });
  await producer.disconnect();
  return { cluster, admin, kafka };
}

/** Directories in a broker's data directory for partition 0 of `topic`, the pending deletions included. */
function partitionDirs(cluster: SpateCluster, nodeId: number, topic: string): string[] {
  const dataDir = cluster.broker(nodeId).config.dataDir;
  return readdirSync(dataDir).filter((name) => name.startsWith(`${topic}-0`));
}

t.test('the replica removed by a reassignment deletes its local data', async (t) => {
  const { cluster, admin } = await setup(t, 'moving', [0, 1]);
  const dataDir = cluster.broker(0).config.dataDir;
  await waitFor('broker 0 and 1 hold the 1000 records', () => cluster.brokers.slice(0, 2).every((broker) => broker.replicas.partition('moving', 0)!.log.logEndOffset === 1000n));
  const before = cluster.broker(0).replicas.partition('moving', 0)!.log;
  t.ok(before.sizeInBytes > 0, `broker 0 holds ${before.sizeInBytes} bytes of moving-0`);

  await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] });
  await waitFor('the reassignment to complete', () => cluster.store.partitionState('moving', 0)!.replicas.join() === '2,1');
  await waitFor('broker 0 to replace its copy', () => cluster.broker(0).replicas.partition('moving', 0)!.log !== before);
  t.ok(before.isDeleted, "broker 0's old log is closed as deleted");
  const after = cluster.broker(0).replicas.partition('moving', 0)!.log;
  t.equal(after.logEndOffset, 0n, 'an empty log takes its place');
  t.equal(after.sizeInBytes, 0);
  await waitFor('the renamed directory to be removed in the background', () => partitionDirs(cluster, 0, 'moving').every((name) => !name.endsWith('-delete')));
  t.same(partitionDirs(cluster, 0, 'moving'), ['moving-0'], `only the empty moving-0 is left in ${dataDir}`);

  // The new replica set keeps everything; broker 0 fetches nothing more.
  for (const nodeId of [1, 2]) {
    await waitFor(`broker ${nodeId} at 1000`, () => cluster.broker(nodeId).replicas.partition('moving', 0)!.log.logEndOffset === 1000n);
  }
  t.pass('brokers 2 and 1 hold the 1000 records');
  const kafka = new Kafka({ clientId: 'after-move', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: 'moving', acks: -1, messages: [{ value: 'after' }] });
  await producer.disconnect();
  await waitFor('broker 1 at 1001', () => cluster.broker(1).replicas.partition('moving', 0)!.log.logEndOffset === 1001n);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(cluster.broker(0).replicas.partition('moving', 0)!.log.logEndOffset, 0n, 'broker 0 does not follow the partition any more');
});

t.test('a broker stopped while the move completed deletes its stray copy when it starts', async (t) => {
  const { cluster } = await setup(t, 'stray', [1, 0]);
  await waitFor('broker 0 holds the 1000 records', () => cluster.broker(0).replicas.partition('stray', 0)!.log.logEndOffset === 1000n);
  await cluster.stopBroker(0);
  // A client that never met broker 0 (the controller until it stopped).
  const admin = new Kafka({ clientId: 'reassign-stray', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.alterPartitionReassignments({ topics: [{ topic: 'stray', partitionAssignment: [{ partition: 0, replicas: [1, 2] }] }] });
  await waitFor('the reassignment to complete without broker 0', () => cluster.store.partitionState('stray', 0)!.replicas.join() === '1,2');
  const broker = await cluster.startBroker(0);
  t.equal(broker.replicas.partition('stray', 0)!.log.logEndOffset, 0n, 'the restarted broker opened an empty log in place of its stray copy');
  await waitFor('the stray directory to be removed', () => partitionDirs(cluster, 0, 'stray').every((name) => !name.endsWith('-delete')));
  t.same(partitionDirs(cluster, 0, 'stray'), ['stray-0']);
  t.equal(cluster.broker(2).replicas.partition('stray', 0)!.log.logEndOffset, 1000n, 'the new replica holds every record');
});
