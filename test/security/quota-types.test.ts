// The quota types beyond the byte rates, each set with AlterClientQuotas as kafka-configs
// sets them and checked against real clients where one exists:
// - request_percentage: a client over its share of the broker's time gets throttle_time_ms
//   in its answers and its connection muted; kafkajs applies the client-side throttle
//   (KIP-219), a client without the quota is never throttled;
// - connection_creation_rate (KIP-612): from one address, the connections over the rate are
//   held unread for the throttle time, then closed; kafkajs clients reconnect and all get
//   served;
// - controller_mutation_rate (KIP-599): Kafka's Java admin (retryOnQuotaViolation=false) gets
//   ThrottlingQuotaExceededException once the token bucket is empty (CreateTopics v6+ is
//   strict), kafkajs (CreateTopics v3, permissive) gets its topics and a throttle;
//   CreatePartitions v3 and DeleteTopics v5 are strict too, older versions only throttle.

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { Kafka, logLevel, type logCreator } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable } from '../helpers/java-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { compileJavaClient } from './java-client.js';

const THROTTLING_QUOTA_EXCEEDED = 89;

async function setQuota(admin: RawClient, entity: Array<{ entityType: string; entityName: string | null }>, key: string, value: number): Promise<void> {
  const { body } = await admin.request(49, 1, { entries: [{ entity, ops: [{ key, value, remove: false }] }], validateOnly: false });
  if (body.entries[0].errorCode !== 0) throw new Error(`AlterClientQuotas failed: ${body.entries[0].errorMessage}`);
}

/** A kafkajs logger that keeps the client-side throttling messages (KIP-219). */
function throttleLog(): { creator: logCreator; throttles: number[] } {
  const throttles: number[] = [];
  const creator: logCreator = () => (entry) => {
    const match = /Client side throttling in effect for (\d+)ms/.exec(entry.log.message);
    if (match !== null) throttles.push(Number(match[1]));
  };
  return { creator, throttles };
}

const createTopic = (name: string, numPartitions: number) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });

t.test('request_percentage', async (t) => {
  const broker = await startTestBroker(t, { config: { 'quota.window.num': 2, 'quota.window.size.seconds': 1 } });
  const admin = await RawClient.connect(broker.bootstrap);
  t.teardown(() => admin.close());
  // A topic with many partitions makes each Metadata answer take a measurable time.
  t.equal((await admin.request(19, 5, { topics: [createTopic('wide', 200)], timeoutMs: 5000, validateOnly: false })).body.topics[0].errorCode, 0);
  await setQuota(admin, [{ entityType: 'client-id', entityName: 'busy' }], 'request_percentage', 5);

  const raw = await RawClient.connect(broker.bootstrap);
  t.teardown(() => raw.close());
  const metadata = { topics: [{ name: 'wide' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
  let throttled: { at: number; ms: number } | undefined;
  let requests = 0;
  for (; requests < 2000 && throttled === undefined; requests++) {
    const { body } = await raw.request(3, 12, metadata, requests, 'busy');
    if (body.throttleTimeMs >= 100) throttled = { at: Date.now(), ms: body.throttleTimeMs };
  }
  t.ok(throttled !== undefined, `after ${requests} Metadata requests at 5% of one thread, the answer carries throttle_time_ms=${throttled?.ms}`);
  await raw.request(3, 12, metadata, 9999, 'busy');
  const mutedFor = Date.now() - throttled!.at;
  t.ok(mutedFor >= throttled!.ms - 20, `the next request was answered only after the throttle (${mutedFor} ms for ${throttled!.ms} ms): the connection was muted`);
  const other = await RawClient.connect(broker.bootstrap);
  t.teardown(() => other.close());
  let otherThrottles = 0;
  for (let i = 0; i < 200; i++) if ((await other.request(3, 12, metadata, i, 'not-busy')).body.throttleTimeMs > 0) otherThrottles++;
  t.equal(otherThrottles, 0, 'a client without the quota is never throttled');

  const busy = throttleLog();
  const busyAdmin = new Kafka({ clientId: 'busy', brokers: [broker.bootstrap], logLevel: logLevel.DEBUG, logCreator: busy.creator }).admin();
  const calm = throttleLog();
  const calmAdmin = new Kafka({ clientId: 'calm', brokers: [broker.bootstrap], logLevel: logLevel.DEBUG, logCreator: calm.creator }).admin();
  await busyAdmin.connect();
  await calmAdmin.connect();
  const started = Date.now();
  for (let i = 0; i < 100; i++) await busyAdmin.fetchTopicMetadata({ topics: ['wide'] });
  const busySeconds = (Date.now() - started) / 1000;
  const calmStarted = Date.now();
  for (let i = 0; i < 100; i++) await calmAdmin.fetchTopicMetadata({ topics: ['wide'] });
  const calmSeconds = (Date.now() - calmStarted) / 1000;
  await busyAdmin.disconnect();
  await calmAdmin.disconnect();
  t.comment(`100 Metadata requests: client 'busy' (5%) ${busySeconds.toFixed(1)} s, client 'calm' (no quota) ${calmSeconds.toFixed(1)} s`);
  t.ok(busy.throttles.length > 0, `kafkajs 'busy' applied ${busy.throttles.length} client-side throttles (up to ${Math.max(0, ...busy.throttles)} ms)`);
  t.equal(calm.throttles.length, 0, "kafkajs 'calm' was never throttled");
});

function openSocket(address: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const socket = connect({ host, port }, () => resolve({ socket, closed }));
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - opened)));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

t.test('connection_creation_rate', async (t) => {
  const broker = await startTestBroker(t, { config: { 'quota.window.num': 2, 'quota.window.size.seconds': 1 } });
  const admin = await RawClient.connect(broker.bootstrap);
  await setQuota(admin, [{ entityType: 'ip', entityName: null }], 'connection_creation_rate', 5);
  admin.close();
  // The quota counts from the connection after it: the admin connection above is not counted.
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSocket(broker.bootstrap)));
  const outcomes = await Promise.all(
    sockets.map(async ({ socket, closed }) => {
      const client = new Promise<'served'>((resolve) => socket.once('data', () => resolve('served')));
      const frame = (await import('../helpers/raw-client.js')).encodeRequest(18, 3, 1, { clientSoftwareName: 'rate', clientSoftwareVersion: '1' });
      socket.write(frame);
      const outcome = await Promise.race([client, closed.then((ms) => ms)]);
      socket.destroy();
      return outcome;
    }),
  );
  const served = outcomes.filter((outcome) => outcome === 'served').length;
  const closedAfter = outcomes.filter((outcome): outcome is number => typeof outcome === 'number');
  t.ok(served >= 4 && served <= 7, `${served} of 20 connections opened at once are served at 5 per second (Kafka's rate allows a window's worth)`);
  t.equal(served + closedAfter.length, 20);
  t.ok(
    closedAfter.every((ms) => ms >= 50),
    `the others are closed unanswered, not at once but after the throttle (${Math.min(...closedAfter)}-${Math.max(...closedAfter)} ms)`,
  );
  t.ok(broker.security.quotaEnforcer.throttledConnections >= closedAfter.length, `${broker.security.quotaEnforcer.throttledConnections} connections throttled`);

  // kafkajs clients reconnect when their connection is closed: all of them get served, at the quota's pace.
  const throttledBefore = broker.security.quotaEnforcer.throttledConnections;
  const clients = Array.from({ length: 12 }, (_, i) =>
    new Kafka({ clientId: `rate-${i}`, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } }).admin(),
  );
  const started = Date.now();
  const listed = await Promise.all(
    clients.map(async (client) => {
      await client.connect();
      const topics = await client.listTopics();
      await client.disconnect();
      return topics;
    }),
  );
  const throttledKafkajs = broker.security.quotaEnforcer.throttledConnections - throttledBefore;
  t.equal(listed.length, 12, `12 kafkajs clients at 5 connections per second: all served in ${Date.now() - started} ms`);
  t.ok(throttledKafkajs > 0, `after ${throttledKafkajs} of their connections were throttled and retried`);
});

t.test('controller_mutation_rate', async (t) => {
  const broker = await startTestBroker(t, { config: { 'controller.quota.window.num': 2, 'controller.quota.window.size.seconds': 1 } });
  const admin = await RawClient.connect(broker.bootstrap);
  t.teardown(() => admin.close());
  // 5 partitions per second with 2 one-second windows: a burst of 10 partitions, then 5 a second.
  for (const client of ['mutator', 'kafkajs-mutator', 'raw-mutator']) await setQuota(admin, [{ entityType: 'client-id', entityName: client }], 'controller_mutation_rate', 5);

  t.test("Kafka's Java admin, strict CreateTopics", { skip: javaToolsAvailable() ? false : 'Kafka Java jars missing' }, async (t) => {
    const java = await compileJavaClient(t);
    const properties = java.properties('mutator', { 'bootstrap.servers': broker.bootstrap, 'client.id': 'mutator' });
    const results = await java.run(['create-topics', properties, 'java-a:10', 'java-b:20', 'java-c:1']);
    t.same(
      results.map((result) => result.topic),
      ['java-a', 'java-b', 'java-c'],
    );
    t.equal(results[0]!.outcome, 'ok', 'the burst of 10 partitions is created');
    t.equal(results[1]!.outcome, 'ok', 'a creation while the bucket still holds tokens is accepted, even if it goes below zero (Kafka)');
    t.match(
      results[2]!.outcome,
      /^ThrottlingQuotaExceededException: The throttling quota has been exceeded/,
      'the next, 4 s of mutations in debt, is refused: ThrottlingQuotaExceededException',
    );
    t.ok(broker.logs.topic('java-b') !== undefined && broker.logs.topic('java-c') === undefined, 'java-c was not created');
  });

  t.test('kafkajs, permissive CreateTopics v3', async (t) => {
    const log = throttleLog();
    const kafka = new Kafka({ clientId: 'kafkajs-mutator', brokers: [broker.bootstrap], logLevel: logLevel.DEBUG, logCreator: log.creator });
    const client = kafka.admin();
    await client.connect();
    const created = await client.createTopics({ topics: ['js-a', 'js-b', 'js-c'].map((topic) => ({ topic, numPartitions: 5 })) });
    await client.listTopics();
    await client.disconnect();
    t.equal(created, true, 'all three topics (15 partitions, over the burst of 10) are created: v3 is permissive');
    t.ok(log.throttles.length > 0 && log.throttles[0]! >= 500, `and kafkajs is throttled for ${log.throttles[0]} ms (5 partitions in debt at 5/s)`);
  });

  t.test('CreatePartitions v3 and DeleteTopics v5 are strict, older versions permissive', async (t) => {
    const raw = await RawClient.connect(broker.bootstrap);
    t.teardown(() => raw.close());
    const setup = await raw.request(19, 5, { topics: [createTopic('raw-a', 1), createTopic('raw-b', 1)], timeoutMs: 5000, validateOnly: false }, 0, 'setup');
    t.same(
      setup.body.topics.map((topic: { errorCode: number }) => topic.errorCode),
      [0, 0],
    );
    const grow = (version: number, count: number, id: number) =>
      raw.request(37, version, { topics: [{ name: 'raw-a', count, assignments: null }], timeoutMs: 5000, validateOnly: false }, id, 'raw-mutator');
    const first = await grow(3, 14, 1);
    t.equal(first.body.results[0].errorCode, 0, 'CreatePartitions v3: 13 partitions from a full bucket of 10 are taken (the bucket goes into debt)');
    t.equal(first.body.throttleTimeMs, 0, 'strict mode reports a throttle only with a refusal (Kafka)');
    const deleted = await raw.request(20, 5, { topicNames: ['raw-b'], timeoutMs: 5000 }, 2, 'raw-mutator');
    t.equal(deleted.body.responses[0].errorCode, THROTTLING_QUOTA_EXCEEDED, 'DeleteTopics v5 while the bucket is in debt: THROTTLING_QUOTA_EXCEEDED');
    t.equal(deleted.body.responses[0].errorMessage, 'The throttling quota has been exceeded.');
    t.ok(deleted.body.throttleTimeMs > 0, `with throttle_time_ms=${deleted.body.throttleTimeMs}`);
    t.ok(broker.logs.topic('raw-b') !== undefined, 'and the topic stays');
    const permissive = await grow(2, 24, 4);
    t.equal(permissive.body.results[0].errorCode, 0, 'CreatePartitions v2 (permissive) grows the topic by 10 even so');
    t.ok(permissive.body.throttleTimeMs >= 1000, `and only throttles (${permissive.body.throttleTimeMs} ms)`);
    const oldDelete = await raw.request(20, 4, { topicNames: ['raw-b'], timeoutMs: 5000 }, 5, 'raw-mutator');
    t.equal(oldDelete.body.responses[0].errorCode, 0, 'DeleteTopics v4 (permissive) deletes it');
    const unlimited = await raw.request(37, 3, { topics: [{ name: 'raw-a', count: 60, assignments: null }], timeoutMs: 5000, validateOnly: false }, 7, 'someone-else');
    t.equal(unlimited.body.results[0].errorCode, 0, 'a client without the quota is not limited');
  });
});
