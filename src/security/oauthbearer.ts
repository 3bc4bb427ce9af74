// SASL/OAUTHBEARER on the broker (RFC 7628, KIP-255; OIDC validation as KIP-768 does it).
// The client's first message carries "auth=Bearer <token>"; the token is validated by one of
// the two validators Kafka's broker offers:
//   - the unsecured one (OAuthBearerUnsecuredValidatorCallbackHandler, Kafka's default and
//     for development only): an unsigned JWS ("alg":"none") whose principal claim, expiry,
//     issued-at and scope are checked, with the JAAS options unsecuredValidator*;
//   - the JWT one (OAuthBearerValidatorCallbackHandler): a signed JWT checked against the
//     keys of a JWKS file (sasl.oauthbearer.jwks.endpoint.url=file:...), its exp, iat, nbf,
//     audience and issuer, with sasl.oauthbearer.clock.skew.seconds of tolerance.
// A rejected token is answered the way Kafka's OAuthBearerSaslServer answers it: a
// challenge holding {"status":"invalid_token"} (or insufficient_scope with the scope),
// which the client acknowledges with a single 0x01, and then SASL_AUTHENTICATION_FAILED
// with that JSON as the message. The principal is User:<sub>; the session ends when the
// token expires (bounded by connections.max.reauth.ms, KIP-368).

import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/definitions.js';
import { JwksFile, JwtError, parseJws, verifyJws } from './jwt.js';

/** What a successful validation yields. */
export interface OAuthBearerToken {
  readonly principalName: string;
  /** When the token expires (ms since the epoch). */
  readonly expiresAtMs: number;
  readonly scope: readonly string[];
}

/** A failed validation: the RFC 6750 status (and scope) the client is told, and why (logged). */
export class TokenValidationError extends Error {
  constructor(
    message: string,
    readonly status: 'invalid_token' | 'insufficient_scope' = 'invalid_token',
    readonly scope?: string,
  ) {
    super(message);
  }
}

export interface OAuthBearerValidator {
  /** Kafka's class name of the validator (for logs and errors). */
  readonly name: string;
  validate(token: string, nowMs: number): OAuthBearerToken;
}

export const UNSECURED_VALIDATOR = 'org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler';
export const JWT_VALIDATOR = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler';
/** Names Kafka has used for the JWT validator over its versions (KIP-768 put it in .secured first). */
const JWT_VALIDATOR_NAMES = [JWT_VALIDATOR, 'org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler'];
const UNSECURED_VALIDATOR_NAMES = [UNSECURED_VALIDATOR, 'org.apache.kafka.common.security.oauthbearer.internal.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler'];

function numberClaim(claims: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = claims[name];
  if (value === undefined || value === null) {
    if (required) throw new TokenValidationError(`Required claim missing: ${name}`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TokenValidationError(`The ${name} claim had the incorrect type: ${typeof value}`);
  return value;
}

function scopeOf(claims: Record<string, unknown>, name: string): string[] {
  const value = claims[name];
  if (typeof value === 'string') return value.trim() === '' ? [] : [value.trim()];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item.trim() !== '').map((item) => item.trim());
  return [];
}

/**
 * Kafka's unsecured validator. Options (from the OAUTHBEARER JAAS config): the principal
 * claim (unsecuredValidatorPrincipalClaimName, default sub), the scope claim
 * (unsecuredValidatorScopeClaimName, default scope), a space-separated required scope
 * (unsecuredValidatorRequiredScope) and a clock skew (unsecuredValidatorAllowableClockSkewMs, default 0).
 */
export class UnsecuredJwsValidator implements OAuthBearerValidator {
  readonly name = UNSECURED_VALIDATOR;
  private readonly principalClaim: string;
  private readonly scopeClaim: string;
  private readonly requiredScope: string[];
  private readonly clockSkewMs: number;

  constructor(options: ReadonlyMap<string, string>) {
    this.principalClaim = options.get('unsecuredValidatorPrincipalClaimName')?.trim() || 'sub';
    this.scopeClaim = options.get('unsecuredValidatorScopeClaimName')?.trim() || 'scope';
    this.requiredScope = (options.get('unsecuredValidatorRequiredScope') ?? '').split(/\s+/).filter((scope) => scope !== '');
    const skew = (options.get('unsecuredValidatorAllowableClockSkewMs') ?? '').trim();
    this.clockSkewMs = skew === '' ? 0 : Number(skew);
    if (!Number.isInteger(this.clockSkewMs) || this.clockSkewMs < 0) {
      throw new ConfigError('sasl.jaas.config', `unsecuredValidatorAllowableClockSkewMs="${skew}"`, 'Allowable clock skew millis must be a non-negative integer');
    }
  }

  validate(token: string, nowMs: number): OAuthBearerToken {
    let jws;
    try {
      jws = parseJws(token);
    } catch (error) {
      throw new TokenValidationError((error as Error).message);
    }
    if (jws.header.alg !== 'none') throw new TokenValidationError("Unsecured JWS must have 'none' for an algorithm");
    if (jws.signaturePart !== '') throw new TokenValidationError('Unsecured JWS must not contain a digital signature');
    const claims = jws.claims;
    const expiresAt = numberClaim(claims, 'exp', true)!;
    const principal = claims[this.principalClaim];
    if (principal === undefined) throw new TokenValidationError(`Required claim missing: ${this.principalClaim}`);
    if (typeof principal !== 'string' || principal.trim() === '') throw new TokenValidationError(`No principal name in JWT claim: ${this.principalClaim}`);
    const issuedAt = numberClaim(claims, 'iat', false);
    if (issuedAt !== undefined && issuedAt * 1000 > nowMs + this.clockSkewMs) {
      throw new TokenValidationError(`The Issued At value (${issuedAt} seconds) was after the indicated time (${nowMs} ms) plus allowable clock skew (${this.clockSkewMs} ms)`);
    }
    if (nowMs - this.clockSkewMs >= expiresAt * 1000) {
      throw new TokenValidationError(
        `The indicated time (${nowMs} ms) minus allowable clock skew (${this.clockSkewMs} ms) was on or after the Expiration Time value (${expiresAt} seconds)`,
      );
    }
    if (issuedAt !== undefined && expiresAt <= issuedAt) {
      throw new TokenValidationError(`The Expiration Time time (${expiresAt} seconds) was not after the Issued At time (${issuedAt} seconds)`);
    }
    const scope = scopeOf(claims, this.scopeClaim);
    for (const required of this.requiredScope) {
      if (!scope.includes(required)) {
        throw new TokenValidationError(
          `The provided scope ([${scope.join(', ')}]) was missing a required scope (${required}).  All required scope elements: [${this.requiredScope.join(', ')}]`,
          'insufficient_scope',
          `[${this.requiredScope.join(', ')}]`,
        );
      }
    }
    return { principalName: principal, expiresAtMs: Math.round(expiresAt * 1000), scope };
  }
}

export interface JwtValidatorOptions {
  /** sasl.oauthbearer.jwks.endpoint.url: a file: URL. */
  readonly jwksUrl: string;
  /** sasl.oauthbearer.expected.audience: the token's aud must name one of them (none: not checked). */
  readonly expectedAudience: readonly string[];
  /** sasl.oauthbearer.expected.issuer (null: not checked). */
  readonly expectedIssuer: string | null;
  /** sasl.oauthbearer.sub.claim.name */
  readonly subClaim: string;
  /** sasl.oauthbearer.scope.claim.name */
  readonly scopeClaim: string;
  /** sasl.oauthbearer.clock.skew.seconds */
  readonly clockSkewSeconds: number;
  readonly onError: (message: string) => void;
}

/** Kafka's OIDC validator (BrokerJwtValidator) over a JWKS file. */
export class JwksJwtValidator implements OAuthBearerValidator {
  readonly name = JWT_VALIDATOR;
  private readonly jwks: JwksFile;

  constructor(private readonly options: JwtValidatorOptions) {
    let path: string;
    try {
      const url = new URL(options.jwksUrl);
      if (url.protocol !== 'file:') throw new Error('not a file: URL');
      path = fileURLToPath(url);
    } catch {
      throw new ConfigError(
        'sasl.oauthbearer.jwks.endpoint.url',
        options.jwksUrl,
        'Spate reads the JWKS from a file: give a file: URL (an https endpoint is not fetched; save its keys to a file)',
      );
    }
    this.jwks = new JwksFile(path, options.onError);
  }

  validate(token: string, nowMs: number): OAuthBearerToken {
    const skewMs = this.options.clockSkewSeconds * 1000;
    let jws;
    try {
      jws = parseJws(token);
      verifyJws(jws, this.jwks.current());
    } catch (error) {
      if (error instanceof JwtError) throw new TokenValidationError(`Could not validate the access token: ${error.message}`);
      throw error;
    }
    const claims = jws.claims;
    const expiresAt = numberClaim(claims, 'exp', true)!;
    numberClaim(claims, 'iat', true);
    if (nowMs - skewMs >= expiresAt * 1000) throw new TokenValidationError(`The JWT is no longer valid: its expiration time (exp=${expiresAt}) has passed`);
    const notBefore = numberClaim(claims, 'nbf', false);
    if (notBefore !== undefined && nowMs + skewMs < notBefore * 1000) throw new TokenValidationError(`The JWT is not yet valid (nbf=${notBefore})`);
    if (this.options.expectedIssuer !== null && claims.iss !== this.options.expectedIssuer) {
      throw new TokenValidationError(`Issuer (iss) claim value (${String(claims.iss)}) doesn't match expected value of ${this.options.expectedIssuer}`);
    }
    if (this.options.expectedAudience.length > 0) {
      const audience = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
      if (!audience.some((aud) => this.options.expectedAudience.includes(aud as string))) {
        throw new TokenValidationError(`Audience (aud) claim ${JSON.stringify(claims.aud ?? null)} doesn't contain an acceptable identifier`);
      }
    }
    const subject = claims[this.options.subClaim];
    if (typeof subject !== 'string' || subject.trim() === '') throw new TokenValidationError(`The ${this.options.subClaim} claim is missing or empty`);
    return { principalName: subject.trim(), expiresAtMs: Math.round(expiresAt * 1000), scope: scopeOf(claims, this.options.scopeClaim) };
  }
}

export function isJwtValidatorClass(name: string): boolean {
  return JWT_VALIDATOR_NAMES.includes(name);
}

export function isUnsecuredValidatorClass(name: string): boolean {
  return UNSECURED_VALIDATOR_NAMES.includes(name);
}

/** RFC 7628's separator (kvsep). */
const SOH = String.fromCharCode(1);

/** Why a client's first message is malformed (the client is told only that authentication failed). */
export class MalformedClientResponse extends Error {}

/**
 * RFC 7628's client initial response: gs2-header, then key=value pairs separated by 0x01,
 * ending with 0x01 0x01: `n,[a=authzid],\x01auth=Bearer <token>\x01[key=value\x01]*\x01`.
 */
export function parseClientInitialResponse(message: string): { authorizationId: string; token: string; extensions: Map<string, string> } {
  const separator = message.indexOf(SOH);
  const header = separator < 0 ? null : /^n,(?:a=([^,]*))?,$/.exec(message.slice(0, separator));
  if (header === null || !message.endsWith(SOH + SOH) || message.length < separator + 3) throw new MalformedClientResponse('Invalid OAUTHBEARER client first message');
  const authorizationId = (header[1] ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
  let token: string | undefined;
  const extensions = new Map<string, string>();
  for (const pair of message.slice(separator + 1, -2).split(SOH)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new MalformedClientResponse('Invalid OAUTHBEARER client first message');
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    if (key === 'auth') {
      const auth = /^([A-Za-z]+) +([-_.a-zA-Z0-9]+)$/.exec(value);
      if (auth === null) throw new MalformedClientResponse('Invalid OAUTHBEARER client first message');
      if (auth[1]!.toLowerCase() !== 'bearer') throw new MalformedClientResponse(`Invalid scheme in OAUTHBEARER client first message: ${auth[1]}`);
      token = auth[2]!;
    } else {
      // SASL extensions (KIP-342): names of letters, values of printable ASCII; kept, not interpreted.
      if (!/^[A-Za-z]+$/.test(key) || !/^[\x21-\x7E \t\r\n]+$/.test(value)) throw new MalformedClientResponse(`Invalid SASL extension ${key}`);
      extensions.set(key, value);
    }
  }
  if (token === undefined) throw new MalformedClientResponse('Invalid OAUTHBEARER client first message: no auth=Bearer token');
  return { authorizationId, token, extensions };
}

/** The JSON Kafka's OAuthBearerSaslServer sends as its error challenge. */
export function errorChallenge(error: TokenValidationError): string {
  let json = `{"status":"${error.status}"`;
  if (error.scope !== undefined) json += `, "scope":"${error.scope}"`;
  return `${json}}`;
}
