// Users, ACLs and client quotas are cluster metadata: a change made through one broker is
// enforced by every broker.
// - a one-process cluster of three brokers (one shared in-process store): an ACL created
//   through broker 0 denies a kafkajs producer on broker 2; deleted through broker 1, it no
//   longer does; a SCRAM user added through broker 0 logs in with kafkajs on broker 2; a
//   quota set through broker 0 throttles on broker 2; every broker mirrors them to its own
//   data directory's files;
// - two `spate start --cluster etcd://...` processes: the same through etcd (keys acls/,
//   scram/, quotas/ under the cluster's prefix), and what a broker reads back after a restart.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { saltPassword } from '../../src/security/scram.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { etcdMissing, startEtcd } from '../helpers/etcd.js';
import { freePort, startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';
import { RawClient } from '../helpers/raw-client.js';

const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';
const TOPIC_AUTHORIZATION_FAILED = 29;
const security = {
  'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
  'authorizer.class.name': STANDARD_AUTHORIZER,
  // PLAINTEXT clients are User:ANONYMOUS; with no ACL on a resource they may use it.
  'allow.everyone.if.no.acl.found': true,
};

const denyAnonymousWrite = (topic: string) => ({
  resourceType: 2,
  resourceName: topic,
  resourcePatternType: 3,
  principal: 'User:ANONYMOUS',
  host: '*',
  operation: 4,
  permissionType: 2,
});

const aclFilter = (topic: string) => ({
  resourceTypeFilter: 2,
  resourceNameFilter: topic,
  patternTypeFilter: 3,
  principalFilter: null,
  hostFilter: null,
  operation: 1,
  permissionType: 1,
});

async function addScramUser(client: RawClient, user: string, password: string): Promise<number> {
  const salt = randomBytes(16);
  const saltedPassword = saltPassword('SCRAM-SHA-256', password, salt, 4096);
  const { body } = await client.request(51, 0, { deletions: [], upsertions: [{ name: user, mechanism: 1, iterations: 4096, salt, saltedPassword }] });
  return body.results[0].errorCode;
}

/** Produces one record with kafkajs through `bootstrap`; the Kafka error code (0: written). */
async function produceCode(bootstrap: string, topic: string): Promise<number> {
  const producer = new Kafka({ clientId: 'cluster-security', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer();
  await producer.connect();
  try {
    const [result] = await producer.send({ topic, acks: 1, messages: [{ value: 'v' }] });
    return result!.errorCode;
  } catch (error) {
    const cause = (error as { cause?: { type?: string } }).cause ?? (error as { type?: string });
    if (cause.type === 'TOPIC_AUTHORIZATION_FAILED') return TOPIC_AUTHORIZATION_FAILED;
    throw error;
  } finally {
    await producer.disconnect();
  }
}

async function scramLogin(address: string, user: string, password: string): Promise<string[]> {
  const admin = new Kafka({
    clientId: 'cluster-scram',
    brokers: [address],
    sasl: { mechanism: 'scram-sha-256', username: user, password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

async function checkAcrossBrokers(
  t: Test,
  through: { first: string; second: string },
  on: { plaintext: string; sasl: string },
  topic: string,
  waitUntil: (condition: () => Promise<boolean>) => Promise<void>,
): Promise<void> {
  const first = await RawClient.connect(through.first);
  const second = await RawClient.connect(through.second);
  t.teardown(() => (first.close(), second.close()));
  t.equal(await produceCode(on.plaintext, topic), 0, 'before any ACL, User:ANONYMOUS writes on the other broker');

  const created = await first.request(30, 3, { creations: [denyAnonymousWrite(topic)] });
  t.equal(created.body.results[0].errorCode, 0, 'DENY WRITE for User:ANONYMOUS created through the first broker');
  await waitUntil(async () => (await produceCode(on.plaintext, topic)) === TOPIC_AUTHORIZATION_FAILED);
  t.pass('the other broker refuses the kafkajs producer: TOPIC_AUTHORIZATION_FAILED');
  const described = await second.request(29, 3, aclFilter(topic));
  t.equal(described.body.resources.length, 1, 'the second broker describes the ACL');

  const deleted = await second.request(31, 3, { filters: [aclFilter(topic)] });
  t.equal(deleted.body.filterResults[0].matchingAcls.length, 1, 'the ACL deleted through the second broker');
  await waitUntil(async () => (await produceCode(on.plaintext, topic)) === 0);
  t.pass('and the producer writes again');
  await waitUntil(async () => (await first.request(29, 3, aclFilter(topic))).body.resources.length === 0);
  t.pass('the first broker no longer has it either');

  t.equal(await addScramUser(first, 'carol', 'carol-secret'), 0, 'SCRAM user carol added through the first broker');
  let topics: string[] = [];
  await waitUntil(async () => {
    topics = await scramLogin(on.sasl, 'carol', 'carol-secret').catch(() => []);
    return topics.includes(topic);
  });
  t.ok(topics.includes(topic), 'carol logs in with SCRAM-SHA-256 on the other broker');
  await t.rejects(scramLogin(on.sasl, 'carol', 'wrong'), /SASL|authentication/i, 'with the wrong password she is refused');

  const quota = await first.request(49, 1, {
    entries: [{ entity: [{ entityType: 'client-id', entityName: 'slow' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }],
    validateOnly: false,
  });
  t.equal(quota.body.entries[0].errorCode, 0, 'a producer_byte_rate quota for client slow set through the first broker');
  const other = await RawClient.connect(on.plaintext);
  t.teardown(() => other.close());
  let values: unknown[] = [];
  await waitUntil(async () => {
    const { body } = await other.request(48, 1, { components: [{ entityType: 'client-id', matchType: 0, match: 'slow' }], strict: true });
    values = body.entries[0]?.values ?? [];
    return values.length === 1;
  });
  t.same(values, [{ key: 'producer_byte_rate', value: 1024 }], 'the other broker describes it');
}

t.test('one-process cluster: users, ACLs and quotas shared by the brokers', async (t) => {
  const cluster = await startTestCluster(t, { config: { listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', ...security } });
  const [zero, one, two] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
  // The topic's only replica is on broker 2, so that broker 2 answers the producer.
  const admin = await RawClient.connect(zero.bootstrap);
  t.teardown(() => admin.close());
  const created = await admin.request(19, 5, {
    topics: [{ name: 'guarded', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2] }], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.equal(created.body.topics[0].errorCode, 0, 'topic guarded created with its only replica on broker 2');
  await waitFor('the leader of guarded', () => cluster.leaderOf('guarded', 0) === 2);

  const immediately = async (condition: () => Promise<boolean>) => {
    // One shared store: a change is seen by every broker when the write is answered.
    if (!(await condition())) throw new Error('not yet seen by the other broker');
  };
  await checkAcrossBrokers(
    t,
    { first: zero.bootstrap, second: one.bootstrap },
    { plaintext: two.bootstrap, sasl: `127.0.0.1:${two.portOf('SASL_PLAINTEXT')}` },
    'guarded',
    immediately,
  );

  t.ok(two.security.quotaEnforcer.quotaFor('producer_byte_rate', 'ANONYMOUS', 'slow') !== undefined, "broker 2's quota enforcer has the quota");
  for (const broker of [zero, one, two]) {
    const scram = JSON.parse(readFileSync(join(broker.config.dataDir, 'scram-credentials.json'), 'utf8')) as { users: Record<string, unknown> };
    t.ok('carol' in scram.users, `broker ${broker.nodeId} mirrors carol to its scram-credentials.json`);
  }
});

t.test('two processes on etcd: users, ACLs and quotas through etcd', { skip: etcdMissing() }, async (t) => {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'spate-etcd-security-'));
  const brokers = new Map<number, ProcessBroker>();
  t.teardown(async () => {
    for (const broker of brokers.values()) broker.child.kill('SIGKILL');
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const saslPorts = new Map<number, number>();
  const start = async (nodeId: number) => {
    saslPorts.set(nodeId, saslPorts.get(nodeId) ?? (await freePort()));
    const overrides = {
      listeners: `PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:${saslPorts.get(nodeId)}`,
      ...security,
      'broker.session.timeout.ms': 3000,
      'offsets.topic.num.partitions': 1,
      'transaction.state.log.num.partitions': 1,
    };
    const broker = await startProcessBroker(join(dir, `broker-${nodeId}`), [
      '--node-id',
      String(nodeId),
      '--cluster',
      `etcd://${etcd.hostPort}/secure`,
      ...Object.entries(overrides).flatMap(([key, value]) => ['--override', `${key}=${value}`]),
    ]);
    brokers.set(nodeId, broker);
    return broker;
  };
  const a = await start(0);
  const b = await start(1);
  const admin = await RawClient.connect(a.bootstrap);
  t.teardown(() => admin.close());
  const created = await admin.request(19, 5, {
    topics: [{ name: 'etcd-guarded', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.equal(created.body.topics[0].errorCode, 0, 'topic etcd-guarded created through broker 0 with its replica on broker 1');
  admin.close();

  const eventually = async (condition: () => Promise<boolean>) => {
    // Another process: the change arrives through its etcd watch.
    const deadline = Date.now() + 10_000;
    while (!(await condition().catch(() => false))) {
      if (Date.now() > deadline) throw new Error('the change did not reach the other broker in 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await eventually(async () => (await produceCode(b.bootstrap, 'etcd-guarded')) === 0);
  await checkAcrossBrokers(t, { first: a.bootstrap, second: b.bootstrap }, { plaintext: b.bootstrap, sasl: `127.0.0.1:${saslPorts.get(1)}` }, 'etcd-guarded', eventually);

  // Broker 0 restarted (its files hold nothing: etcd is the store) still knows carol.
  brokers.get(0)!.child.kill('SIGTERM');
  await brokers.get(0)!.exited;
  await start(0);
  const topics = await scramLogin(`127.0.0.1:${saslPorts.get(0)}`, 'carol', 'carol-secret');
  t.ok(topics.includes('etcd-guarded'), 'after a restart, broker 0 reads carol back from etcd');
  t.notOk(existsSync(join(dir, 'broker-0', 'scram-credentials.json')), 'on etcd the data directory holds no copy');
});
