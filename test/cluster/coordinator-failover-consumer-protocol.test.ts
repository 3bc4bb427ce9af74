// A KIP-848 consumer group (librdkafka 2.16 with group.protocol=consumer) whose coordinator's
// broker stops while the member consumes and commits: the next leader of the group's
// __consumer_offsets partition loads the group (its epochs, members and assignment records)
// and its offsets, the member goes on there, and it reads every record exactly once.

import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { startTestCluster } from '../helpers/cluster.js';
import { kcatProduce, run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';

const PYTHON_GROUP = fileURLToPath(new URL('../fixtures/librdkafka_group.py', import.meta.url));

t.test('a consumer-protocol member reads on through its coordinator stopping', async (t) => {
  const available = await run('python3', ['-c', 'import confluent_kafka']);
  if (available.code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const cluster = await startTestCluster(t, { config: { 'group.consumer.heartbeat.interval.ms': 500 } });
  const victim = 2;
  const groupId = Array.from({ length: 200 }, (_, i) => `kip848-${i}`).find((id) => cluster.leaderOf('__consumer_offsets', partitionForKey(id, 50)) === victim)!;
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const created = await client.request(19, 5, {
    topics: [{ name: 'kip848', numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.equal(created.body.topics[0].errorCode, 0);
  const values = Array.from({ length: 400 }, (_, i) => `v${i}`);
  await kcatProduce(
    cluster.bootstrap,
    'kip848',
    values.slice(0, 200).map((value) => `${value}:${value}`),
    ['-K', ':'],
  );

  const child = spawn('python3', [PYTHON_GROUP, cluster.bootstrap, groupId, 'kip848', String(values.length), 'consumer'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  t.teardown(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  // Wait until the member has committed part of the first half at the coordinator, then stop its broker.
  const coordinator = await RawClient.connect(cluster.broker(victim).bootstrap);
  const committed = async () => {
    const answer = await coordinator.request(9, 8, { groups: [{ groupId, topics: [{ name: 'kip848', partitionIndexes: [0, 1] }] }], requireStable: false });
    return (answer.body.groups[0].topics[0]?.partitions ?? []).reduce((sum: bigint, p: { committedOffset: bigint }) => sum + (p.committedOffset > 0n ? p.committedOffset : 0n), 0n);
  };
  const deadline = Date.now() + 60_000;
  while ((await committed()) < 100n) {
    if (Date.now() > deadline) throw new Error('the member did not commit 100 records in 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  coordinator.close();
  await cluster.stopBroker(victim);
  t.not(cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50)), victim, 'the group partition has a new leader');
  await kcatProduce(
    cluster.bootstrap,
    'kip848',
    values.slice(200).map((value) => `${value}:${value}`),
    ['-K', ':'],
  );
  const code = await exited;
  t.equal(code, 0, `the consumer finished${code === 0 ? '' : `: ${stderr.slice(-1500)}`}`);
  const read = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as string[];
  t.equal(read.length, values.length, `it read ${read.length} records`);
  t.same(new Set(read), new Set(values), 'every record, none twice');
});
