// JSON Web Tokens as OAUTHBEARER carries them (RFC 7515 compact serialization, RFC 7519
// claims), with node:crypto only: parsing, signature checks against the keys of a JWKS file
// (RFC 7517), for the RSA (RS256/384/512, PS256/384/512) and EC (ES256/384/512) algorithms
// OIDC providers use. "none" and the HMAC algorithms are never accepted for a signed token,
// as Kafka's broker validator (jose4j with DISALLOW_NONE and public keys only) refuses them.

import { createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export class JwtError extends Error {}

export interface ParsedJws {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  /** The bytes the signature covers: "<header>.<payload>" as sent. */
  readonly signingInput: string;
  readonly signature: Buffer;
  /** The third part as sent (empty for an unsecured JWS). */
  readonly signaturePart: string;
}

const BASE64URL = /^[A-Za-z0-9_\-+/]*={0,2}$/;

function decodePart(part: string, what: string): Buffer {
  if (!BASE64URL.test(part)) throw new JwtError(`malformed Base64 URL encoded value in the ${what}`);
  return Buffer.from(part, 'base64');
}

function jsonObject(part: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodePart(part, what).toString('utf8'));
  } catch (error) {
    if (error instanceof JwtError) throw error;
    throw new JwtError(`malformed JSON in the ${what}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new JwtError(`the ${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Splits a compact JWS into header, claims and signature; checks only the structure. */
export function parseJws(token: string): ParsedJws {
  if (token.includes('..')) throw new JwtError("Malformed compact serialization contains '..'");
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('JWS compact serializations must have 3 dot-separated Base64URL-encoded values');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  return {
    header: jsonObject(headerPart, 'JOSE header'),
    claims: jsonObject(payloadPart, 'claims'),
    signingInput: `${headerPart}.${payloadPart}`,
    signature: decodePart(signaturePart, 'signature'),
    signaturePart,
  };
}

interface Algorithm {
  readonly keyType: 'RSA' | 'EC';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly pss?: true;
  /** EC: the curve the key must be on. */
  readonly curve?: string;
}

const ALGORITHMS: ReadonlyMap<string, Algorithm> = new Map([
  ['RS256', { keyType: 'RSA', hash: 'sha256' }],
  ['RS384', { keyType: 'RSA', hash: 'sha384' }],
  ['RS512', { keyType: 'RSA', hash: 'sha512' }],
  ['PS256', { keyType: 'RSA', hash: 'sha256', pss: true }],
  ['PS384', { keyType: 'RSA', hash: 'sha384', pss: true }],
  ['PS512', { keyType: 'RSA', hash: 'sha512', pss: true }],
  ['ES256', { keyType: 'EC', hash: 'sha256', curve: 'P-256' }],
  ['ES384', { keyType: 'EC', hash: 'sha384', curve: 'P-384' }],
  ['ES512', { keyType: 'EC', hash: 'sha512', curve: 'P-521' }],
]);

export const SUPPORTED_JWS_ALGORITHMS: readonly string[] = [...ALGORITHMS.keys()];

export interface VerificationKey {
  readonly kid: string | undefined;
  readonly kty: string;
  readonly alg: string | undefined;
  readonly crv: string | undefined;
  readonly use: string | undefined;
  readonly key: KeyObject;
}

/** The public keys of a JWKS document; keys that cannot be used for signatures are skipped. */
export function parseJwks(text: string): VerificationKey[] {
  const parsed = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(parsed.keys)) throw new JwtError('a JWKS document needs a "keys" array');
  const keys: VerificationKey[] = [];
  for (const jwk of parsed.keys as Array<Record<string, unknown>>) {
    if (jwk === null || typeof jwk !== 'object') continue;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    // A private JWK also describes its public key; only the public part is kept.
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
    keys.push({
      kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
      kty: jwk.kty,
      alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
      crv: typeof jwk.crv === 'string' ? jwk.crv : undefined,
      use: typeof jwk.use === 'string' ? jwk.use : undefined,
      key: createPublicKey({ key: publicPart as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }),
    });
  }
  return keys;
}

/** Checks the signature of a parsed JWS against the keys; throws JwtError when no key verifies it. */
export function verifyJws(jws: ParsedJws, keys: readonly VerificationKey[]): void {
  const alg = jws.header.alg;
  if (typeof alg !== 'string') throw new JwtError('the JOSE header has no "alg"');
  const algorithm = ALGORITHMS.get(alg);
  if (algorithm === undefined) throw new JwtError(`the JWS algorithm ${alg} is not accepted (accepted: ${SUPPORTED_JWS_ALGORITHMS.join(', ')})`);
  const kid = typeof jws.header.kid === 'string' ? jws.header.kid : undefined;
  const candidates = keys.filter(
    (key) =>
      (kid === undefined || key.kid === kid) &&
      key.kty === algorithm.keyType &&
      (key.alg === undefined || key.alg === alg) &&
      (algorithm.curve === undefined || key.crv === algorithm.curve),
  );
  if (candidates.length === 0) throw new JwtError(`no key in the JWKS for kid ${kid ?? '(none)'} and algorithm ${alg}`);
  const data = Buffer.from(jws.signingInput, 'ascii');
  for (const candidate of candidates) {
    const options =
      algorithm.keyType === 'EC'
        ? { key: candidate.key, dsaEncoding: 'ieee-p1363' as const }
        : algorithm.pss === true
          ? { key: candidate.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
          : { key: candidate.key };
    if (verify(algorithm.hash, data, options, jws.signature)) return;
  }
  throw new JwtError('the signature does not verify with the JWKS keys');
}

/**
 * A JWKS file, read again when it changes (its modification time or size), so that keys
 * rotated by the identity provider are picked up without a restart. A file that cannot be
 * read keeps the keys read last.
 */
export class JwksFile {
  private keys: VerificationKey[] = [];
  private stamp = '';

  constructor(
    readonly path: string,
    private readonly onError: (message: string) => void,
  ) {
    this.current(); // a broken file at startup is reported at once
  }

  current(): readonly VerificationKey[] {
    let stamp: string;
    try {
      const stats = statSync(this.path);
      stamp = `${stats.mtimeMs}:${stats.size}`;
    } catch (error) {
      this.onError(`Cannot read the JWKS file ${this.path}: ${(error as Error).message}`);
      return this.keys;
    }
    if (stamp === this.stamp) return this.keys;
    try {
      this.keys = parseJwks(readFileSync(this.path, 'utf8'));
      this.stamp = stamp;
    } catch (error) {
      this.onError(`Cannot read the JWKS file ${this.path}: ${(error as Error).message}`);
    }
    return this.keys;
  }
}
