// Coordinator failover in a multi-process cluster on etcd: three `spate start --cluster`
// processes; a kafkajs consume-transform-produce loop (consumer group, transactional producer,
// offsets sent in the transaction) runs while the process hosting its group and transaction
// coordinators is killed with SIGKILL, then started again on its data directory. Once its
// lease expires the controller moves the internal partitions it led; the new leaders load
// the groups and transactions from their replicas, complete what was prepared and abort what
// was left open. Every input appears exactly once in the committed output, and the group's
// committed offsets reach the end of the input.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdMissing, startEtcd } from '../helpers/etcd.js';
import { startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';

const missing = etcdMissing();
const TRANSFORM = fileURLToPath(new URL('../fixtures/transform.mjs', import.meta.url));
const SESSION_TIMEOUT_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

t.test('consume-transform-produce stays exactly once across kill -9 of its coordinators process', { skip: missing, timeout: 240_000 }, async (t) => {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'spate-etcd-coordinators-'));
  const brokers = new Map<number, ProcessBroker>();
  let transformer: ChildProcess | undefined;
  let finished = false;
  t.teardown(async () => {
    finished = true;
    transformer?.kill('SIGKILL');
    for (const broker of brokers.values()) broker.child.kill('SIGKILL');
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (nodeId: number) => {
    const broker = await startProcessBroker(join(dir, `broker-${nodeId}`), [
      '--node-id',
      String(nodeId),
      '--cluster',
      `etcd://${etcd.hostPort}/coordinators`,
      '--override',
      `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
      '--override',
      'offsets.topic.num.partitions=6',
      '--override',
      'transaction.state.log.num.partitions=6',
      '--override',
      'group.initial.rebalance.delay.ms=0',
    ]);
    brokers.set(nodeId, broker);
    return broker;
  };
  for (const nodeId of [0, 1, 2]) await start(nodeId);
  const bootstrap = () => [...brokers.values()].map((broker) => broker.bootstrap).join(',');

  const client = await RawClient.connect(brokers.get(0)!.bootstrap);
  t.teardown(() => client.close());
  let correlation = 1;
  const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
  const created = await call(19, 5, {
    topics: ['input', 'output'].map((name) => ({ name, numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] })),
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.same(
    created.topics.map((topic: { errorCode: number }) => topic.errorCode),
    [0, 0],
  );
  // The controller creates the internal topics once three brokers are live; then every key has a coordinator.
  const coordinators = async (keyType: number, keys: string[], via = client): Promise<Map<string, number>> => {
    const found = (await via.request(10, 4, { keyType, coordinatorKeys: keys }, correlation++)).body;
    return new Map(found.coordinators.map((c: { key: string; nodeId: number; errorCode: number }) => [c.key, c.errorCode === 0 ? c.nodeId : -1]));
  };
  const groups = Array.from({ length: 30 }, (_, i) => `etcd-transformers-${i}`);
  const ids = Array.from({ length: 30 }, (_, i) => `etcd-eos-${i}`);
  await until('the internal topics', async () => [...(await coordinators(0, groups)).values()].every((node) => node >= 0), 30_000);
  // A group and a transactional ID with the same coordinator: the process to kill.
  const groupCoordinators = await coordinators(0, groups);
  const txnCoordinators = await coordinators(1, ids);
  let victim = -1;
  let groupId = '';
  let transactionalId = '';
  for (const [group, node] of groupCoordinators) {
    const id = ids.find((candidate) => txnCoordinators.get(candidate) === node);
    if (id !== undefined) [victim, groupId, transactionalId] = [node, group, id];
    if (victim >= 0) break;
  }
  t.ok(victim >= 0, `broker ${victim} coordinates group ${groupId} and transactional ID ${transactionalId}`);

  let restarts = -1;
  const superviseTransformer = () => {
    restarts++;
    transformer = spawn(process.execPath, [TRANSFORM, bootstrap(), transactionalId, groupId, '4'], { stdio: ['ignore', 'ignore', 'pipe'] });
    transformer.stderr!.on('data', (chunk: Buffer) => t.comment(`transformer: ${chunk.toString().trim()}`));
    transformer.once('exit', () => {
      if (!finished) superviseTransformer();
    });
  };
  superviseTransformer();

  const inputs = Array.from({ length: 3000 }, (_, i) => `value-${i}`);
  let killedAt = 0;
  for (let i = 0; i < inputs.length; i += 100) {
    await kcatProduce(
      bootstrap(),
      'input',
      inputs.slice(i, i + 100).map((value) => `${value}:${value}`),
      ['-K', ':'],
    );
    if (i === 1000) {
      killedAt = performance.now();
      brokers.get(victim)!.child.kill('SIGKILL');
      await brokers.get(victim)!.exited;
      brokers.delete(victim);
    }
    if (i === 2000) await start(victim);
    await sleep(20);
  }
  const committedOutput = async () => kcatConsume(bootstrap(), 'output', ['-X', 'isolation.level=read_committed']);
  await until('every input transformed', async () => (await committedOutput()).length >= inputs.length, 90_000).catch(() => undefined);
  t.comment(`${Math.round((performance.now() - killedAt) / 1000)} s from the kill to the last output; transformer restarts: ${restarts}`);
  t.equal((await kcatConsume(bootstrap(), 'input')).length, inputs.length, 'every input is in the input topic');
  const output = await committedOutput();
  const counts = new Map<string, number>();
  for (const record of output) counts.set(record.value!, (counts.get(record.value!) ?? 0) + 1);
  t.equal(counts.size, inputs.length, 'every input was transformed');
  t.same(
    [...counts].filter(([, n]) => n > 1),
    [],
    'and none twice',
  );
  t.same(new Set(counts.keys()), new Set(inputs.map((value) => value.toUpperCase())));

  // The group's coordinator (wherever it is now) has offsets at the end of both input partitions.
  const survivor = await RawClient.connect(brokers.get((victim + 1) % 3)!.bootstrap);
  t.teardown(() => survivor.close());
  const coordinator = (await coordinators(0, [groupId], survivor)).get(groupId)!;
  const at = await RawClient.connect(brokers.get(coordinator)!.bootstrap);
  t.teardown(() => at.close());
  const fetched = await at.request(9, 8, { groups: [{ groupId, topics: [{ name: 'input', partitionIndexes: [0, 1] }] }], requireStable: true });
  const offsets = fetched.body.groups[0].topics[0].partitions.map((p: { committedOffset: bigint }) => p.committedOffset);
  t.equal(
    offsets.reduce((sum: bigint, offset: bigint) => sum + offset, 0n),
    BigInt(inputs.length),
    `the committed offsets (${offsets.join(', ')}) reach the end of the input`,
  );
});
