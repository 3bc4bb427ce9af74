// `--command-config FILE` (Kafka client properties) against a broker serving SSL, SASL_SSL and
// SASL_PLAINTEXT: TLS with a PEM truststore (the host checked against the certificate), SASL
// PLAIN from sasl.jaas.config, SCRAM-SHA-256 and -512 from sasl.username / sasl.password,
// refusals named as Kafka names them; and the properties format itself.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientSecurity, parseProperties } from '../../src/cli/command-config.js';
import { saltPassword } from '../../src/security/scram.js';
import { startTestBroker } from '../helpers/broker.js';
import { run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { makeCertificates } from '../security/certificates.js';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));

t.test('the properties format', async (t) => {
  const properties = parseProperties(
    [
      '# a comment',
      '! another',
      'security.protocol = SASL_SSL',
      'sasl.mechanism:PLAIN',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\',
      '    username="alice" \\',
      '    password="a=b;c";',
      'path=C:\\\\dir',
      'empty=',
    ].join('\n'),
  );
  t.equal(properties.get('security.protocol'), 'SASL_SSL');
  t.equal(properties.get('sasl.mechanism'), 'PLAIN');
  t.equal(properties.get('sasl.jaas.config'), 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a=b;c";', 'continuation lines');
  t.equal(properties.get('path'), 'C:\\dir', 'escapes');
  t.equal(properties.get('empty'), '');
  t.same(clientSecurity(properties).sasl, { mechanism: 'PLAIN', username: 'alice', password: 'a=b;c' });
  t.same(clientSecurity(new Map()), {}, 'PLAINTEXT by default');
  t.throws(() => clientSecurity(new Map([['security.protocol', 'SASL_PLAINTEXT']])), /sasl.mechanism GSSAPI is not supported/);
  t.throws(() => clientSecurity(new Map([['security.protocol', 'SSL_PLAIN']])), /security.protocol SSL_PLAIN is not one of/);
  t.throws(
    () =>
      clientSecurity(
        new Map([
          ['security.protocol', 'SASL_PLAINTEXT'],
          ['sasl.mechanism', 'SCRAM-SHA-256'],
        ]),
      ),
    /needs a username and password/,
  );
  t.equal(clientSecurity(new Map([['security.protocol', 'SSL']])).tls?.ca, undefined, 'SSL without a truststore: the system CAs');
});

t.test('SSL, SASL PLAIN and SCRAM through --command-config', async (t) => {
  const certs = makeCertificates(t);
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.serverKeystore,
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
    },
  });
  const raw = await RawClient.connect(`127.0.0.1:${broker.portOf('PLAINTEXT')}`);
  t.teardown(() => raw.close());
  for (const [mechanism, user, password] of [
    [1, 'bob', 'bob-secret'],
    [2, 'carol', 'carol-secret'],
  ] as const) {
    const salt = randomBytes(16);
    const saltedPassword = saltPassword(mechanism === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512', password, salt, 4096);
    const { body } = await raw.request(51, 0, { deletions: [], upsertions: [{ name: user, mechanism, iterations: 4096, salt, saltedPassword }] });
    t.equal(body.results[0].errorCode, 0, `${user}'s SCRAM credential`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'spate-command-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const spate = async (listener: string, properties: string[], ...args: string[]) => {
    const file = join(dir, `client-${files++}.properties`);
    writeFileSync(file, properties.join('\n'));
    return run(process.execPath, [BIN, ...args, '--bootstrap-server', `127.0.0.1:${broker.portOf(listener)}`, '--command-config', file]);
  };
  const trust = ['ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caCert}`];

  const created = await spate('SSL', ['security.protocol=SSL', ...trust], 'topics', 'create', '--topic', 'secured', '--json');
  t.equal(created.code, 0, `SSL with a PEM truststore: ${created.stderr}`);
  const plain = await spate(
    'SASL_SSL',
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=PLAIN',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";',
      ...trust,
    ],
    'produce',
    '--topic',
    'secured',
    '--json',
  );
  t.equal(plain.code, 0, `SASL_SSL PLAIN: ${plain.stderr}`);
  const scram256 = await spate(
    'SASL_PLAINTEXT',
    ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-256', 'sasl.username=bob', 'sasl.password=bob-secret'],
    'topics',
    'list',
    '--json',
  );
  t.equal(scram256.code, 0, `SASL_PLAINTEXT SCRAM-SHA-256: ${scram256.stderr}`);
  t.ok((JSON.parse(scram256.stdout) as string[]).includes('secured'));
  const scram512 = await spate(
    'SASL_SSL',
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="carol" password="carol-secret";',
      ...trust,
    ],
    'cluster',
    '--json',
  );
  t.equal(scram512.code, 0, `SASL_SSL SCRAM-SHA-512: ${scram512.stderr}`);
  t.equal(JSON.parse(scram512.stdout).brokers[0].port, broker.portOf('SASL_SSL'), 'the brokers as advertised on the SASL_SSL listener');

  const wrongPassword = await spate(
    'SASL_PLAINTEXT',
    ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-256', 'sasl.username=bob', 'sasl.password=nope'],
    'topics',
    'list',
  );
  t.equal(wrongPassword.code, 1);
  t.match(wrongPassword.stderr, /SASL_AUTHENTICATION_FAILED/);
  const wrongPlain = await spate('SASL_PLAINTEXT', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=alice', 'sasl.password=nope'], 'topics', 'list');
  t.match(wrongPlain.stderr, /SASL_AUTHENTICATION_FAILED: Authentication failed: Invalid username or password/);
  const noTrust = await spate('SSL', ['security.protocol=SSL'], 'topics', 'list');
  t.equal(noTrust.code, 1);
  t.match(noTrust.stderr, /self[- ]signed|unable to verify|certificate/i, 'the broker certificate is checked');
  writeFileSync(join(dir, 'store.jks'), Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]));
  const jks = await spate('SSL', ['security.protocol=SSL', 'ssl.truststore.type=JKS', `ssl.truststore.location=${join(dir, 'store.jks')}`], 'topics', 'list');
  t.match(jks.stderr, /only PEM stores are read \(set ssl.truststore.type=PEM\); JKS is not supported/);
  const wrongProtocol = await spate('SASL_PLAINTEXT', [], 'topics', 'list');
  t.equal(wrongProtocol.code, 1, 'PLAINTEXT to a SASL listener is refused');
});
