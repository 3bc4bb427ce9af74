// Who is asking over HTTP. With an authorizer (or spate.http.authentication=basic) every
// REST, WebSocket, /metrics and console request must carry HTTP Basic credentials of a
// broker user: a SASL/PLAIN user of a listener's JAAS config (user_<name>="<password>") or a
// SCRAM user (AlterUserScramCredentials), checked the way their SASL mechanism checks them;
// or, where a listener offers OAUTHBEARER, `Authorization: Bearer <token>` (RFC 6750),
// checked by that listener's validator (unsecured JWS or JWKS), the principal its subject.
// The request then acts as User:<name>, so Kafka's ACLs apply to the gateway as they apply
// to the binary protocol. Without it the gateway acts as User:ANONYMOUS. /health and /ready
// stay open (liveness probes carry no credentials).
// A SCRAM check derives the salted password (PBKDF2, 4096+ iterations, a few ms); a success
// is remembered for a minute, keyed by a hash of the credentials, so a client sending the
// same header on every request pays it once.

import { createHash, timingSafeEqual } from 'node:crypto';
import { type BrokerState } from '../broker/broker-state.js';
import { ANONYMOUS, userPrincipal } from '../security/principal.js';
import { type OAuthBearerValidator } from '../security/oauthbearer.js';
import { credentialFromSaltedPassword, saltPassword, type ScramMechanism } from '../security/scram.js';

export interface Caller {
  /** "User:<name>", or User:ANONYMOUS without authentication. */
  readonly principal: string;
  /** The client's IP address (what ACL hosts are matched against). */
  readonly host: string;
}

export type Authentication = { readonly caller: Caller } | { readonly refused: string };

const REMEMBER_MS = 60_000;
const REMEMBERED_MAX = 1000;

export class HttpAuthenticator {
  readonly required: boolean;
  private readonly remembered = new Map<string, { principal: string; until: number }>();

  constructor(private readonly state: BrokerState) {
    const mode = state.config.values.get('spate.http.authentication') as string;
    this.required = mode === 'basic' || (mode === 'auto' && state.security.authorizer !== undefined);
  }

  /** The caller of a request from `host` with this Authorization header ('' when absent). */
  authenticate(authorization: string, host: string): Authentication {
    if (!this.required) return { caller: { principal: ANONYMOUS, host } };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (bearer !== null) return this.bearer(bearer[1]!, host);
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (match === null) {
      return {
        refused:
          authorization === '' ? 'Authentication required (HTTP Basic, a SASL PLAIN or SCRAM user)' : 'Only HTTP Basic (and Bearer, with OAUTHBEARER) authentication is accepted',
      };
    }
    const key = createHash('sha256').update(match[1]!).digest('base64');
    const now = Date.now();
    const known = this.remembered.get(key);
    if (known !== undefined && known.until > now) return { caller: { principal: known.principal, host } };
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { refused: 'Malformed HTTP Basic credentials' };
    const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    if (!this.check(user, password)) return { refused: 'Authentication failed: Invalid username or password' };
    if (this.remembered.size >= REMEMBERED_MAX) this.remembered.clear();
    const principal = userPrincipal(user);
    this.remembered.set(key, { principal, until: now + REMEMBER_MS });
    return { caller: { principal, host } };
  }

  /** A Bearer token, checked by the first listener that offers OAUTHBEARER; not remembered (each request is checked, expiry included). */
  private bearer(token: string, host: string): Authentication {
    let validator: OAuthBearerValidator | undefined;
    for (const listener of this.state.security.listeners.values()) validator ??= listener.oauthbearer;
    if (validator === undefined) return { refused: 'Bearer tokens need a listener with OAUTHBEARER (sasl.enabled.mechanisms)' };
    try {
      return { caller: { principal: userPrincipal(validator.validate(token, Date.now()).principalName), host } };
    } catch (error) {
      return { refused: `Authentication failed: ${(error as Error).message}` };
    }
  }

  private check(user: string, password: string): boolean {
    for (const listener of this.state.security.listeners.values()) {
      const expected = listener.plainUsers.get(user);
      if (expected !== undefined && equal(Buffer.from(expected, 'utf8'), Buffer.from(password, 'utf8'))) return true;
    }
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as ScramMechanism[]) {
      const credential = this.state.security.scram.get(user, mechanism);
      if (credential === undefined) continue;
      const derived = credentialFromSaltedPassword(mechanism, credential.salt, credential.iterations, saltPassword(mechanism, password, credential.salt, credential.iterations));
      if (equal(derived.storedKey, credential.storedKey)) return true;
    }
    return false;
  }
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
