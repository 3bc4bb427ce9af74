// Test certificates made with the openssl CLI: a CA, a server certificate for 127.0.0.1 /
// localhost, and client certificates; PEM files in a temporary directory removed at teardown.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Test } from 'tap';

export interface TestCertificates {
  readonly dir: string;
  readonly caCert: string;
  /** PEM file holding the server's key and certificate (ssl.keystore.type=PEM). */
  readonly serverKeystore: string;
  readonly serverKey: string;
  readonly serverCert: string;
  /** Makes a client key and certificate signed by the CA with the given subject. */
  client(name: string, subject: string): { key: string; cert: string };
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCertificates(t: Test): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'spate-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Spate Test CA']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost/O=Spate']);
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  const keystore = join(dir, 'server-keystore.pem');
  writeFileSync(keystore, readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.pem'), 'utf8'));
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverKeystore: keystore,
    serverKey: join(dir, 'server.key'),
    serverCert: join(dir, 'server.pem'),
    client(name, subject) {
      openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2']);
      return { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
    },
  };
}
