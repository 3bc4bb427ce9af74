// Kafka's own tools and clients against a broker serving PLAINTEXT, SSL (mutual TLS) and
// SASL_SSL at once, with the StandardAuthorizer: kafka-configs creates SCRAM users,
// kafka-acls adds, lists and removes ACLs, kcat (librdkafka) produces with SCRAM-SHA-256
// over SASL_SSL, the Java console producer with SCRAM-SHA-512, and the Java console
// consumer reads over mutual TLS as the principal of its certificate.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';
import { makeCertificates } from './certificates.js';

const ACLS = 'org.apache.kafka.tools.AclCommand';

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('kafka-configs, kafka-acls, kcat SASL_SSL, Java SCRAM and mutual TLS', async (t) => {
    const certs = makeCertificates(t);
    const client = certs.client('mtls', '/O=Spate/CN=mtls-client');
    const clientKeystore = join(certs.dir, 'mtls-keystore.pem');
    writeFileSync(clientKeystore, readFileSync(client.key, 'utf8') + readFileSync(client.cert, 'utf8'));
    const broker = await startTestBroker(t, {
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
        'ssl.keystore.type': 'PEM',
        // The PEM-in-config form for the key store, a PEM file for the trust store.
        'ssl.keystore.key': readFileSync(certs.serverKey, 'utf8'),
        'ssl.keystore.certificate.chain': readFileSync(certs.serverCert, 'utf8'),
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': certs.caCert,
        'listener.name.ssl.ssl.client.auth': 'required',
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        'listener.name.sasl_ssl.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw";',
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:admin',
      },
    });
    const saslSsl = `127.0.0.1:${broker.portOf('SASL_SSL')}`;
    const ssl = `127.0.0.1:${broker.portOf('SSL')}`;
    const properties = (name: string, lines: string[]) => {
      const path = join(certs.dir, `${name}.properties`);
      writeFileSync(path, lines.join('\n') + '\n');
      return path;
    };
    const trust = ['ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caCert}`];
    const admin = properties('admin', [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=PLAIN',
      ...trust,
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw";',
    ]);
    const alice = properties('alice', [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      ...trust,
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-pw";',
    ]);
    const mtls = properties('mtls', ['security.protocol=SSL', ...trust, 'ssl.keystore.type=PEM', `ssl.keystore.location=${clientKeystore}`]);

    const users = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--alter',
      '--add-config',
      'SCRAM-SHA-256=[iterations=8192,password=alice-pw],SCRAM-SHA-512=[password=alice-pw]',
      '--entity-type',
      'users',
      '--entity-name',
      'alice',
    ]);
    t.equal(users.code, 0, users.stderr);
    const described = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--describe',
      '--entity-type',
      'users',
      '--entity-name',
      'alice',
    ]);
    t.equal(described.code, 0, described.stderr);
    t.match(described.stdout, /SCRAM-SHA-256=iterations=8192/, 'kafka-configs describes the SCRAM credential');
    t.match(described.stdout, /SCRAM-SHA-512=iterations=4096/);

    const added = await runKafkaTool(ACLS, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--add',
      '--allow-principal',
      'User:alice',
      '--operation',
      'Write',
      '--topic',
      'secure-',
      '--resource-pattern-type',
      'prefixed',
    ]);
    t.equal(added.code, 0, added.stderr);
    const consumerAcl = await runKafkaTool(ACLS, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--add',
      '--allow-principal',
      'User:CN=mtls-client,O=Spate',
      '--operation',
      'Read',
      '--topic',
      'secure-orders',
      '--group',
      'mtls-group',
    ]);
    t.equal(consumerAcl.code, 0, consumerAcl.stderr);
    const listed = await runKafkaTool(ACLS, ['--bootstrap-server', saslSsl, '--command-config', admin, '--list']);
    t.equal(listed.code, 0, listed.stderr);
    t.match(listed.stdout, /ResourcePattern\(resourceType=TOPIC, name=secure-, patternType=PREFIXED\)/, 'kafka-acls lists the prefixed ACL');
    t.match(listed.stdout, /principal=User:CN=mtls-client,O=Spate, host=\*, operation=READ, permissionType=ALLOW/, 'and the certificate principal');

    const created = await runKafkaTool(TOOLS.topics, ['--bootstrap-server', saslSsl, '--command-config', admin, '--create', '--topic', 'secure-orders', '--partitions', '1']);
    t.equal(created.code, 0, created.stderr);

    const kcat = await run(
      'kcat',
      [
        '-P',
        '-b',
        saslSsl,
        '-t',
        'secure-orders',
        '-X',
        'security.protocol=SASL_SSL',
        '-X',
        'sasl.mechanisms=SCRAM-SHA-256',
        '-X',
        'sasl.username=alice',
        '-X',
        'sasl.password=alice-pw',
        '-X',
        `ssl.ca.location=${certs.caCert}`,
      ],
      'from kcat\n',
    );
    t.equal(kcat.code, 0, `kcat produces with SCRAM-SHA-256 over SASL_SSL: ${kcat.stderr}`);
    const kcatDenied = await run(
      'kcat',
      [
        '-L',
        '-b',
        saslSsl,
        '-X',
        'security.protocol=SASL_SSL',
        '-X',
        'sasl.mechanisms=SCRAM-SHA-256',
        '-X',
        'sasl.username=alice',
        '-X',
        'sasl.password=wrong',
        '-X',
        `ssl.ca.location=${certs.caCert}`,
        '-m',
        '5',
      ],
      undefined,
      30_000,
    );
    t.not(kcatDenied.code, 0, 'kcat with a wrong password fails');
    t.match(kcatDenied.stderr, /Authentication failed|SASL/i);

    const produced = await runKafkaTool(TOOLS.consoleProducer, ['--bootstrap-server', saslSsl, '--command-config', alice, '--topic', 'secure-orders'], 'from java scram\n');
    t.equal(produced.code, 0, produced.stderr);

    const consumed = await runKafkaTool(TOOLS.consoleConsumer, [
      '--bootstrap-server',
      ssl,
      '--command-config',
      mtls,
      '--topic',
      'secure-orders',
      '--group',
      'mtls-group',
      '--from-beginning',
      '--max-messages',
      '2',
      '--timeout-ms',
      '30000',
    ]);
    t.equal(consumed.code, 0, consumed.stderr);
    t.same(consumed.stdout.trim().split('\n').sort(), ['from java scram', 'from kcat'], 'the Java consumer reads both over mutual TLS');

    const removed = await runKafkaTool(ACLS, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--remove',
      '--force',
      '--allow-principal',
      'User:CN=mtls-client,O=Spate',
      '--operation',
      'Read',
      '--topic',
      'secure-orders',
      '--group',
      'mtls-group',
    ]);
    t.equal(removed.code, 0, removed.stderr);
    const denied = await runKafkaTool(TOOLS.consoleConsumer, [
      '--bootstrap-server',
      ssl,
      '--command-config',
      mtls,
      '--topic',
      'secure-orders',
      '--group',
      'mtls-group',
      '--from-beginning',
      '--max-messages',
      '1',
      '--timeout-ms',
      '15000',
    ]);
    t.match(denied.stdout + denied.stderr, /not authorized|Authorization/i, 'after kafka-acls --remove the consumer is refused');

    const quota = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--alter',
      '--add-config',
      'producer_byte_rate=1048576,consumer_byte_rate=2097152',
      '--entity-type',
      'users',
      '--entity-name',
      'alice',
    ]);
    t.equal(quota.code, 0, quota.stderr);
    const quotaDefault = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      admin,
      '--alter',
      '--add-config',
      'request_percentage=50',
      '--entity-type',
      'clients',
      '--entity-default',
    ]);
    t.equal(quotaDefault.code, 0, quotaDefault.stderr);
    const quotas = await runKafkaTool(TOOLS.configs, ['--bootstrap-server', saslSsl, '--command-config', admin, '--describe', '--entity-type', 'users', '--entity-name', 'alice']);
    t.equal(quotas.code, 0, quotas.stderr);
    t.match(quotas.stdout, /producer_byte_rate=1048576/, 'kafka-configs describes the user quota');
    t.match(quotas.stdout, /SCRAM-SHA-256=iterations=8192/, 'and the SCRAM credential');
    const clients = await runKafkaTool(TOOLS.configs, ['--bootstrap-server', saslSsl, '--command-config', admin, '--describe', '--entity-type', 'clients', '--entity-default']);
    t.match(clients.stdout, /request_percentage=50/, 'and the default client quota');
  });
}
