// KIP-368 with real clients: connections.max.reauth.ms=2000, so every SASL session lasts two
// seconds; clients that support re-authentication renew it on the same connection with
// SaslHandshake + SaslAuthenticate and are never disconnected. Measured on both sides: the
// clients' own connection and re-authentication counts, the broker's authentication,
// re-authentication and expired-session counts.
// - Kafka's Java client, three producers at once for 8 s (four lifetimes): SASL/PLAIN,
//   SCRAM-SHA-256 and OAUTHBEARER (an unsecured token);
// - librdkafka (confluent-kafka-python 2.16) with OAUTHBEARER for 6 s;
// - kafkajs with SCRAM-SHA-512 (reauthenticationThreshold) for 6 s.

import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { saltPassword } from '../../src/security/scram.js';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { compileJavaClient } from './java-client.js';

const PYTHON_CLIENT = fileURLToPath(new URL('../fixtures/librdkafka_oauth.py', import.meta.url));
const LIFETIME_MS = 2000;

t.test('clients re-authenticate on the same connection', async (t) => {
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_pat="pat-secret";',
      'connections.max.reauth.ms': LIFETIME_MS,
    },
  });
  const sasl = `127.0.0.1:${broker.portOf('SASL_PLAINTEXT')}`;
  const admin = await RawClient.connect(broker.bootstrap);
  t.teardown(() => admin.close());
  for (const [id, mechanism, name] of [
    [1, 1, 'SCRAM-SHA-256'],
    [2, 2, 'SCRAM-SHA-512'],
  ] as const) {
    const salt = randomBytes(16);
    const saltedPassword = saltPassword(name, 'sam-secret', salt, 4096);
    const stored = await admin.request(51, 0, { deletions: [], upsertions: [{ name: 'sam', mechanism, iterations: 4096, salt, saltedPassword }] }, id);
    t.equal(stored.body.results[0].errorCode, 0, `${name} credential for sam`);
  }
  const created = await admin.request(
    19,
    5,
    { topics: [{ name: 'renewed', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false },
    3,
  );
  t.equal(created.body.topics[0].errorCode, 0);
  const stats = broker.security.stats;
  const snapshot = () => ({ ...stats });
  const delta = (before: typeof stats) => ({
    authentications: stats.authentications - before.authentications,
    reauthentications: stats.reauthentications - before.reauthentications,
    failedReauthentications: stats.failedReauthentications - before.failedReauthentications,
    expiredSessions: stats.expiredSessions - before.expiredSessions,
  });

  t.test("Kafka's Java client: PLAIN, SCRAM-SHA-256, OAUTHBEARER", { skip: javaToolsAvailable() ? false : 'Kafka Java jars missing' }, async (t) => {
    const java = await compileJavaClient(t);
    const common = { 'bootstrap.servers': sasl, 'security.protocol': 'SASL_PLAINTEXT' };
    const configs = [
      java.properties('plain', {
        ...common,
        'sasl.mechanism': 'PLAIN',
        'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required username="pat" password="pat-secret";',
      }),
      java.properties('scram', {
        ...common,
        'sasl.mechanism': 'SCRAM-SHA-256',
        'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="sam" password="sam-secret";',
      }),
      java.properties('oauthbearer', {
        ...common,
        'sasl.mechanism': 'OAUTHBEARER',
        'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="olive";',
      }),
    ];
    const before = snapshot();
    const results = await java.run(['produce', '8', 'renewed', ...configs]);
    const broker = delta(before);
    t.equal(results.length, 3, 'three producers reported', { results });
    for (const result of results) {
      const name = String(result.config).replace(/.*\//, '').replace('.properties', '');
      t.notOk(result.exception, `${name}: no exception`, { exception: result.exception });
      t.equal(result.failed, 0, `${name}: ${String(result.acked)} of ${String(result.sent)} records acknowledged, none failed`, { firstError: result.firstError });
      t.equal(result.acked, result.sent);
      t.ok((result.reauthentications as number) >= 3, `${name}: ${String(result.reauthentications)} re-authentications on the client's side in 8 s`);
      t.equal(result.failedReauthentications, 0, `${name}: no failed re-authentication`);
      t.ok((result.connections as number) <= 2, `${name}: ${String(result.connections)} connection(s) opened in 8 s (bootstrap + broker), none reopened`);
      t.equal(result.closed, 0, `${name}: no connection closed`);
    }
    t.comment(`broker: ${broker.authentications} authentications, ${broker.reauthentications} re-authentications, ${broker.expiredSessions} expired sessions closed`);
    t.ok(broker.reauthentications >= 9, `the broker counted ${broker.reauthentications} re-authentications`);
    t.ok(broker.authentications <= 6, `and ${broker.authentications} first authentications (one per connection)`);
    t.equal(broker.failedReauthentications, 0);
    t.equal(broker.expiredSessions, 0, 'no session expired: every connection was renewed in time');
  });

  t.test('librdkafka with OAUTHBEARER', async (t) => {
    const available = await run('python3', ['-c', 'import confluent_kafka']);
    if (available.code !== 0) {
      t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
      return;
    }
    const before = snapshot();
    const result = await run('python3', [PYTHON_CLIENT, sasl, 'renewed', '6', 'unsecured', 'rita', 'kafka'], undefined, 60_000);
    t.equal(result.code, 0, 'the librdkafka client ran', result.code === 0 ? {} : { stderr: result.stderr.slice(-2000) });
    const seen = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { sent: number; delivered: number; errors: string[]; connects: number; disconnects: number };
    const broker = delta(before);
    t.equal(seen.delivered, seen.sent, `${seen.delivered} of ${seen.sent} records delivered`);
    t.same(seen.errors, [], 'no client error');
    t.equal(seen.disconnects, 0, 'librdkafka never lost its broker connection');
    t.comment(`broker: ${broker.authentications} authentications, ${broker.reauthentications} re-authentications`);
    t.ok(broker.reauthentications >= 2, `librdkafka re-authenticated ${broker.reauthentications} times in 6 s`);
    t.ok(broker.authentications <= 2, `on ${broker.authentications} connection(s)`);
    t.equal(broker.expiredSessions, 0);
  });

  t.test('kafkajs with SCRAM-SHA-512', async (t) => {
    const kafka = new Kafka({
      clientId: 'renewing-kafkajs',
      brokers: [sasl],
      sasl: { mechanism: 'scram-sha-512', username: 'sam', password: 'sam-secret' },
      // Renew when less than 1.2 s of the 2 s session is left.
      reauthenticationThreshold: 1200,
      logLevel: logLevel.NOTHING,
    } as ConstructorParameters<typeof Kafka>[0]);
    const producer = kafka.producer();
    await producer.connect();
    const before = snapshot();
    let sent = 0;
    for (const deadline = Date.now() + 6000; Date.now() < deadline; sent++) {
      await producer.send({ topic: 'renewed', messages: [{ value: `kafkajs-${sent}` }] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.disconnect();
    const broker = delta(before);
    t.comment(`broker: ${broker.authentications} authentications, ${broker.reauthentications} re-authentications for ${sent} sends`);
    t.ok(broker.reauthentications >= 3, `kafkajs re-authenticated ${broker.reauthentications} times in 6 s`);
    t.equal(broker.authentications, 0, 'without opening a connection');
    t.equal(broker.expiredSessions, 0);
  });
});
