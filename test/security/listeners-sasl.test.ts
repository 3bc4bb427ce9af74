// One broker serving PLAINTEXT, SSL, SASL_SSL and SASL_PLAINTEXT at once: kafkajs over TLS,
// with SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (credentials set with
// AlterUserScramCredentials, kept across a restart), and the SASL state rules checked with
// raw requests: nothing but ApiVersions and SASL before authentication, the legacy v0
// handshake, SASL_AUTHENTICATION_FAILED then a close.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { startBroker, type SpateBroker } from '../../src/index.js';
import { saltPassword } from '../../src/security/scram.js';
import { RawClient } from '../helpers/raw-client.js';
import { makeCertificates } from './certificates.js';

const certs = makeCertificates(t);
const dataDir = mkdtempSync(join(tmpdir(), 'spate-sasl-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

const config = {
  listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
  'ssl.keystore.type': 'PEM',
  'ssl.keystore.location': certs.serverKeystore,
  'ssl.truststore.type': 'PEM',
  'ssl.truststore.location': certs.caCert,
  'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
  'listener.name.sasl_ssl.plain.sasl.jaas.config':
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";',
  'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_plainuser="plain-pw";',
};

async function start(): Promise<SpateBroker> {
  return startBroker({ dataDir, logLevel: 'warn', config });
}

const ca = readFileSync(certs.caCert, 'utf8');

function kafka(broker: SpateBroker, listener: string, sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }) {
  return new Kafka({
    clientId: `security-test-${listener}`,
    brokers: [`127.0.0.1:${broker.portOf(listener)}`],
    ssl: listener.includes('SSL') ? { ca: [ca], servername: 'localhost' } : false,
    ...(sasl !== undefined ? { sasl: sasl as SASLOptions } : {}),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

async function roundTrip(t: Test, client: Kafka, topic: string, value: string): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value }] });
  await producer.disconnect();
  const consumer = client.consumer({ groupId: `${topic}-group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = await new Promise<string>((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) });
  });
  await consumer.disconnect();
  t.equal(received, value, `${topic}: the record came back`);
}

async function setScram(broker: SpateBroker, user: string, mechanism: 1 | 2, password: string): Promise<number> {
  const client = await RawClient.connect(`127.0.0.1:${broker.portOf('PLAINTEXT')}`);
  const salt = randomBytes(16);
  const iterations = 4096;
  const saltedPassword = saltPassword(mechanism === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512', password, salt, iterations);
  const { body } = await client.request(51, 0, { deletions: [], upsertions: [{ name: user, mechanism, iterations, salt, saltedPassword }] });
  client.close();
  return body.results[0].errorCode;
}

t.test('kafkajs over SSL, SASL_SSL with PLAIN and SCRAM; raw SASL rules', async (t) => {
  const broker = await start();
  t.teardown(() => broker.stop());

  await roundTrip(t, kafka(broker, 'SSL'), 'over-ssl', 'tls works');
  await roundTrip(t, kafka(broker, 'SASL_SSL', { mechanism: 'plain', username: 'alice', password: 'alice-secret' }), 'over-plain', 'plain works');

  t.equal(await setScram(broker, 'bob', 1, 'bob-secret'), 0, 'SCRAM-SHA-256 credential for bob stored');
  t.equal(await setScram(broker, 'carol', 2, 'carol-secret'), 0, 'SCRAM-SHA-512 credential for carol stored');
  await roundTrip(t, kafka(broker, 'SASL_SSL', { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-secret' }), 'over-scram-256', 'scram 256');
  await roundTrip(t, kafka(broker, 'SASL_SSL', { mechanism: 'scram-sha-512', username: 'carol', password: 'carol-secret' }), 'over-scram-512', 'scram 512');

  for (const [mechanism, username, password] of [
    ['plain', 'alice', 'wrong'],
    ['scram-sha-256', 'bob', 'wrong'],
    ['scram-sha-512', 'bob', 'bob-secret'], // bob has no SHA-512 credential
    ['scram-sha-256', 'nobody', 'x'],
  ] as const) {
    const admin = kafka(broker, 'SASL_SSL', { mechanism, username, password }).admin();
    await t.rejects(admin.connect(), /SASL|authentication/i, `${mechanism} ${username}/${password} is refused`);
    await admin.disconnect();
  }

  // The broker-wide sasl.jaas.config serves the listeners without their own.
  const raw = await RawClient.connect(`127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`);
  const versions = await raw.request(18, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' }, 1);
  t.equal(versions.body.errorCode, 0, 'ApiVersions is served before authentication');
  t.ok(
    versions.body.apiKeys.some((api: { apiKey: number }) => api.apiKey === 36),
    'SaslAuthenticate is advertised',
  );
  const handshake = await raw.request(17, 0, { mechanism: 'PLAIN' }, 2);
  t.equal(handshake.body.errorCode, 0, 'legacy SaslHandshake v0');
  t.same(handshake.body.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
  const token = Buffer.from('\u0000plainuser\u0000plain-pw');
  const framed = Buffer.alloc(4 + token.length);
  framed.writeInt32BE(token.length, 0);
  token.copy(framed, 4);
  raw.write(framed);
  t.equal((await raw.nextFrame()).length, 0, 'v0: the bare PLAIN token is answered with an empty token');
  const metadata = await raw.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 3);
  t.equal(metadata.body.brokers[0].port, broker.portOf('SASL_PLAINTEXT'), 'Metadata answers the endpoint of the listener asked');
  raw.close();

  const early = await RawClient.connect(`127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`);
  early.write(Buffer.from([0, 0, 0, 1]));
  early.close();
  const beforeAuth = await RawClient.connect(`127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`);
  beforeAuth.write((await import('../helpers/raw-client.js')).encodeRequest(3, 12, 1, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
  await beforeAuth.closed;
  t.pass('Metadata before authentication closes the connection');

  const wrongMechanism = await RawClient.connect(`127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`);
  const refused = await wrongMechanism.request(17, 1, { mechanism: 'GSSAPI' }, 1);
  t.equal(refused.body.errorCode, 33, 'an unsupported mechanism answers UNSUPPORTED_SASL_MECHANISM');
  await wrongMechanism.closed;
  t.pass('and the connection is closed');

  const badPassword = await RawClient.connect(`127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`);
  t.equal((await badPassword.request(17, 1, { mechanism: 'PLAIN' }, 1)).body.errorCode, 0);
  const failed = await badPassword.request(36, 2, { authBytes: Buffer.from('\u0000plainuser\u0000nope') }, 2);
  t.equal(failed.body.errorCode, 58, 'SASL_AUTHENTICATION_FAILED');
  t.match(failed.body.errorMessage, /Invalid username or password/);
  await badPassword.closed;
  t.pass('closed after the failure answer');

  const plaintext = await RawClient.connect(`127.0.0.1:${broker.portOf('PLAINTEXT')}`);
  t.equal((await plaintext.request(17, 1, { mechanism: 'PLAIN' }, 1)).body.errorCode, 34, 'SaslHandshake on PLAINTEXT: ILLEGAL_SASL_STATE');
  const described = await plaintext.request(50, 0, { users: null }, 2);
  t.same(
    described.body.results.map((r: { user: string; credentialInfos: unknown[] }) => [r.user, r.credentialInfos]),
    [
      ['bob', [{ mechanism: 1, iterations: 4096 }]],
      ['carol', [{ mechanism: 2, iterations: 4096 }]],
    ],
    'DescribeUserScramCredentials lists mechanisms and iterations',
  );
  t.equal((await plaintext.request(50, 0, { users: [{ name: 'nobody' }] }, 3)).body.results[0].errorCode, 91, 'unknown user: RESOURCE_NOT_FOUND');
  const bad = await plaintext.request(
    51,
    0,
    { deletions: [{ name: 'dave', mechanism: 1 }], upsertions: [{ name: 'erin', mechanism: 1, iterations: 100, salt: Buffer.from('s'), saltedPassword: Buffer.from('p') }] },
    4,
  );
  t.same(
    bad.body.results.map((r: { errorCode: number }) => r.errorCode),
    [91, 93],
    'deleting a missing credential, too few iterations',
  );
  plaintext.close();
  const describeAcls = await RawClient.connect(`127.0.0.1:${broker.portOf('PLAINTEXT')}`);
  const acls = await describeAcls.request(
    29,
    3,
    { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 },
    1,
  );
  t.equal(acls.body.errorCode, 54, 'no authorizer: DescribeAcls answers SECURITY_DISABLED');
  describeAcls.close();
});

t.test('SCRAM credentials survive a restart', async (t) => {
  const broker = await start();
  t.teardown(() => broker.stop());
  const admin = kafka(broker, 'SASL_SSL', { mechanism: 'scram-sha-512', username: 'carol', password: 'carol-secret' }).admin();
  await admin.connect();
  t.ok((await admin.listTopics()).includes('over-scram-512'), 'carol logs in after the restart and sees the topics');
  await admin.disconnect();
});
