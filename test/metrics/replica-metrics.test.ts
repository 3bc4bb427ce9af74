// Kafka's ReplicaManager and controller metrics on /metrics of a one-process cluster of three
// brokers: a stopped follower shrinks the ISR (a shrink on the leader, the partition under-
// replicated and under min.insync.replicas), its return expands it again; a partition whose
// only replica stops is offline on the controller.

import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startTestCluster, waitFor } from '../helpers/cluster.js';

function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

t.test('ISR shrinks and expands, under-replicated, under-min-ISR and offline partitions', async (t) => {
  const cluster = await startTestCluster(t, { brokers: 3, config: { 'replica.lag.time.max.ms': 2000 } });
  const scrape = async (nodeId: number) => parse(await (await fetch(`${cluster.broker(nodeId).httpUrl!}/metrics`)).text());
  const kafka = new Kafka({ clientId: 'replica-metrics', brokers: [cluster.broker(0).bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      { topic: 'watched', replicaAssignment: [{ partition: 0, replicas: [0, 1, 2] }], configEntries: [{ name: 'min.insync.replicas', value: '3' }] },
      { topic: 'lonely', replicaAssignment: [{ partition: 0, replicas: [2] }] },
    ],
    waitForLeaders: true,
  });
  // Internal topics (__consumer_offsets, __transaction_state) are replicated too: the expected
  // counts come from the cluster's metadata store, the one fact the brokers share.
  const store = cluster.store;
  const ledBy0 = () => store.topics().flatMap((topic) => topic.replicas.map((_, index) => store.partitionState(topic.name, index)!).filter((state) => state.leader === 0));
  // Followers may join the ISR of the internal topics after the cluster starts (expansions
  // counted then): start from a settled cluster and count from here.
  const allFull = () => store.topics().every((topic) => topic.replicas.every((_, index) => store.partitionState(topic.name, index)!.isr.length === topic.replicas[index]!.length));
  await waitFor('every ISR full', allFull, 30_000);
  const before = await scrape(0);
  const followerBefore = await scrape(1);
  t.equal(before.get('spate_under_replicated_partitions'), 0, 'a full ISR to start with');
  t.equal(before.get('spate_at_min_isr_partitions'), 1, 'watched has exactly min.insync.replicas in its ISR');
  t.equal(before.get('spate_under_min_isr_partitions'), 0);
  const shrinksBefore = before.get('spate_isr_shrinks_total')!;
  const expandsBefore = before.get('spate_isr_expands_total')!;
  t.equal(before.get('spate_offline_partitions'), 0);
  t.equal(before.get('spate_leader_partitions'), ledBy0().length, 'the partitions broker 0 leads');
  const shrinking = ledBy0().filter((state) => state.isr.includes(2)).length;
  t.ok(shrinking >= 1, 'watched-0 among them, with broker 2 in its ISR');

  await cluster.stopBroker(2);
  await waitFor('broker 2 out of the ISR of watched-0', () => !store.partitionState('watched', 0)!.isr.includes(2));
  const stopped = await scrape(0);
  t.equal(stopped.get('spate_isr_shrinks_total')! - shrinksBefore, shrinking, 'the leader counts one shrink per partition it kept leading');
  t.equal(
    stopped.get('spate_under_replicated_partitions'),
    ledBy0().filter((state) => state.replicas.includes(2)).length,
    'every partition it leads with a replica on broker 2 is under-replicated',
  );
  t.equal(stopped.get('spate_under_min_isr_partitions'), 1, 'watched-0 is under min.insync.replicas');
  t.equal(stopped.get('spate_offline_partitions'), 1, 'lonely-0 has no live leader (reported by the controller, broker 0)');
  const follower = await scrape(1);
  t.equal(follower.get('spate_offline_partitions'), 0, 'the other brokers report 0, as in Kafka');
  t.equal(follower.get('spate_isr_expands_total'), followerBefore.get('spate_isr_expands_total'), 'broker 1 counts no expansion while broker 2 is away');

  const expanding = () => ledBy0().filter((state) => state.replicas.includes(2)).length;
  await cluster.startBroker(2);
  await waitFor('broker 2 back in the ISR of watched-0', () => store.partitionState('watched', 0)!.isr.includes(2), 30_000);
  await waitFor('broker 2 back in every ISR', () => ledBy0().every((state) => state.isr.length === state.replicas.length), 30_000);
  const back = await scrape(0);
  t.equal(back.get('spate_isr_expands_total')! - expandsBefore, expanding(), 'the leader counts one expansion per partition broker 2 rejoined');
  t.equal(back.get('spate_isr_shrinks_total')! - shrinksBefore, shrinking, 'and no new shrink');
  t.equal(back.get('spate_under_replicated_partitions'), 0);
  t.equal(back.get('spate_under_min_isr_partitions'), 0);
  t.equal(back.get('spate_offline_partitions'), 0, 'lonely-0 leads again');
});
