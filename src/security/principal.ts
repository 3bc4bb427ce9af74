// Principals as Kafka writes them (KafkaPrincipal.toString: "User:<name>"). A TLS client
// with a certificate is named by its subject in RFC 2253 form, most specific part first
// ("CN=alice,OU=eng,O=Example,C=US"), which is what ssl.principal.mapping.rules=DEFAULT
// gives; without a certificate, or on PLAINTEXT, the client is User:ANONYMOUS.

import { X509Certificate } from 'node:crypto';
import { type TLSSocket } from 'node:tls';

export const ANONYMOUS = 'User:ANONYMOUS';

export function userPrincipal(name: string): string {
  return `User:${name}`;
}

/** The RFC 2253 distinguished name of a certificate subject. */
export function rfc2253Subject(certificate: X509Certificate): string {
  // Node lists the subject's attributes one per line, in certificate (ASN.1) order, values
  // already escaped as RFC 2253 wants; RFC 2253 writes them in reverse order.
  return certificate.subject
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .join(',');
}

/** The principal of a TLS peer: its certificate subject, or ANONYMOUS without one. */
export function tlsPeerPrincipal(socket: TLSSocket): string {
  const peer = socket.getPeerX509Certificate?.();
  if (peer === undefined || !socket.authorized) return ANONYMOUS;
  return userPrincipal(rfc2253Subject(peer));
}
