// JWTs for the OAUTHBEARER tests, made with node:crypto: unsecured JWS ("alg":"none") as
// Kafka's unsecured login module makes them, and RS256 / ES256 tokens signed by keys whose
// public halves the test writes to a JWKS file.

import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

export function unsecuredToken(claims: Record<string, unknown>): string {
  return `${encode({ alg: 'none' })}.${encode({ iat: nowSeconds(), exp: nowSeconds() + 3600, ...claims })}.`;
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
}

export function signingKey(kid: string, alg: 'RS256' | 'ES256'): SigningKey {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, privateKey: pair.privateKey, publicJwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

export function writeJwks(path: string, keys: readonly SigningKey[]): void {
  writeFileSync(path, JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
}

/** A signed JWT; `claims` override the defaults (iat now, exp in an hour). */
export function signedToken(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${encode({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header })}.${encode({ iat: nowSeconds(), exp: nowSeconds() + 3600, ...claims })}`;
  const signature = sign(key.alg === 'RS256' ? 'sha256' : 'sha256', Buffer.from(input), key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** RFC 7628's client first message, as the clients send it. */
export function clientFirstMessage(token: string, authzid = ''): Buffer {
  return Buffer.from(`n,${authzid === '' ? '' : `a=${authzid}`},\u0001auth=Bearer ${token}\u0001\u0001`);
}
