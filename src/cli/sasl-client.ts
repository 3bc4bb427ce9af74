// The client side of SASL for the CLI, as Kafka's clients do it after ApiVersions:
// SaslHandshake v1 names the mechanism, then SaslAuthenticate carries the tokens. PLAIN
// (RFC 4616) is one token; SCRAM-SHA-256/512 (RFC 5802, RFC 7677) is two rounds, the
// server's signature checked at the end, so a broker that does not know the password cannot
// pass for one that does.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { saltPassword, type ScramMechanism } from '../security/scram.js';
import { type SaslCredentials } from './command-config.js';

/** What SASL needs of a connection: a request sent, its response body returned. */
export type SaslSend = (apiKey: number, apiVersion: number, body: unknown) => Promise<unknown>;

export class SaslFailure extends Error {
  override readonly name = 'SaslFailure';
}

interface HandshakeResponse {
  errorCode: number;
  mechanisms: string[];
}

interface AuthenticateResponse {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
}

export async function authenticate(send: SaslSend, credentials: SaslCredentials, authenticateVersion: number): Promise<void> {
  const handshake = (await send(17, 1, { mechanism: credentials.mechanism })) as HandshakeResponse;
  if (handshake.errorCode !== 0) {
    throw new SaslFailure(`UNSUPPORTED_SASL_MECHANISM: the broker offers ${handshake.mechanisms.join(', ') || 'no mechanism'} on this listener, not ${credentials.mechanism}`);
  }
  const exchange = async (token: Buffer): Promise<Buffer> => {
    const response = (await send(36, authenticateVersion, { authBytes: token })) as AuthenticateResponse;
    if (response.errorCode !== 0) throw new SaslFailure(`SASL_AUTHENTICATION_FAILED: ${response.errorMessage ?? 'authentication failed'}`);
    return response.authBytes;
  };
  if (credentials.mechanism === 'PLAIN') {
    await exchange(Buffer.from(`\u0000${credentials.username}\u0000${credentials.password}`, 'utf8'));
    return;
  }
  await scram(exchange, credentials.mechanism, credentials.username, credentials.password);
}

const hashName = (mechanism: ScramMechanism) => (mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512');

/** The SCRAM client's two rounds; throws SaslFailure when the server's signature is wrong. */
export async function scram(
  exchange: (token: Buffer) => Promise<Buffer>,
  mechanism: ScramMechanism,
  username: string,
  password: string,
  clientNonce = randomBytes(24).toString('base64'),
): Promise<void> {
  const clientFirstBare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`;
  const serverFirst = (await exchange(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
  const fields = new Map(serverFirst.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as const));
  const nonce = fields.get('r');
  const salt = fields.get('s');
  const iterations = Number(fields.get('i'));
  if (nonce === undefined || !nonce.startsWith(clientNonce) || salt === undefined || !Number.isInteger(iterations) || iterations < 1) {
    throw new SaslFailure(`SASL_AUTHENTICATION_FAILED: invalid SCRAM server-first message`);
  }
  const salted = saltPassword(mechanism, password, Buffer.from(salt, 'base64'), iterations);
  const hmac = (key: Buffer, text: string) => createHmac(hashName(mechanism), key).update(text).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash(hashName(mechanism)).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let index = 0; index < proof.length; index++) proof[index] = clientKey[index]! ^ signature[index]!;
  const serverFinal = (await exchange(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'))).toString('utf8');
  const verifier = /^v=(.*)$/.exec(serverFinal)?.[1];
  const expected = hmac(hmac(salted, 'Server Key'), authMessage);
  const received = Buffer.from(verifier ?? '', 'base64');
  if (received.length !== expected.length || !timingSafeEqual(received, expected))
    throw new SaslFailure('SASL_AUTHENTICATION_FAILED: the server signature does not match (wrong server or password)');
}
