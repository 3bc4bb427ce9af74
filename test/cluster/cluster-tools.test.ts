// Kafka's own tools (kafka-tools 4.3.1) against a 3-broker one-process cluster:
// kafka-topics --describe over DescribeTopicPartitions (paged), kafka-reassign-partitions
// --execute / --verify moving a partition while an idempotent producer writes,
// kafka-leader-election (preferred and unclean) and kafka-metadata-quorum describe.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { describeTopicPartitionsHandler } from '../../src/broker/75-describe-topic-partitions.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatConsume } from '../helpers/kcat.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { type SpateCluster } from '../../src/index.js';

async function createTopic(cluster: SpateCluster, topic: string, replicaAssignment: number[][]): Promise<void> {
  const kafka = new Kafka({ clientId: 'tools-setup', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, replicaAssignment: replicaAssignment.map((replicas, partition) => ({ partition, replicas })) }] });
  } finally {
    await admin.disconnect();
  }
}

/** "Partition: N Leader: L Replicas: a,b Isr: c,d" of each partition line of kafka-topics --describe. */
function describedPartitions(stdout: string): Map<number, { leader: number; replicas: string; isr: string }> {
  const result = new Map<number, { leader: number; replicas: string; isr: string }>();
  for (const match of stdout.matchAll(/Partition: (\d+)\s+Leader: (-?\d+|none)\s+Replicas: ([\d,]*)\s+Isr: ([\d,]*)/g)) {
    result.set(Number(match[1]), { leader: match[2] === 'none' ? -1 : Number(match[2]), replicas: match[3]!, isr: match[4]! });
  }
  return result;
}

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('kafka-topics --describe pages through DescribeTopicPartitions; the ISR shrinks when a broker stops', async (t) => {
    const cluster = await startTestCluster(t);
    await createTopic(cluster, 'described', [
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
    ]);
    const handler = describeTopicPartitionsHandler as { handle: (...args: any[]) => unknown };
    const original = handler.handle;
    let calls = 0;
    handler.handle = (...args: any[]) => {
      calls++;
      return original.apply(handler, args);
    };
    t.teardown(() => void (handler.handle = original));

    const describe = () => runKafkaTool(TOOLS.topics, ['--bootstrap-server', cluster.bootstrap, '--describe', '--topic', 'described', '--partition-size-limit-per-response', '2']);
    const before = await describe();
    t.equal(before.code, 0, before.stderr);
    t.match(before.stdout, /PartitionCount: 3\s+ReplicationFactor: 3/);
    t.ok(calls >= 2, `the admin client asked DescribeTopicPartitions ${calls} times (two pages of at most 2 partitions)`);
    const partitions = describedPartitions(before.stdout);
    t.same([...partitions.keys()].sort(), [0, 1, 2], 'every partition is described');
    for (const [index, described] of partitions) {
      const state = cluster.store.partitionState('described', index)!;
      t.same(described, { leader: state.leader, replicas: state.replicas.join(','), isr: state.isr.join(',') }, `partition ${index} as the cluster has it`);
    }
    t.same(partitions.get(1), { leader: 1, replicas: '1,2,0', isr: '1,2,0' });

    await cluster.stopBroker(1);
    const after = describedPartitions((await describe()).stdout);
    t.same(after.get(1), { leader: 2, replicas: '1,2,0', isr: '2,0' }, 'broker 1 left the ISR and broker 2 leads its partition');
    t.same(after.get(0)?.isr, '0,2', 'broker 1 left the ISR of every partition');
  });

  t.test('kafka-reassign-partitions --execute / --verify moves a partition under load without losing an acknowledged record', async (t) => {
    const cluster = await startTestCluster(t);
    await createTopic(cluster, 'moving', [[0, 1]]);
    const kafka = new Kafka({ clientId: 'moving-producer', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const acked: string[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          await producer.send({ topic: 'moving', acks: -1, messages: [{ value: `m${i}` }] });
          acked.push(`m${i}`);
        } catch (error) {
          t.comment(`send ${i} failed: ${(error as Error).message}`);
        }
      }
    })();
    await waitFor('the producer to get going', () => acked.length >= 50);

    const dir = mkdtempSync(join(tmpdir(), 'spate-reassign-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic: 'moving', partition: 0, replicas: [2, 1] }] }));
    const executed = await runKafkaTool(TOOLS.reassignPartitions, ['--bootstrap-server', cluster.bootstrap, '--reassignment-json-file', plan, '--execute']);
    t.equal(executed.code, 0, executed.stderr);
    t.match(executed.stdout, /Current partition replica assignment[\s\S]*"replicas":\[0,1\]/, 'it saved the current assignment for a rollback');
    t.match(executed.stdout, /Successfully started partition reassignment/);

    let verified = '';
    for (let attempt = 0; attempt < 20 && !/moving-0 is completed/.test(verified); attempt++) {
      const result = await runKafkaTool(TOOLS.reassignPartitions, ['--bootstrap-server', cluster.bootstrap, '--reassignment-json-file', plan, '--verify']);
      t.equal(result.code, 0, result.stderr);
      verified = result.stdout;
    }
    t.match(verified, /Reassignment of partition moving-0 is completed/);
    const state = cluster.store.partitionState('moving', 0)!;
    t.same(state.replicas, [2, 1], 'the replica set is the target');
    t.notOk(state.isr.includes(0), 'the removed replica left the ISR');
    t.equal(state.leader, 2, 'leadership moved to the first in-sync target replica');
    t.ok(state.leaderEpoch > 0, 'with the leader epoch bumped');

    const movedAt = acked.length;
    await waitFor('more records acknowledged by the new leader', () => acked.length >= movedAt + 50, 30_000);
    stop = true;
    await writing;
    const read = (await kcatConsume(cluster.bootstrap, 'moving')).map((record) => record.value);
    const position = new Set(read);
    t.same(
      acked.filter((value) => !position.has(value)),
      [],
      `0 of ${acked.length} acknowledged records lost`,
    );
    t.equal(position.size, read.length, 'no duplicates');
    const list = await runKafkaTool(TOOLS.reassignPartitions, ['--bootstrap-server', cluster.bootstrap, '--list']);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /No partition reassignments found/);
  });

  t.test('kafka-leader-election: preferred moves leadership back, unclean revives an offline partition', async (t) => {
    const cluster = await startTestCluster(t);
    await createTopic(cluster, 'elect', [[1, 2, 0]]);
    await createTopic(cluster, 'unclean', [[1, 2]]);
    const elect = (type: string, topic: string) =>
      runKafkaTool(TOOLS.leaderElection, ['--bootstrap-server', cluster.bootstrap, '--election-type', type, '--topic', topic, '--partition', '0']);

    await cluster.stopBroker(1);
    t.equal(cluster.leaderOf('elect', 0), 2);
    await cluster.startBroker(1);
    await waitFor('broker 1 back in the ISR of elect-0', () => cluster.store.partitionState('elect', 0)!.isr.includes(1));
    t.equal(cluster.leaderOf('elect', 0), 2, 'the returning preferred replica does not lead by itself');
    const epoch = cluster.store.partitionState('elect', 0)!.leaderEpoch;
    const preferred = await elect('preferred', 'elect');
    t.equal(preferred.code, 0, preferred.stderr);
    t.match(preferred.stdout, /Successfully completed leader election \(PREFERRED\) for partitions elect-0/);
    t.equal(cluster.leaderOf('elect', 0), 1, 'the first replica leads again');
    t.equal(cluster.store.partitionState('elect', 0)!.leaderEpoch, epoch + 1, 'at the next leader epoch');
    const again = await elect('preferred', 'elect');
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /Valid replica already elected for partitions elect-0/);

    // unclean-0 loses its whole ISR: broker 2 leaves first, then broker 1, the last ISR member.
    await cluster.stopBroker(2);
    await cluster.stopBroker(1);
    t.equal(cluster.leaderOf('unclean', 0), -1, 'offline');
    await cluster.startBroker(2);
    t.equal(cluster.leaderOf('unclean', 0), -1, 'a replica outside the ISR does not lead by itself (unclean.leader.election.enable=false)');
    const refused = await elect('preferred', 'unclean');
    t.not(refused.code, 0, 'a preferred election cannot revive it');
    t.match(refused.stdout + refused.stderr, /unclean-0/);
    const unclean = await elect('unclean', 'unclean');
    t.equal(unclean.code, 0, unclean.stderr);
    t.match(unclean.stdout, /Successfully completed leader election \(UNCLEAN\) for partitions unclean-0/);
    t.match(cluster.store.partitionState('unclean', 0)!, { leader: 2, isr: [2] }, 'the live replica leads with an ISR of itself');
  });

  t.test('kafka-metadata-quorum describe --status and --replication', async (t) => {
    const cluster = await startTestCluster(t);
    const status = await runKafkaTool(TOOLS.metadataQuorum, ['--bootstrap-server', cluster.bootstrap, 'describe', '--status']);
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /LeaderId:\s+0\b/, 'the controller leads');
    t.match(status.stdout, /HighWatermark:\s+[1-9]\d*/, "at the store's change count");
    t.match(status.stdout, /CurrentVoters:\s+\[\{"id": 0\b/);
    t.match(status.stdout, /CurrentObservers:\s+\[\{"id": 1\b[^\]]*"id": 2\b/);
    const replication = await runKafkaTool(TOOLS.metadataQuorum, ['--bootstrap-server', cluster.bootstrap, 'describe', '--replication']);
    t.equal(replication.code, 0, replication.stderr);
    t.match(replication.stdout, /^0\s+\S+\s+\d+\s+0\s+.*Leader\s*$/m);
    t.match(replication.stdout, /^1\s+\S+\s+\d+\s+0\s+.*Observer\s*$/m);
    t.match(replication.stdout, /^2\s+\S+\s+\d+\s+0\s+.*Observer\s*$/m);
  });
}
