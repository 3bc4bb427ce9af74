// HTTP Basic authentication against the broker's SASL users once an authorizer is set: no or
// wrong credentials get 401 (REST, WebSocket upgrade, /metrics, the console; /health stays
// open), a PLAIN user and a SCRAM user act as User:<name>, and Kafka's ACLs decide what they
// see and do over REST and WebSocket as over the binary protocol (DESCRIBE to list and read
// metadata, READ to read records and subscribe, WRITE to produce, group rights for lags).

import t from 'tap';
import { randomBytes } from 'node:crypto';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { saltPassword } from '../../src/security/scram.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { unsecuredToken } from '../security/tokens.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function socket(url: string, authorization?: string): Promise<{ ws: WebSocket; next: (match: (message: any) => boolean) => Promise<any> } | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v3/ws`, authorization === undefined ? {} : { headers: { authorization } });
    const messages: any[] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (data) => {
      messages.push(JSON.parse(data.toString()));
      for (const waiter of waiters.splice(0)) waiter();
    });
    ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    ws.on('open', () =>
      resolve({
        ws,
        next: async (match) => {
          for (;;) {
            const index = messages.findIndex(match);
            if (index >= 0) return messages.splice(index, 1)[0];
            await new Promise<void>((wake) => waiters.push(wake));
          }
        },
      }),
    );
  });
}

t.test('REST and WebSocket as the SASL users, under their ACLs', async (t) => {
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The test sets things up over PLAINTEXT as ANONYMOUS; HTTP never acts as ANONYMOUS once authentication is on.
      'super.users': 'User:admin;User:ANONYMOUS',
    },
  });
  const url = broker.httpUrl!;
  const raw = await RawClient.connect(`127.0.0.1:${broker.portOf('PLAINTEXT')}`);
  t.teardown(() => raw.close());
  const salt = randomBytes(16);
  const { body } = await raw.request(51, 0, {
    deletions: [],
    upsertions: [{ name: 'bob', mechanism: 1, iterations: 4096, salt, saltedPassword: saltPassword('SCRAM-SHA-256', 'bob-pw', salt, 4096) }],
  });
  t.equal(body.results[0].errorCode, 0, "bob's SCRAM-SHA-256 credential");
  const kafka = new Kafka({ clientId: 'http-auth', brokers: [`127.0.0.1:${broker.portOf('PLAINTEXT')}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'allowed' }, { topic: 'secret' }] });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'allowed', messages: [{ key: 'k', value: 'for alice' }] });
  await producer.send({ topic: 'secret', messages: [{ value: 'not for alice' }] });
  const allow = (resourceType: number, resourceName: string, operation: number) => ({
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  await admin.createAcls({
    acl: [
      allow(AclResourceTypes.TOPIC, 'allowed', AclOperationTypes.READ), // READ implies DESCRIBE
      allow(AclResourceTypes.TOPIC, 'allowed', AclOperationTypes.WRITE),
      allow(AclResourceTypes.GROUP, 'alice-group', AclOperationTypes.READ),
    ] as never,
  });
  // Committed offsets to look at, for a group alice may and one she may not see.
  for (const groupId of ['alice-group', 'other-group']) {
    await admin.setOffsets({ groupId, topic: 'allowed', partitions: [{ partition: 0, offset: '0' }] });
  }

  const clusterId = broker.logs.clusterId;
  const cluster = `${url}/v3/clusters/${clusterId}`;
  const as =
    (authorization?: string) =>
    (path: string, init: RequestInit = {}) =>
      fetch(path.startsWith('http') ? path : `${cluster}${path}`, { ...init, headers: { ...(init.headers ?? {}), ...(authorization ? { authorization } : {}) } });
  const anonymous = as();
  const alice = as(basic('alice', 'alice-pw'));
  const bob = as(basic('bob', 'bob-pw'));
  const superUser = as(basic('admin', 'admin-pw'));

  // Without credentials: 401 everywhere but the probes.
  for (const path of [`${url}/v3/clusters`, `${cluster}/topics`, `${url}/metrics`, `${url}/console/`]) {
    const response = await anonymous(path);
    t.equal(response.status, 401, `${path}: 401 without credentials`);
    t.match(response.headers.get('www-authenticate'), /^Basic realm="Spate"/);
  }
  t.match(await (await anonymous(`${cluster}/topics`)).json(), { error_code: 40101, message: /Authentication required/ });
  t.equal((await anonymous(`${url}/health`)).status, 200, '/health needs no credentials');
  t.equal((await anonymous(`${url}/ready`)).status, 200);
  const wrong = await as(basic('alice', 'nope'))(`${cluster}/topics`);
  t.equal(wrong.status, 401);
  t.match(await wrong.json(), { error_code: 40101, message: /Invalid username or password/ });
  t.equal((await as(basic('bob', 'alice-pw'))(`${cluster}/topics`)).status, 401, 'a SCRAM user with the wrong password');
  t.equal((await as('Bearer abc')(`${cluster}/topics`)).status, 401, 'only Basic');
  t.equal(await socket(url), 401, 'the WebSocket upgrade needs credentials too');

  // alice (PLAIN): her topic only.
  const names = async (fetcher: typeof alice) => ((await (await fetcher('/topics')).json()) as { data: Array<{ topic_name: string }> }).data.map((topic) => topic.topic_name);
  t.same(await names(alice), ['allowed'], 'alice lists only what she may describe');
  t.same(await names(bob), [], 'bob (SCRAM, no ACLs) sees no topic');
  t.ok((await names(superUser)).includes('secret'), 'the super user sees everything');
  t.equal((await alice('/topics/allowed')).status, 200);
  const hidden = await alice('/topics/secret');
  t.equal(hidden.status, 403);
  t.match(await hidden.json(), { error_code: 40301, message: /TOPIC_AUTHORIZATION_FAILED/ });
  t.equal((await alice('/topics/allowed/configs')).status, 403, 'configs need DESCRIBE_CONFIGS');
  t.equal((await superUser('/topics/allowed/configs')).status, 200);
  t.equal((await alice('/topics/allowed/partitions/0/records?offset=0')).status, 200, 'READ: records');
  t.same(((await (await alice('/topics/allowed/partitions/0/records?offset=0')).json()) as any).data[0].value, { type: 'STRING', data: 'for alice' });
  t.equal((await alice('/topics/secret/partitions/0/records')).status, 403);
  t.equal((await bob('/topics/allowed/partitions/0/records')).status, 403);

  const produce = (fetcher: typeof alice, topic: string) =>
    fetcher(`/topics/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: { type: 'STRING', data: 'via REST' } }) });
  const produced = await produce(alice, 'allowed');
  t.equal(produced.status, 200, 'WRITE: produce');
  t.match(await produced.json(), { error_code: 200, topic_name: 'allowed' });
  const refused = await produce(alice, 'secret');
  t.equal(refused.status, 403, 'no WRITE on secret: refused by the Produce handler');
  t.match(await refused.json(), { error_code: 40301, message: /TOPIC_AUTHORIZATION_FAILED/ });
  const create = await alice('/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic_name: 'alices-own' }) });
  t.equal(create.status, 403, 'no CREATE: CreateTopics refuses');
  t.equal((await superUser('/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic_name: 'admins-own' }) })).status, 201);

  const groups = ((await (await alice('/consumer-groups')).json()) as { data: Array<{ consumer_group_id: string }> }).data.map((group) => group.consumer_group_id);
  t.same(groups, ['alice-group'], 'groups she may describe');
  t.equal((await alice('/consumer-groups/alice-group/lags')).status, 200);
  t.equal((await alice('/consumer-groups/other-group/lags')).status, 403);
  t.match(await (await alice('/consumer-groups/other-group')).json(), { error_code: 40301, message: /GROUP_AUTHORIZATION_FAILED/ });

  // WebSocket as alice: her topic, not the other; produce under WRITE.
  const session = await socket(url, basic('alice', 'alice-pw'));
  if (typeof session === 'number') throw new Error(`upgrade refused: ${session}`);
  t.teardown(() => session.ws.close());
  session.ws.send(JSON.stringify({ op: 'subscribe', id: 's1', topic: 'allowed', from: 'beginning' }));
  t.same((await session.next((m) => m.op === 'records' && m.id === 's1')).records[0].value, 'for alice');
  session.ws.send(JSON.stringify({ op: 'subscribe', id: 's2', topic: 'secret' }));
  t.match(await session.next((m) => m.op === 'error' && m.id === 's2'), { error_code: 29, message: /TOPIC_AUTHORIZATION_FAILED/ });
  session.ws.send(JSON.stringify({ op: 'subscribe', id: 's3', topic: 'allowed', group: 'other-group' }));
  t.match(await session.next((m) => m.op === 'error' && m.id === 's3'), { error_code: 30 });
  session.ws.send(JSON.stringify({ op: 'produce', id: 'p1', topic: 'secret', value: { type: 'STRING', data: 'x' } }));
  t.match(await session.next((m) => m.op === 'error' && m.id === 'p1'), { error_code: 40301 });
  session.ws.send(JSON.stringify({ op: 'produce', id: 'p2', topic: 'allowed', value: { type: 'STRING', data: 'over ws' } }));
  t.match(await session.next((m) => m.op === 'ack' && m.id === 'p2'), { partition: 0 });

  t.equal((await alice(`${url}/metrics`)).status, 200, '/metrics for any authenticated user');
  t.equal((await alice(`${url}/console/`)).status, 200);
});

t.test('spate.http.authentication: none keeps the gateway open under an authorizer; basic asks without one', async (t) => {
  const open = await startTestBroker(t, {
    config: {
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'allow.everyone.if.no.acl.found': true,
      'spate.http.authentication': 'none',
    },
  });
  t.equal((await fetch(`${open.httpUrl!}/v3/clusters`)).status, 200, 'none: User:ANONYMOUS, under the ACLs');
  const closed = await startTestBroker(t, {
    config: {
      'spate.http.authentication': 'basic',
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_carol="carol-pw";',
    },
  });
  t.equal((await fetch(`${closed.httpUrl!}/v3/clusters`)).status, 401);
  t.equal((await fetch(`${closed.httpUrl!}/v3/clusters`, { headers: { authorization: basic('carol', 'carol-pw') } })).status, 200, 'basic: any broker user, no authorizer');
});

t.test('Bearer tokens where a listener offers OAUTHBEARER, checked by its validator', async (t) => {
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:dave',
    },
  });
  const clusters = (authorization: string) => fetch(`${broker.httpUrl!}/v3/clusters/${broker.logs.clusterId}/topics`, { headers: { authorization } });
  const good = await clusters(`Bearer ${unsecuredToken({ sub: 'dave', scope: 'kafka' })}`);
  t.equal(good.status, 200, 'a valid token: its subject, User:dave, a super user');
  const noScope = await clusters(`Bearer ${unsecuredToken({ sub: 'dave' })}`);
  t.equal(noScope.status, 401, "the validator's required scope applies");
  const expired = await clusters(`Bearer ${unsecuredToken({ sub: 'dave', scope: 'kafka', exp: Math.floor(Date.now() / 1000) - 60 })}`);
  t.equal(expired.status, 401, 'an expired token is refused');
  t.match(await expired.json(), { error_code: 40101, message: /Authentication failed/ });
  t.equal((await clusters('Bearer not-a-jwt')).status, 401);
});
