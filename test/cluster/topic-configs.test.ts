// Topic configs and the cluster-wide broker default reach every broker of a cluster: an
// AlterConfigs / IncrementalAlterConfigs answered by one broker is written to the metadata
// store, and every broker applies it from there (kafka-configs against broker 0, DescribeConfigs
// on brokers 1 and 2, and the effect on a partition another broker leads). The etcd variant is
// in etcd-operations.test.ts.

import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { type SpateCluster } from '../../src/index.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { describeOn, produceAcksAll } from '../helpers/cluster-requests.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 2;
const BROKER = 4;

async function createTopic(cluster: SpateCluster, topic: string, replicas: number[]): Promise<void> {
  const admin = new Kafka({ clientId: 'configs-setup', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }] });
  } finally {
    await admin.disconnect();
  }
}

t.test('a topic config altered on one broker applies on every broker of a one-process cluster', async (t) => {
  const cluster = await startTestCluster(t);
  await createTopic(cluster, 'shared', [1, 2, 0]);
  const [b0, b1, b2] = cluster.brokers.map((broker) => broker.bootstrap);
  const client = await RawClient.connect(b0!);
  t.teardown(() => client.close());
  const incremental = async (resources: unknown[], validateOnly = false) => (await client.request(44, 1, { resources, validateOnly })).body.responses;

  const [set] = await incremental([
    {
      resourceType: TOPIC,
      resourceName: 'shared',
      configs: [
        { name: 'retention.ms', configOperation: 0, value: '3600000' },
        { name: 'min.insync.replicas', configOperation: 0, value: '3' },
      ],
    },
  ]);
  t.equal(set.errorCode, 0, 'broker 0 accepted the change');
  for (const [nodeId, bootstrap] of [b1!, b2!].entries()) {
    const described = await describeOn(bootstrap, TOPIC, 'shared');
    t.same(described.get('retention.ms'), { value: '3600000', source: 1 }, `broker ${nodeId + 1} describes retention.ms as a topic override`);
    t.equal(described.get('min.insync.replicas')?.value, '3');
  }
  t.equal(cluster.broker(2).logs.topic('shared')!.partitions[0]!.logConfig.retentionMs, 3600000, "broker 2's log applies the new retention");

  // min.insync.replicas=3 set through broker 0 refuses acks=all at broker 1, the leader, once a replica is gone.
  t.equal(await produceAcksAll(b1!, 'shared', 'all three in sync'), ErrorCode.NONE);
  await cluster.stopBroker(2);
  await waitFor('broker 2 out of the ISR', () => cluster.store.partitionState('shared', 0)!.isr.length === 2);
  t.equal(await produceAcksAll(b1!, 'shared', 'two in sync'), ErrorCode.NOT_ENOUGH_REPLICAS, 'the leader (broker 1) applies min.insync.replicas=3 set on broker 0');
  const [lowered] = await incremental([{ resourceType: TOPIC, resourceName: 'shared', configs: [{ name: 'min.insync.replicas', configOperation: 1, value: null }] }]);
  t.equal(lowered.errorCode, 0);
  t.equal(await produceAcksAll(b1!, 'shared', 'back to the default'), ErrorCode.NONE, 'deleting the override on broker 0 lets broker 1 accept again');
  // The cluster-wide broker default reaches the leader's resolved configs through the store's broker-configs event.
  const clusterDefault = async (operation: number, value: string | null) =>
    (await incremental([{ resourceType: BROKER, resourceName: '', configs: [{ name: 'min.insync.replicas', configOperation: operation, value }] }]))[0].errorCode;
  t.equal(await clusterDefault(0, '3'), 0);
  t.equal(await produceAcksAll(b1!, 'shared', 'default 3'), ErrorCode.NOT_ENOUGH_REPLICAS, 'a cluster-wide min.insync.replicas=3 set on broker 0 applies on broker 1 at once');
  t.equal(await clusterDefault(1, null), 0);
  t.equal(await produceAcksAll(b1!, 'shared', 'default removed'), ErrorCode.NONE, 'and its removal too');

  // A broker that was away when the configs changed takes the cluster's on its return.
  const [changedMeanwhile] = await incremental([{ resourceType: TOPIC, resourceName: 'shared', configs: [{ name: 'segment.bytes', configOperation: 0, value: '2097152' }] }]);
  t.equal(changedMeanwhile.errorCode, 0);
  await cluster.startBroker(2);
  t.equal(cluster.broker(2).logs.topic('shared')!.configs['segment.bytes'], '2097152', 'the restarted broker applies what changed while it was stopped');

  // validateOnly changes nothing anywhere; a bad value is refused with the key named.
  const [validated] = await incremental([{ resourceType: TOPIC, resourceName: 'shared', configs: [{ name: 'cleanup.policy', configOperation: 0, value: 'compact' }] }], true);
  t.equal(validated.errorCode, 0);
  t.equal((await describeOn(cluster.broker(1).bootstrap, TOPIC, 'shared')).get('cleanup.policy')?.value, 'delete', 'validateOnly changed nothing');
  const [bad] = await incremental([{ resourceType: TOPIC, resourceName: 'shared', configs: [{ name: 'min.insync.replicas', configOperation: 0, value: '0' }] }]);
  t.equal(bad.errorCode, ErrorCode.INVALID_CONFIG);
  t.match(bad.errorMessage, /min.insync.replicas/);
});

t.test('unclean.leader.election.enable turned on for a topic elects a leader for its offline partition at once', async (t) => {
  const cluster = await startTestCluster(t);
  await createTopic(cluster, 'offline', [1, 2]);
  await cluster.stopBroker(2);
  await cluster.stopBroker(1);
  await cluster.startBroker(2);
  t.equal(cluster.leaderOf('offline', 0), -1, 'broker 2 is live but outside the ISR: the partition stays offline');
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const response = (
    await client.request(44, 1, {
      resources: [{ resourceType: TOPIC, resourceName: 'offline', configs: [{ name: 'unclean.leader.election.enable', configOperation: 0, value: 'true' }] }],
      validateOnly: false,
    })
  ).body.responses[0];
  t.equal(response.errorCode, 0);
  await waitFor('an unclean leader', () => cluster.leaderOf('offline', 0) === 2);
  t.match(cluster.store.partitionState('offline', 0), { leader: 2, isr: [2] }, 'the controller elected the live replica');
});

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('kafka-configs: a topic and the --entity-default broker configs, altered through broker 0, described on broker 2', async (t) => {
    const cluster = await startTestCluster(t);
    await createTopic(cluster, 'tooled', [0, 1, 2]);
    const [b0, , b2] = cluster.brokers.map((broker) => broker.bootstrap);
    const alter = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      b0!,
      '--alter',
      '--entity-type',
      'topics',
      '--entity-name',
      'tooled',
      '--add-config',
      'cleanup.policy=compact,max.message.bytes=65536',
    ]);
    t.equal(alter.code, 0, alter.stderr);
    const defaults = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      b0!,
      '--alter',
      '--entity-type',
      'brokers',
      '--entity-default',
      '--add-config',
      'log.retention.ms=7200000',
    ]);
    t.equal(defaults.code, 0, defaults.stderr);
    const described = await runKafkaTool(TOOLS.configs, ['--bootstrap-server', b2!, '--describe', '--entity-type', 'topics', '--entity-name', 'tooled']);
    t.equal(described.code, 0, described.stderr);
    t.match(described.stdout, /cleanup.policy=compact/);
    t.match(described.stdout, /max.message.bytes=65536/);
    for (const broker of cluster.brokers) {
      const topic = await describeOn(broker.bootstrap, TOPIC, 'tooled');
      t.equal(topic.get('cleanup.policy')?.value, 'compact', `broker ${broker.nodeId}: cleanup.policy=compact`);
      t.same(topic.get('retention.ms'), { value: '7200000', source: 3 }, `broker ${broker.nodeId}: retention.ms from the cluster-wide default`);
      const brokerConfigs = await describeOn(broker.bootstrap, BROKER, String(broker.nodeId));
      t.same(brokerConfigs.get('log.retention.ms'), { value: '7200000', source: 3 }, `broker ${broker.nodeId} describes log.retention.ms as DYNAMIC_DEFAULT_BROKER_CONFIG`);
      t.ok(broker.logs.topic('tooled')!.partitions[0]!.logConfig.cleanupPolicy.includes('compact'), `broker ${broker.nodeId}'s log is compacted now`);
    }
    const removed = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      b2!,
      '--alter',
      '--entity-type',
      'brokers',
      '--entity-default',
      '--delete-config',
      'log.retention.ms',
    ]);
    t.equal(removed.code, 0, removed.stderr);
    t.equal((await describeOn(b0!, BROKER, '0')).get('log.retention.ms')?.value ?? null, null, 'the default removed through broker 2 is gone on broker 0');
  });
}
