// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on the server side, with Node's
// crypto: the credential a broker keeps (salt, iterations, StoredKey, ServerKey; never the
// password), and the two-round exchange. Kafka's limits apply: 4096 to 16384 iterations.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** The ScramMechanism enum of DescribeUserScramCredentials / AlterUserScramCredentials. */
export const SCRAM_MECHANISM_CODES: ReadonlyMap<number, ScramMechanism> = new Map([
  [1, 'SCRAM-SHA-256'],
  [2, 'SCRAM-SHA-512'],
]);

export function scramMechanismCode(mechanism: ScramMechanism): number {
  return mechanism === 'SCRAM-SHA-256' ? 1 : 2;
}

export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

function hashName(mechanism: ScramMechanism): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

function hmac(mechanism: ScramMechanism, key: Buffer, text: string | Buffer): Buffer {
  return createHmac(hashName(mechanism), key).update(text).digest();
}

export function saltPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  const length = mechanism === 'SCRAM-SHA-256' ? 32 : 64;
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, length, hashName(mechanism));
}

/** The credential kept for a salted password (what AlterUserScramCredentials sends). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salt: Buffer, iterations: number, saltedPassword: Buffer): ScramCredential {
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key');
  return {
    salt,
    iterations,
    storedKey: createHash(hashName(mechanism)).update(clientKey).digest(),
    serverKey: hmac(mechanism, saltedPassword, 'Server Key'),
  };
}

export function credentialFromPassword(mechanism: ScramMechanism, password: string, iterations = SCRAM_MIN_ITERATIONS): ScramCredential {
  const salt = randomBytes(24);
  return credentialFromSaltedPassword(mechanism, salt, iterations, saltPassword(mechanism, password, salt, iterations));
}

export class ScramAuthenticationError extends Error {}

/** RFC 5802 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed. */
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new ScramAuthenticationError('Invalid username in SCRAM client-first message');
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attributes(message: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const part of message.split(',')) {
    const at = part.indexOf('=');
    if (at === 1) result.set(part[0]!, part.slice(2));
  }
  return result;
}

/**
 * One server-side SCRAM exchange. `first` takes the client-first message and returns the
 * server-first; `final` takes the client-final, checks the proof and returns the
 * server-final. A failure throws ScramAuthenticationError.
 */
export class ScramServerExchange {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private credential: ScramCredential | undefined;
  username = '';

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (username: string) => ScramCredential | undefined,
    /** The server's part of the nonce (random; fixed only to check RFC 7677's example). */
    private readonly serverNonce: () => string = () => randomBytes(18).toString('base64'),
  ) {}

  first(message: string): string {
    // gs2-header: channel binding flag, optional authzid, then the bare message.
    const match = /^([nyp])(?:=[^,]*)?,(a=[^,]*)?,(.*)$/s.exec(message);
    if (match === null) throw new ScramAuthenticationError('Invalid SCRAM client-first message');
    if (match[1] === 'p') throw new ScramAuthenticationError('SCRAM channel binding is not supported');
    this.clientFirstBare = match[3]!;
    const fields = attributes(this.clientFirstBare);
    const name = fields.get('n');
    const clientNonce = fields.get('r');
    if (name === undefined || clientNonce === undefined || clientNonce === '') throw new ScramAuthenticationError('Invalid SCRAM client-first message');
    this.username = decodeSaslName(name);
    const authzid = match[2]?.slice(2);
    if (authzid !== undefined && authzid !== '' && decodeSaslName(authzid) !== this.username) {
      throw new ScramAuthenticationError('Authentication failed: Client requested an authorization id that is different from username');
    }
    this.credential = this.lookup(this.username);
    // An unknown user still gets a plausible server-first (a random salt), so that the
    // answer does not tell which user names exist; the proof check then fails.
    const salt = this.credential?.salt ?? randomBytes(24);
    const iterations = this.credential?.iterations ?? SCRAM_MIN_ITERATIONS;
    this.nonce = clientNonce + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${salt.toString('base64')},i=${iterations}`;
    return this.serverFirst;
  }

  final(message: string): string {
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramAuthenticationError('Invalid SCRAM client-final message');
    const withoutProof = message.slice(0, proofAt);
    const fields = attributes(withoutProof);
    // Kafka's ScramSaslServer only checks that the nonce ends with the server's nonce;
    // librdkafka 2.0 relies on that (it sends the client nonce twice), so do the same.
    const nonce = fields.get('r');
    if (nonce === undefined || !nonce.endsWith(this.nonce)) throw new ScramAuthenticationError('Invalid client nonce in the final client message.');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    const credential = this.credential;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    if (credential === undefined)
      throw new ScramAuthenticationError(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`);
    const clientSignature = hmac(this.mechanism, credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new ScramAuthenticationError('Invalid SCRAM client proof');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const computedStoredKey = createHash(hashName(this.mechanism)).update(clientKey).digest();
    if (!timingSafeEqual(computedStoredKey, credential.storedKey)) {
      throw new ScramAuthenticationError(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`);
    }
    const serverSignature = hmac(this.mechanism, credential.serverKey, authMessage);
    return `v=${serverSignature.toString('base64')}`;
  }
}
