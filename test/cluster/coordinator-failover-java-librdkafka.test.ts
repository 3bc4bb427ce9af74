// The Java client (Kafka 4.3.1's TransactionalMessageCopier: a consumer group, transactions v2,
// offsets committed with the group's metadata) and librdkafka 2.16 (confluent-kafka-python's
// transactional consume-transform-produce) against a 3-broker one-process cluster, while the
// broker that coordinates their transactional ID (and, for Java, their group) is stopped
// mid-copy and started again: every input record is in the committed output exactly once,
// and the group's committed offset reaches the end of the input.

import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { type SpateCluster } from '../../src/index.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { javaToolsAvailable, spawnKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatConsume, kcatProduce, run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';

const PYTHON_EOS = fileURLToPath(new URL('../fixtures/librdkafka_eos.py', import.meta.url));
const VICTIM = 1;

const groupCoordinator = (cluster: SpateCluster, groupId: string) => cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
const transactionCoordinator = (cluster: SpateCluster, transactionalId: string) => cluster.leaderOf('__transaction_state', partitionForKey(transactionalId, 50));

/** A name with `prefix` whose coordinator is `nodeId`. */
function keyOn(prefix: string, nodeId: number, coordinatorOf: (key: string) => number): string {
  for (let i = 0; i < 1000; i++) if (coordinatorOf(`${prefix}-${i}`) === nodeId) return `${prefix}-${i}`;
  throw new Error(`no ${prefix} key coordinated by broker ${nodeId}`);
}

/** A cluster with `input` (RECORDS records) and an empty `output`, each one partition replicated 3 times. */
async function setup(t: Test, records: number) {
  const cluster = await startTestCluster(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const created = await client.request(19, 5, {
    topics: ['input', 'output'].map((name) => ({ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] })),
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.same(
    created.body.topics.map((topic: { errorCode: number }) => topic.errorCode),
    [0, 0],
  );
  const inputs = Array.from({ length: records }, (_, i) => `value-${i}`);
  await kcatProduce(cluster.bootstrap, 'input', inputs);
  return { cluster, inputs };
}

/** Stops the coordinators' broker once `progress()` passes `at` (then calls `stopped`), and starts it again 3 s later. */
async function failoverDuring(cluster: SpateCluster, progress: () => number, at: number, done: Promise<unknown>, stopped?: () => void): Promise<void> {
  await Promise.race([waitFor(`progress past ${at}`, () => progress() >= at, 90_000), done]);
  await cluster.stopBroker(VICTIM);
  stopped?.();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await cluster.startBroker(VICTIM);
}

async function checkExactlyOnce(t: Test, cluster: SpateCluster, inputs: readonly string[], groupId: string) {
  const output = await kcatConsume(cluster.bootstrap, 'output', ['-X', 'isolation.level=read_committed']);
  const counts = new Map<string, number>();
  for (const record of output) counts.set(record.value!, (counts.get(record.value!) ?? 0) + 1);
  t.equal(counts.size, inputs.length, `every input copied (${output.length} committed output records)`);
  t.same(
    [...counts].filter(([, n]) => n > 1),
    [],
    'none twice',
  );
  t.ok(
    inputs.every((value) => counts.has(value) || counts.has(value.toUpperCase())),
    'the output holds the inputs',
  );
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const coordinator = groupCoordinator(cluster, groupId);
  const at = await RawClient.connect(cluster.broker(coordinator).bootstrap);
  t.teardown(() => at.close());
  const fetched = await at.request(9, 8, { groups: [{ groupId, topics: [{ name: 'input', partitionIndexes: [0] }] }], requireStable: true });
  t.equal(fetched.body.groups[0].topics[0].partitions[0].committedOffset, BigInt(inputs.length), "the group's committed offset is the end of the input");
}

function lines(child: ChildProcess, onLine: (line: string) => void): Promise<number | null> {
  createInterface({ input: child.stdout! }).on('line', onLine);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('Java TransactionalMessageCopier copies exactly once while its coordinators stop and return', async (t) => {
    const { cluster, inputs } = await setup(t, 2000);
    const groupId = keyOn('java-copier-group', VICTIM, (key) => groupCoordinator(cluster, key));
    const transactionalId = keyOn('java-copier', VICTIM, (key) => transactionCoordinator(cluster, key));
    const copier = spawnKafkaTool(TOOLS.transactionalCopier, [
      '--broker-list',
      cluster.bootstrap,
      '--input-topic',
      'input',
      '--input-partition',
      '0',
      '--output-topic',
      'output',
      '--transactional-id',
      transactionalId,
      '--consumer-group',
      groupId,
      '--transaction-size',
      '50',
      '--enable-random-aborts',
      '--group-mode',
      '--use-group-metadata',
    ]);
    const killer = setTimeout(() => copier.kill('SIGKILL'), 150_000);
    t.teardown(() => {
      clearTimeout(killer);
      copier.kill('SIGKILL');
    });
    let stderr = '';
    copier.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let copied = 0;
    const exited = lines(copier, (line) => {
      const match = /"totalProcessed"\s*:\s*(\d+)/.exec(line) ?? /"progress"\s*:\s*(\d+)/.exec(line);
      if (match !== null) copied = Math.max(copied, Number(match[1]));
    });
    const started = performance.now();
    await failoverDuring(cluster, () => copied, 700, exited);
    t.ok(copied < inputs.length, `the coordinators' broker stopped mid-copy (${copied} copied)`);
    const failedOver = performance.now();
    const code = await exited;
    t.comment(`copier: ${Math.round(failedOver - started)} ms to the failover, ${Math.round(performance.now() - failedOver)} ms after it`);
    t.equal(code, 0, `the copier finished${code === 0 ? '' : `: ${stderr.slice(-1500)}`}`);
    await checkExactlyOnce(t, cluster, inputs, groupId);
  });
}

t.test('librdkafka consume-transform-produce stays exactly once while its coordinators stop and return', async (t) => {
  const available = await run('python3', ['-c', 'import confluent_kafka']);
  if (available.code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const { cluster, inputs } = await setup(t, 3000);
  // Only the transaction coordinator is on the stopped broker: librdkafka 2.16 does not look
  // its group coordinator up again once Metadata no longer lists that broker, so
  // send_offsets_to_transaction would hang (librdkafka issue #5511, against Kafka as well).
  const groupId = keyOn('rdkafka-eos-group', (VICTIM + 1) % 3, (key) => groupCoordinator(cluster, key));
  const transactionalId = keyOn('rdkafka-eos', VICTIM, (key) => transactionCoordinator(cluster, key));
  const child = spawn('python3', [PYTHON_EOS, cluster.bootstrap, transactionalId, groupId, 'input', 'output', String(inputs.length)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // The loop waits at 1000 until the broker is stopped: on a fast machine it would otherwise finish first.
    env: { ...process.env, PAUSE_AT: '1000' },
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  t.teardown(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let copied = 0;
  let summary = '';
  const exited = lines(child, (line) => {
    const [kind, count] = line.split(' ');
    if (kind === 'progress') copied = Number(count);
    if (kind === 'done') summary = line;
  });
  await failoverDuring(
    cluster,
    () => copied,
    1000,
    exited,
    () => child.stdin!.end('go\n'),
  );
  t.ok(copied < inputs.length, `the coordinators' broker stopped mid-copy (${copied} copied)`);
  const code = await exited;
  t.equal(code, 0, `the loop finished${code === 0 ? '' : `: ${stderr.slice(-1500)}`}`);
  t.equal(summary, `done ${inputs.length}`, 'the loop committed the offsets of every input');
  await checkExactlyOnce(t, cluster, inputs, groupId);
});
