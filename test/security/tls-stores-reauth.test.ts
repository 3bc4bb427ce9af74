// Key stores in the other forms Kafka accepts (PKCS12, an encrypted PEM key with
// ssl.key.password), ssl.client.auth=required refusing a client without a certificate, and
// KIP-368 re-authentication (connections.max.reauth.ms).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { makeCertificates } from './certificates.js';

const certs = makeCertificates(t);
const ca = readFileSync(certs.caCert, 'utf8');

async function listOverTls(port: number, extra: object = {}): Promise<string[]> {
  const admin = new Kafka({
    clientId: 'stores',
    brokers: [`127.0.0.1:${port}`],
    ssl: { ca: [ca], servername: 'localhost', ...extra },
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

t.test('PKCS12 key store, encrypted PEM key, required client certificates', async (t) => {
  const p12 = join(certs.dir, 'server.p12');
  execFileSync('openssl', ['pkcs12', '-export', '-in', certs.serverCert, '-inkey', certs.serverKey, '-out', p12, '-passout', 'pass:store-pw'], { stdio: 'ignore' });
  const encryptedKey = join(certs.dir, 'server-encrypted.key');
  execFileSync('openssl', ['pkey', '-in', certs.serverKey, '-aes256', '-passout', 'pass:key-pw', '-out', encryptedKey], { stdio: 'ignore' });
  const encryptedStore = join(certs.dir, 'server-encrypted.pem');
  writeFileSync(encryptedStore, readFileSync(encryptedKey, 'utf8') + readFileSync(certs.serverCert, 'utf8'));
  const client = certs.client('alice', '/CN=alice');

  const broker = await startTestBroker(t, {
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,P12://127.0.0.1:0,ENCRYPTED://127.0.0.1:0,MUTUAL://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,P12:SSL,ENCRYPTED:SSL,MUTUAL:SSL',
      'listener.name.p12.ssl.keystore.type': 'PKCS12',
      'listener.name.p12.ssl.keystore.location': p12,
      'listener.name.p12.ssl.keystore.password': 'store-pw',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': encryptedStore,
      'ssl.key.password': 'key-pw',
      'listener.name.mutual.ssl.client.auth': 'required',
      'listener.name.mutual.ssl.truststore.type': 'PEM',
      'listener.name.mutual.ssl.truststore.location': certs.caCert,
    },
  });
  t.same(await listOverTls(broker.portOf('P12')), [], 'a PKCS12 key store serves TLS');
  t.same(await listOverTls(broker.portOf('ENCRYPTED')), [], 'an encrypted PEM key with ssl.key.password serves TLS');
  t.same(
    await listOverTls(broker.portOf('MUTUAL'), { key: readFileSync(client.key, 'utf8'), cert: readFileSync(client.cert, 'utf8') }),
    [],
    'a client with a certificate passes ssl.client.auth=required',
  );
  const refused = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: broker.portOf('MUTUAL'), ca: [ca], servername: 'localhost' }, () => {
      socket.write(Buffer.from([0, 0, 0, 0]));
    });
    socket.on('error', (error) => resolve(error.message));
    socket.on('close', () => resolve('closed'));
  });
  t.match(refused, /certificate|alert|closed|reset/i, `a client without a certificate is refused (${refused})`);
});

t.test('KIP-368: an expired SASL session must re-authenticate', async (t) => {
  const broker = await startTestBroker(t, {
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_amy="pw" user_bo="pw2";',
      'connections.max.reauth.ms': 800,
    },
  });
  const login = async (raw: RawClient, user: string, password: string, id: number) => {
    t.equal((await raw.request(17, 1, { mechanism: 'PLAIN' }, id)).body.errorCode, 0);
    return (await raw.request(36, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${password}`) }, id + 1)).body;
  };
  const metadata = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const lapsed = await RawClient.connect(broker.bootstrap);
  const first = await login(lapsed, 'amy', 'pw', 1);
  t.equal(first.sessionLifetimeMs, 800n, 'SaslAuthenticate answers the session lifetime');
  t.equal((await lapsed.request(3, 12, metadata, 3)).body.errorCode, 0, 'served within the session');
  await wait(1000);
  lapsed.write((await import('../helpers/raw-client.js')).encodeRequest(3, 12, 4, metadata));
  await lapsed.closed;
  t.pass('after the session lifetime a request without re-authentication closes the connection');

  const renewed = await RawClient.connect(broker.bootstrap);
  await login(renewed, 'amy', 'pw', 1);
  await wait(1000);
  t.equal((await login(renewed, 'amy', 'pw', 3)).errorCode, 0, 're-authentication on the same connection');
  t.equal((await renewed.request(3, 12, metadata, 5)).body.errorCode, 0, 'and it is served again');
  await wait(1000);
  const switched = await login(renewed, 'bo', 'pw2', 6);
  t.equal(switched.errorCode, 58, 're-authenticating as another principal is refused');
  t.match(switched.errorMessage, /Cannot change principals/);
  renewed.close();
});
