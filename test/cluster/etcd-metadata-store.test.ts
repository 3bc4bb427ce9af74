// EtcdMetadataStore against a real etcd: two stores stand for two broker processes. What one
// writes the other sees through its watch, with the events the in-process store emits; a
// compare-and-set on a stale version loses; producer-ID blocks never overlap; a registration
// whose process died without leaving disappears when its lease expires.

import t from 'tap';
import { EtcdMetadataStore, parseEtcdUrl } from '../../src/cluster/etcd-metadata-store.js';
import { type MetadataEvent } from '../../src/cluster/metadata-store.js';
import { etcdMissing, startEtcd, type EtcdServer } from '../helpers/etcd.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };
const missing = etcdMissing();

function registration(nodeId: number) {
  return { nodeId, endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + nodeId }], rack: null };
}

/** Polls `check` every 50 ms for at most `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

t.test('parseEtcdUrl', async (t) => {
  t.same(parseEtcdUrl('etcd://127.0.0.1:2379'), { endpoints: ['http://127.0.0.1:2379'], cluster: 'spate' });
  t.same(parseEtcdUrl('etcd://a:1,b:2/prod'), { endpoints: ['http://a:1', 'http://b:2'], cluster: 'prod' });
  t.throws(() => parseEtcdUrl('http://a:1'), /etcd:\/\//);
  t.throws(() => parseEtcdUrl('etcd://a'), /host:port/);
});

t.test('two stores over one etcd', { skip: missing }, async (t) => {
  let etcd: EtcdServer | undefined = await startEtcd();
  t.teardown(() => etcd?.stop());
  const endpoints = [`http://${etcd.hostPort}`];
  const a = await EtcdMetadataStore.connect({ endpoints, cluster: 'test', logger: quiet });
  const b = await EtcdMetadataStore.connect({ endpoints, cluster: 'test', logger: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const seenByB: MetadataEvent[] = [];
  b.watch((event) => seenByB.push(event));

  t.equal(await a.clusterId('first'), 'first');
  t.equal(await b.clusterId('second'), 'first', 'the cluster ID is written once');

  await a.registerBroker(registration(1));
  await b.registerBroker(registration(0));
  t.same(
    b
      .brokers()
      .map((broker) => broker.nodeId)
      .sort(),
    [0, 1],
    "once its write resolved, b's copy holds every earlier write too",
  );
  t.ok(await eventually(() => a.brokers().length === 2, 2000), 'a sees the later registration through its watch');
  t.equal(a.controllerId(), 0);
  t.equal(b.controllerId(), 0, 'the lowest live node id, alike in both');
  t.ok(await eventually(() => seenByB.some((event) => event.kind === 'brokers'), 2000), "b saw a 'brokers' event");
  // Broker 1 registered alone first and was elected; broker 0 then took over.
  t.ok(await eventually(async () => (await b.metadataPosition()).controllerEpoch === 2, 2000), 'two elections: controller epoch 2');

  const id = Buffer.alloc(16, 7);
  const state = (leader: number) => ({ leader, leaderEpoch: 0, replicas: [0, 1], isr: [0, 1], version: 0 });
  t.equal(
    await a.createTopic(
      {
        name: 'orders',
        id,
        replicas: [
          [0, 1],
          [1, 0],
        ],
        configs: { 'cleanup.policy': 'delete' },
      },
      [state(0), state(1)],
    ),
    true,
  );
  t.match(a.partitionState('orders', 1), { leader: 1, version: 0 }, 'the writer reads its own write');
  t.equal(await b.createTopic({ name: 'orders', id, replicas: [[0, 1]], configs: {} }, [state(0)]), false, 'a second creation is refused');
  t.ok(await eventually(() => b.topic('orders') !== undefined, 2000));
  t.ok(b.topic('orders')!.id.equals(id), 'the topic ID survives base64');
  t.same(b.topic('orders')!.configs, { 'cleanup.policy': 'delete' });
  t.ok(seenByB.some((event) => event.kind === 'topic-created' && event.topic === 'orders'));
  t.notOk(
    seenByB.some((event) => event.kind === 'partition-state'),
    'a creation is one topic-created event, not one per partition',
  );

  const start = (await b.metadataPosition()).offset;
  t.equal(await a.compareAndSetPartition('orders', 0, 0, { ...state(0), isr: [0] }), 1, 'the CAS at version 0 wins');
  t.equal(await b.compareAndSetPartition('orders', 0, 0, { ...state(1), leaderEpoch: 1 }), undefined, 'the same CAS from the other store loses');
  t.match(b.partitionState('orders', 0), { leader: 0, isr: [0], version: 1 }, 'the loser reads the winner after its CAS settles');
  t.ok(seenByB.some((event) => event.kind === 'partition-state' && event.topic === 'orders' && event.partition === 0));
  t.ok((await b.metadataPosition()).offset > start, 'the offset is the etcd revision');

  const racing = await Promise.all([
    a.compareAndSetPartition('orders', 1, 0, { ...state(1), leaderEpoch: 1 }),
    b.compareAndSetPartition('orders', 1, 0, { ...state(0), leaderEpoch: 1 }),
  ]);
  t.equal(racing.filter((version) => version === 1).length, 1, 'of two racing CAS exactly one wins');

  seenByB.length = 0;
  await a.addPartitions('orders', [[0, 1]], [state(0)]);
  t.equal(a.topic('orders')!.replicas.length, 3);
  t.ok(await eventually(() => seenByB.some((event) => event.kind === 'partitions-added'), 2000));
  t.notOk(
    seenByB.some((event) => event.kind === 'partition-state'),
    'added partitions arrive with partitions-added',
  );
  t.match(b.partitionState('orders', 2), { leader: 0, version: 0 });

  // More partitions than one etcd transaction may hold (--max-txn-ops 128).
  seenByB.length = 0;
  const many = Array.from({ length: 250 }, (_, index) => state(index % 2));
  t.equal(await a.createTopic({ name: 'wide', id: Buffer.alloc(16, 8), replicas: many.map((s) => s.replicas), configs: {} }, many), true);
  t.equal(a.partitionState('wide', 249)?.leader, 1);
  t.ok(await eventually(() => b.topic('wide') !== undefined, 2000));
  t.equal(b.partitionState('wide', 249)?.leader, 1, 'every state arrived before the topic was announced');
  await b.addPartitions(
    'wide',
    many.slice(0, 150).map((s) => s.replicas),
    many.slice(0, 150),
  );
  t.ok(await eventually(() => a.topic('wide')?.replicas.length === 400, 2000));
  t.equal(a.partitionState('wide', 399)?.version, 0);
  t.same(
    seenByB.filter((event) => event.kind !== 'brokers').map((event) => event.kind),
    ['topic-created', 'partitions-added'],
    'a large creation and addition are one event each',
  );

  const blocks = await Promise.all([a.allocateProducerIds(1000n), b.allocateProducerIds(1000n), a.allocateProducerIds(1000n)]);
  t.same(
    [...blocks].sort((x, y) => Number(x - y)),
    [0n, 1000n, 2000n],
    'producer-ID blocks do not overlap',
  );

  t.equal(await b.deleteTopic('orders'), true);
  t.ok(await eventually(() => a.topic('orders') === undefined, 2000));
  t.equal(a.partitionState('orders', 0), undefined, 'its partition states went with it');
  t.ok(seenByB.some((event) => event.kind === 'topic-deleted' && event.id.equals(id)));
  t.equal(await b.deleteTopic('orders'), false);

  // A broker cut off while etcd compacted its history: its watch resumes at a compacted
  // revision, etcd cancels it, and the store reloads everything, announcing the differences.
  await a.createTopic({ name: 'gone', id: Buffer.alloc(16, 9), replicas: [[0, 1]], configs: {} }, [state(0)]);
  await a.createTopic({ name: 'changing', id: Buffer.alloc(16, 10), replicas: [[0, 1]], configs: {} }, [state(0)]);
  t.ok(await eventually(() => b.topic('changing') !== undefined, 2000));
  const internals = b as unknown as { watcher: { cancel(): Promise<void> }; startWatch(): Promise<void> };
  await internals.watcher.cancel();
  await a.deleteTopic('gone');
  await a.createTopic({ name: 'late', id: Buffer.alloc(16, 11), replicas: [[1, 0]], configs: {} }, [state(1)]);
  t.equal(await a.compareAndSetPartition('changing', 0, 0, { ...state(1), leaderEpoch: 1 }), 1);
  const { Etcd3 } = await import('etcd3');
  const admin = new Etcd3({ hosts: endpoints });
  const revision = (await admin.get('any').exec()).header.revision;
  await admin.kv.compact({ revision, physical: true });
  admin.close();
  t.equal(b.topic('late'), undefined, 'b heard nothing meanwhile');
  seenByB.length = 0;
  await internals.startWatch();
  t.ok(await eventually(() => b.topic('late') !== undefined, 5000), 'b reloaded after its watch was cancelled');
  t.equal(b.topic('gone'), undefined);
  t.match(b.partitionState('changing', 0), { leader: 1, version: 1 });
  t.ok(
    seenByB.some((event) => event.kind === 'topic-deleted' && event.topic === 'gone'),
    'the deletion is announced',
  );
  t.ok(
    seenByB.some((event) => event.kind === 'topic-created' && event.topic === 'late'),
    'the creation is announced',
  );
  t.ok(
    seenByB.some((event) => event.kind === 'partition-state' && event.topic === 'changing'),
    'the state change is announced',
  );
  t.notOk(
    seenByB.some((event) => event.kind === 'brokers'),
    'membership did not change',
  );
  t.equal(await b.compareAndSetPartition('changing', 0, 1, { ...state(0), leaderEpoch: 2 }), 2, 'writes work again, and b sees them through its new watch');

  // A process that dies keeps no lease: its registration expires after the TTL.
  const dying = await EtcdMetadataStore.connect({ endpoints, cluster: 'test', sessionTimeoutMs: 1000, logger: quiet });
  await dying.registerBroker(registration(2));
  t.ok(await eventually(() => a.brokers().length === 3, 2000), 'broker 2 registered');
  await dying.close(); // no unregister: as after kill -9
  t.ok(await eventually(() => a.brokers().length === 2, 6000), "broker 2's lease expired and its registration went");

  await b.unregisterBroker(0);
  t.ok(await eventually(() => a.controllerId() === 1, 2000), 'broker 0 left: broker 1 is the controller');
  t.ok(await eventually(async () => (await a.metadataPosition()).controllerEpoch === 3, 2000), 'the controller epoch counts the election');

  await Promise.all([a.close(), b.close()]);
  await etcd.stop();
  etcd = undefined;
});

t.test('configs through the store: a CAS whose update runs again on the winner, events on the other store', { skip: missing }, async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const endpoints = [`http://${etcd.hostPort}`];
  const a = await EtcdMetadataStore.connect({ endpoints, cluster: 'configs', logger: quiet });
  const b = await EtcdMetadataStore.connect({ endpoints, cluster: 'configs', logger: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const seenByB: MetadataEvent[] = [];
  b.watch((event) => seenByB.push(event));
  const state = { leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], version: 0 };
  await a.createTopic({ name: 'tuned', id: Buffer.alloc(16, 1), replicas: [[0]], configs: { 'retention.ms': '1000' } }, [state]);
  t.ok(await eventually(() => b.topic('tuned') !== undefined, 2000));

  // Two incremental changes racing from two brokers: both end up applied.
  await Promise.all([
    a.alterTopicConfigs('tuned', (current) => ({ ...current, 'segment.bytes': '2097152' })),
    b.alterTopicConfigs('tuned', (current) => ({ ...current, 'cleanup.policy': 'compact' })),
  ]);
  t.ok(await eventually(() => Object.keys(a.topic('tuned')!.configs).length === 3, 2000));
  t.same(a.topic('tuned')!.configs, { 'retention.ms': '1000', 'segment.bytes': '2097152', 'cleanup.policy': 'compact' }, 'the loser ran its update again on the winner');
  t.ok(
    seenByB.some((event) => event.kind === 'topic-configs' && event.topic === 'tuned'),
    "b saw 'topic-configs'",
  );
  await t.rejects(
    a.alterTopicConfigs('absent', (current) => current),
    { kafkaCode: 3, message: /does not exist/ },
    'UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist',
  );
  await t.rejects(
    a.alterTopicConfigs('tuned', () => {
      throw new Error('refused by validation');
    }),
    /refused by validation/,
    "the update's own error comes back, nothing written",
  );

  t.equal(b.clusterBrokerConfigs(), undefined, 'no cluster-wide broker configs yet');
  await a.alterClusterBrokerConfigs((current) => ({ ...current, 'log.retention.ms': '7200000' }));
  t.ok(await eventually(() => b.clusterBrokerConfigs()?.['log.retention.ms'] === '7200000', 2000));
  t.ok(
    seenByB.some((event) => event.kind === 'broker-configs'),
    "b saw 'broker-configs'",
  );
});

t.test('etcd stopped: writes wait for it, or time out naming it; a lost lease is registered again', { skip: missing }, async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const endpoints = [`http://${etcd.hostPort}`];
  const warnings: string[] = [];
  const logger = { ...quiet, warn: (line: string) => void warnings.push(line), info: (line: string) => void warnings.push(line) };
  const patient = await EtcdMetadataStore.connect({ endpoints, cluster: 'outage', sessionTimeoutMs: 1000, logger });
  const hasty = await EtcdMetadataStore.connect({ endpoints, cluster: 'outage', writeTimeoutMs: 1000, logger: quiet });
  t.teardown(() => Promise.all([patient.close(), hasty.close()]));
  await patient.registerBroker(registration(0));
  const state = { leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], version: 0 };

  await etcd.kill();
  const waiting = patient.createTopic({ name: 'during', id: Buffer.alloc(16, 2), replicas: [[0]], configs: {} }, [state]);
  const refused = hasty.createTopic({ name: 'refused', id: Buffer.alloc(16, 3), replicas: [[0]], configs: {} }, [state]);
  await t.rejects(
    refused,
    { kafkaCode: 7, message: new RegExp(`etcd at ${etcd.hostPort} did not answer for 1 s .*creating topic refused may not have been made`) },
    'REQUEST_TIMED_OUT naming etcd',
  );
  // Away for more than twice the 1 s lease: the client gives the lease up.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.equal(patient.brokers().length, 1, 'the copy still lists the registration while etcd is away');
  await etcd.restart();
  t.equal(await waiting, true, 'the creation made during the outage succeeded once etcd was back');
  t.ok(await eventually(() => hasty.topic('during') !== undefined, 5000), 'the other store sees it');
  t.ok(await eventually(() => warnings.some((line) => /Broker 0 registered again/.test(line)), 15_000), 'the lost lease was registered again');
  t.ok(warnings.some((line) => /lease of broker 0 lost/.test(line)));
  t.ok(
    warnings.some((line) => /does not answer .*creating topic during waits for it/.test(line)),
    'the wait was logged',
  );
  // The new lease keeps the registration alive past the old one's TTL.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  t.same(
    hasty.brokers().map((broker) => broker.nodeId),
    [0],
    'registered, under its new lease',
  );
});
