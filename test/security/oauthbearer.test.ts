// SASL/OAUTHBEARER (KIP-255, KIP-768) on a broker with two OAUTHBEARER listeners: DEV takes
// unsecured JWS with Kafka's unsecured validator (a required scope, a clock skew), OIDC takes
// only JWTs signed by a key of a JWKS file, with the expected audience and issuer. An
// authorizer is on and User:alice may write only to oauth-* topics, so every successful
// produce below also proves the principal is User:<sub>.
// - raw exchanges: the session lifetime is the token's remaining life (bounded by
//   connections.max.reauth.ms); a refused token gets Kafka's error challenge
//   {"status":"invalid_token"} (insufficient_scope with the scope), the client's 0x01, then
//   SASL_AUTHENTICATION_FAILED carrying that JSON, then a close; malformed messages and a
//   different authorization id are refused with Kafka's messages.
// - kafkajs (oauthBearerProvider) with RS256 and ES256 tokens, and refused with a token
//   signed by an unknown key or expired;
// - librdkafka (confluent-kafka-python 2.16): its unsecured JWT (sasl.oauthbearer.config
//   principal=... scope=...) and a signed token handed over by oauth_cb;
// - Kafka's Java client: OAuthBearerLoginModule's unsecured token, and
//   OAuthBearerLoginCallbackHandler reading a signed token from a file: token endpoint.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { compileJavaClient } from './java-client.js';
import { clientFirstMessage, signedToken, signingKey, unsecuredToken, writeJwks } from './tokens.js';

const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';
const PYTHON_CLIENT = fileURLToPath(new URL('../fixtures/librdkafka_oauth.py', import.meta.url));
const ISSUER = 'https://issuer.test';
const nowSeconds = () => Math.floor(Date.now() / 1000);

const rsa = signingKey('rsa-1', 'RS256');
const ec = signingKey('ec-1', 'ES256');
const stranger = signingKey('rsa-1', 'RS256'); // same kid, a key the JWKS does not hold

async function setup(t: Test) {
  const java = javaToolsAvailable() ? await compileJavaClient(t) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'spate-oauth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const jwks = join(dir, 'jwks.json');
  writeJwks(jwks, [rsa, ec]);
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,DEV://127.0.0.1:0,OIDC://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,DEV:SASL_PLAINTEXT,OIDC:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'listener.name.dev.oauthbearer.sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka" unsecuredValidatorAllowableClockSkewMs="2000";',
      'listener.name.oidc.oauthbearer.sasl.server.callback.handler.class': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler',
      'listener.name.oidc.oauthbearer.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwks).href,
      'sasl.oauthbearer.expected.audience': 'spate,other',
      'sasl.oauthbearer.expected.issuer': ISSUER,
      'connections.max.reauth.ms': 600_000,
      'authorizer.class.name': STANDARD_AUTHORIZER,
      'super.users': 'User:ANONYMOUS',
    },
  });
  const admin = await RawClient.connect(broker.bootstrap);
  t.teardown(() => admin.close());
  const created = await admin.request(19, 5, {
    topics: [{ name: 'oauth-topic', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.equal(created.body.topics[0].errorCode, 0, 'topic created on PLAINTEXT (a super user)');
  const acl = (operation: number, resourceType: number, name: string, patternType: number) => ({
    resourceType,
    resourceName: name,
    resourcePatternType: patternType,
    principal: 'User:alice',
    host: '*',
    operation,
    permissionType: 3,
  });
  // alice: WRITE on oauth-* (which implies DESCRIBE, and lets an idempotent producer in, KIP-679).
  const acls = await admin.request(30, 3, { creations: [acl(4, 2, 'oauth-', 4)] });
  t.same(
    acls.body.results.map((r: { errorCode: number }) => r.errorCode),
    [0],
    'ACL for User:alice created',
  );
  return { broker, java, dir, dev: `127.0.0.1:${broker.portOf('DEV')}`, oidc: `127.0.0.1:${broker.portOf('OIDC')}` };
}

async function authenticate(address: string, message: Buffer) {
  const client = await RawClient.connect(address);
  const handshake = await client.request(17, 1, { mechanism: 'OAUTHBEARER' }, 1);
  const first = await client.request(36, 2, { authBytes: message }, 2);
  return { client, handshake: handshake.body, first: first.body };
}

const METADATA = { topics: [{ name: 'oauth-topic' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true };

t.test('OAUTHBEARER', async (t) => {
  const { broker, java, dir, dev, oidc } = await setup(t);

  t.test('raw exchanges', async (t) => {
    const good = await authenticate(dev, clientFirstMessage(unsecuredToken({ sub: 'alice', scope: ['kafka', 'more'], exp: nowSeconds() + 60 })));
    t.same(good.handshake.mechanisms, ['OAUTHBEARER'], 'SaslHandshake offers OAUTHBEARER');
    t.equal(good.first.errorCode, 0, 'an unsecured token with the required scope is accepted');
    const lifetime = Number(good.first.sessionLifetimeMs);
    t.ok(lifetime > 55_000 && lifetime <= 60_000, `the session lasts as long as the token (${lifetime} ms), less than connections.max.reauth.ms`);
    const metadata = await good.client.request(3, 12, METADATA, 3);
    t.equal(metadata.body.topics[0].errorCode, 0, 'User:alice may describe oauth-topic');
    t.ok(metadata.body.topics[0].topicAuthorizedOperations & (1 << 4), 'and write to it');
    good.client.close();

    const long = await authenticate(dev, clientFirstMessage(unsecuredToken({ sub: 'alice', scope: 'kafka', exp: nowSeconds() + 7200 })));
    t.equal(long.first.sessionLifetimeMs, 600_000n, 'a token outliving connections.max.reauth.ms: the session lasts connections.max.reauth.ms');
    long.client.close();

    const refusals: Array<[string, string, Buffer, string]> = [
      [dev, 'expired', clientFirstMessage(unsecuredToken({ sub: 'alice', scope: 'kafka', iat: nowSeconds() - 600, exp: nowSeconds() - 300 })), '{"status":"invalid_token"}'],
      [dev, 'without the required scope', clientFirstMessage(unsecuredToken({ sub: 'alice', scope: 'other' })), '{"status":"insufficient_scope", "scope":"[kafka]"}'],
      [dev, 'without sub', clientFirstMessage(unsecuredToken({ scope: 'kafka' })), '{"status":"invalid_token"}'],
      [dev, 'signed (the unsecured validator wants "none")', clientFirstMessage(signedToken(rsa, { sub: 'alice', scope: 'kafka' })), '{"status":"invalid_token"}'],
      [oidc, 'unsigned on the JWKS listener', clientFirstMessage(unsecuredToken({ sub: 'alice', aud: 'spate', iss: ISSUER })), '{"status":"invalid_token"}'],
      [oidc, 'signed by a key not in the JWKS', clientFirstMessage(signedToken(stranger, { sub: 'alice', aud: 'spate', iss: ISSUER })), '{"status":"invalid_token"}'],
      [oidc, 'for another audience', clientFirstMessage(signedToken(rsa, { sub: 'alice', aud: 'elsewhere', iss: ISSUER })), '{"status":"invalid_token"}'],
      [oidc, 'from another issuer', clientFirstMessage(signedToken(rsa, { sub: 'alice', aud: 'spate', iss: 'https://evil.test' })), '{"status":"invalid_token"}'],
      [
        oidc,
        'expired beyond the 30 s clock skew',
        clientFirstMessage(signedToken(rsa, { sub: 'alice', aud: 'spate', iss: ISSUER, iat: nowSeconds() - 600, exp: nowSeconds() - 60 })),
        '{"status":"invalid_token"}',
      ],
      [oidc, 'without iat', clientFirstMessage(signedToken(ec, { sub: 'alice', aud: 'spate', iss: ISSUER, iat: undefined })), '{"status":"invalid_token"}'],
    ];
    for (const [address, what, message, challenge] of refusals) {
      const refused = await authenticate(address, message);
      t.equal(refused.first.errorCode, 0, `${what}: the first answer is the error challenge`);
      t.equal(refused.first.authBytes.toString(), challenge, `${what}: ${challenge}`);
      const final = await refused.client.request(36, 2, { authBytes: Buffer.from([1]) }, 3);
      t.equal(final.body.errorCode, 58, `${what}: after the client's 0x01, SASL_AUTHENTICATION_FAILED`);
      t.equal(final.body.errorMessage, challenge, `${what}: with the JSON as the message, as Kafka sends it`);
      await refused.client.closed;
    }

    const skewed = await authenticate(oidc, clientFirstMessage(signedToken(rsa, { sub: 'alice', aud: 'other', iss: ISSUER, iat: nowSeconds() - 600, exp: nowSeconds() - 5 })));
    t.equal(skewed.first.errorCode, 0, 'a token 5 s past its exp is still accepted within sasl.oauthbearer.clock.skew.seconds=30');
    t.equal(skewed.first.authBytes.length, 0);
    skewed.client.close();

    const malformed = await authenticate(dev, Buffer.from('n,,auth=Bearer x'));
    t.equal(malformed.first.errorCode, 58, 'a malformed client message: SASL_AUTHENTICATION_FAILED at once');
    t.equal(malformed.first.errorMessage, 'Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER');
    await malformed.client.closed;

    const otherAuthzid = await authenticate(dev, clientFirstMessage(unsecuredToken({ sub: 'alice', scope: 'kafka' }), 'bob'));
    t.equal(otherAuthzid.first.errorCode, 58, 'an authorization id other than the token subject is refused');
    t.match(otherAuthzid.first.errorMessage, /authorization id \(bob\) that is different from the token's principal name \(alice\)/);
    await otherAuthzid.client.closed;

    const beforeToken = await RawClient.connect(dev);
    t.equal((await beforeToken.request(17, 1, { mechanism: 'OAUTHBEARER' }, 1)).body.errorCode, 0);
    const pending = await beforeToken.request(36, 2, { authBytes: clientFirstMessage(unsecuredToken({ sub: 'alice' })) }, 2);
    t.match(pending.body.authBytes.toString(), /insufficient_scope/);
    beforeToken.write((await import('../helpers/raw-client.js')).encodeRequest(3, 12, 3, METADATA));
    await beforeToken.closed;
    t.pass('a request after a refused token (instead of the 0x01) closes the connection');
  });

  t.test('kafkajs with signed tokens', async (t) => {
    const client = (token: string) =>
      new Kafka({
        clientId: 'oauth-kafkajs',
        brokers: [oidc],
        sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) },
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      });
    for (const key of [rsa, ec]) {
      const producer = client(signedToken(key, { sub: 'alice', aud: ['spate'], iss: ISSUER })).producer();
      await producer.connect();
      const [sent] = await producer.send({ topic: 'oauth-topic', messages: [{ value: `kafkajs ${key.alg}` }] });
      t.equal(sent!.errorCode, 0, `kafkajs produces as User:alice with an ${key.alg} token`);
      await producer.disconnect();
    }
    for (const [what, token] of [
      ['signed by an unknown key', signedToken(stranger, { sub: 'alice', aud: 'spate', iss: ISSUER })],
      ['expired', signedToken(ec, { sub: 'alice', aud: 'spate', iss: ISSUER, iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })],
    ] as const) {
      const producer = client(token).producer();
      await t.rejects(
        (async () => {
          await producer.connect();
          await producer.send({ topic: 'oauth-topic', messages: [{ value: 'never' }] });
        })(),
        `kafkajs with a token ${what} is refused`,
      );
      await producer.disconnect().catch(() => undefined);
    }
    const bob = client(signedToken(rsa, { sub: 'bob', aud: 'spate', iss: ISSUER })).producer();
    await bob.connect();
    await t.rejects(bob.send({ topic: 'oauth-topic', messages: [{ value: 'bob' }] }), /authori[sz]/i, 'User:bob (no ACL) may not write: the principal is the sub claim');
    await bob.disconnect();
  });

  t.test('librdkafka: unsecured JWT and oauth_cb', async (t) => {
    const available = await run('python3', ['-c', 'import confluent_kafka']);
    if (available.code !== 0) {
      t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
      return;
    }
    const python = async (address: string, ...args: string[]) => {
      const result = await run('python3', [PYTHON_CLIENT, address, 'oauth-topic', '1', ...args], undefined, 60_000);
      t.equal(result.code, 0, 'the librdkafka client ran', result.code === 0 ? {} : { stderr: result.stderr.slice(-2000) });
      return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { sent: number; delivered: number; errors: string[] };
    };
    const unsecured = await python(dev, 'unsecured', 'alice', 'kafka,other');
    t.ok(unsecured.delivered >= 3 && unsecured.delivered === unsecured.sent, `librdkafka's unsecured JWT: ${unsecured.delivered} records delivered as User:alice`);
    const exp = nowSeconds() + 3600;
    const signed = await python(oidc, 'token', signedToken(ec, { sub: 'alice', aud: 'spate', iss: ISSUER, exp }), String(exp));
    t.ok(signed.delivered >= 3 && signed.delivered === signed.sent, `librdkafka with an ES256 token from oauth_cb: ${signed.delivered} records delivered`);
    const refused = await python(oidc, 'token', signedToken(stranger, { sub: 'alice', aud: 'spate', iss: ISSUER, exp }), String(exp));
    t.equal(refused.delivered, 0, 'librdkafka with a token signed by an unknown key delivers nothing');
    t.match(refused.errors.join('\n'), /invalid_token|authentication|SASL/i, `and reports the authentication failure (${refused.errors[0]})`);
  });

  t.test("Kafka's Java client: unsecured login module and a signed token from a file: endpoint", { skip: java === undefined ? 'Kafka Java jars missing' : false }, async (t) => {
    const tokenFile = join(dir, 'token.jwt');
    writeFileSync(tokenFile, signedToken(rsa, { sub: 'alice', aud: 'spate', iss: ISSUER, scope: 'kafka' }));
    const unsecured = java!.properties('java-unsecured', {
      'bootstrap.servers': dev,
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': 'OAUTHBEARER',
      'sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginListClaim_scope=",kafka";',
    });
    const signed = java!.properties('java-signed', {
      'bootstrap.servers': oidc,
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': 'OAUTHBEARER',
      'sasl.login.callback.handler.class': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler',
      'sasl.oauthbearer.token.endpoint.url': pathToFileURL(tokenFile).href,
      'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;',
    });
    const results = await java!.run(['produce', '2', 'oauth-topic', unsecured, signed], { 'org.apache.kafka.sasl.oauthbearer.allowed.urls': pathToFileURL(tokenFile).href });
    t.equal(results.length, 2, 'two producers reported', { results });
    for (const result of results) {
      t.notOk(result.exception, `${String(result.config)}: no exception (${String(result.exception ?? '')})`);
      t.ok(
        (result.acked as number) > 0 && result.failed === 0,
        `${String(result.config)}: ${String(result.acked)} records acknowledged as User:alice, none failed (${String(result.firstError)})`,
      );
    }
  });

  t.test('the JWKS file is read again when it changes', async (t) => {
    const rotated = signingKey('rsa-2', 'RS256');
    const token = clientFirstMessage(signedToken(rotated, { sub: 'alice', aud: 'spate', iss: ISSUER }));
    const before = await authenticate(oidc, token);
    t.equal(before.first.authBytes.toString(), '{"status":"invalid_token"}', 'a key not yet published is refused');
    before.client.close();
    writeJwks(join(dir, 'jwks.json'), [rsa, ec, rotated]);
    const after = await authenticate(oidc, token);
    t.equal(after.first.errorCode, 0, 'once the JWKS file holds it, the same token is accepted (no restart)');
    t.equal(after.first.authBytes.length, 0);
    after.client.close();
  });

  t.test('the broker counted the logins', async (t) => {
    const { authentications, failedAuthentications } = broker.security.stats;
    t.ok(authentications > 10 && failedAuthentications > 10, `${authentications} OAUTHBEARER logins and ${failedAuthentications} refusals counted`);
  });
});
