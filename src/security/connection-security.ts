// Who is on the other end of one connection: its listener and security protocol, its
// principal, and where its SASL authentication stands. Kafka's SaslServerAuthenticator
// states, reduced to what the protocol needs:
//   handshake     SASL listener, nothing yet: only ApiVersions and SaslHandshake are served
//   authenticate  after SaslHandshake v1: SaslAuthenticate requests carry the tokens
//   raw-tokens    after SaslHandshake v0 (legacy): the next frames are bare SASL tokens
//   complete      authenticated (or a PLAINTEXT/SSL listener): every API is served
// A failed authentication answers SASL_AUTHENTICATION_FAILED and then closes the connection.
//
// KIP-368: a session lasts connections.max.reauth.ms, or until the credential expires
// (an OAUTHBEARER token), whichever comes first. A client that authenticated with
// SaslAuthenticate v1+ may re-authenticate on the same connection at any time with
// SaslHandshake + SaslAuthenticate; the mechanism and the principal must stay the same
// (Kafka's messages otherwise). A request after the session expired closes the connection.

import { ANONYMOUS, userPrincipal } from './principal.js';
import { errorChallenge, MalformedClientResponse, type OAuthBearerValidator, parseClientInitialResponse, TokenValidationError } from './oauthbearer.js';
import { type ScramCredential, ScramAuthenticationError, type ScramMechanism, ScramServerExchange } from './scram.js';
import { type ListenerSecurity, SUPPORTED_MECHANISMS } from './security-config.js';

export type SaslState = 'handshake' | 'authenticate' | 'raw-tokens' | 'complete';

export class SaslAuthenticationError extends Error {}

interface StepResult {
  /** The server's token for the client. */
  readonly response: Buffer;
  /** Set once the exchange is complete: the authenticated user name. */
  readonly user?: string;
  /** When the credential stops being valid (an OAUTHBEARER token's exp), in ms since the epoch. */
  readonly credentialExpiresAtMs?: number;
  /** Why a token was refused although the exchange goes on (OAUTHBEARER's error challenge), for the log. */
  readonly rejected?: string;
}

interface Authenticator {
  /** Takes the client's token; returns the server's answer and, once done, the user name. */
  step(token: Buffer, nowMs: number): StepResult;
}

/** What sessions share: credential lookups and the broker's authentication counts. */
export interface SessionServices {
  scram(user: string, mechanism: ScramMechanism): ScramCredential | undefined;
  readonly stats: AuthenticationStats;
}

/** Counts kept by the SecurityManager (successful-authentication-total and friends in Kafka's metrics). */
export interface AuthenticationStats {
  authentications: number;
  reauthentications: number;
  failedAuthentications: number;
  failedReauthentications: number;
  /** Connections closed because their session expired (Kafka's expired-connections-killed-count). */
  expiredSessions: number;
}

class PlainAuthenticator implements Authenticator {
  constructor(private readonly users: ReadonlyMap<string, string>) {}

  step(token: Buffer): StepResult {
    // RFC 4616: authzid NUL authcid NUL passwd.
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new SaslAuthenticationError('Invalid SASL/PLAIN response: expected 3 tokens');
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '') throw new SaslAuthenticationError('Authentication failed: username not specified');
    if (password === '') throw new SaslAuthenticationError('Authentication failed: password not specified');
    if (authzid !== '' && authzid !== user) {
      throw new SaslAuthenticationError('Authentication failed: Client requested an authorization id that is different from username');
    }
    if (this.users.get(user) !== password) throw new SaslAuthenticationError('Authentication failed: Invalid username or password');
    return { response: Buffer.alloc(0), user };
  }
}

class ScramAuthenticator implements Authenticator {
  private readonly exchange: ScramServerExchange;
  private round = 0;

  constructor(mechanism: ScramMechanism, services: SessionServices) {
    this.exchange = new ScramServerExchange(mechanism, (user) => services.scram(user, mechanism));
  }

  step(token: Buffer): StepResult {
    try {
      if (this.round++ === 0) return { response: Buffer.from(this.exchange.first(token.toString('utf8'))) };
      return { response: Buffer.from(this.exchange.final(token.toString('utf8'))), user: this.exchange.username };
    } catch (error) {
      if (error instanceof ScramAuthenticationError) throw new SaslAuthenticationError(error.message);
      throw error;
    }
  }
}

/** RFC 7628: one round, or two when the token is refused (error challenge, then the client's 0x01). */
class OAuthBearerAuthenticator implements Authenticator {
  private pendingError: string | undefined;

  constructor(
    private readonly validator: OAuthBearerValidator,
    private readonly genericFailure: string,
  ) {}

  step(token: Buffer, nowMs: number): StepResult {
    if (token.length === 1 && token[0] === 0x01 && this.pendingError !== undefined) throw new SaslAuthenticationError(this.pendingError);
    this.pendingError = undefined;
    let first;
    try {
      first = parseClientInitialResponse(token.toString('utf8'));
    } catch (error) {
      // Kafka answers a malformed message with its generic text (a SaslException).
      if (error instanceof MalformedClientResponse) throw new SaslAuthenticationError(this.genericFailure);
      throw error;
    }
    let validated;
    try {
      validated = this.validator.validate(first.token, nowMs);
    } catch (error) {
      if (!(error instanceof TokenValidationError)) throw error;
      this.pendingError = errorChallenge(error);
      return { response: Buffer.from(this.pendingError), rejected: error.message };
    }
    if (first.authorizationId !== '' && first.authorizationId !== validated.principalName) {
      throw new SaslAuthenticationError(
        `Authentication failed: Client requested an authorization id (${first.authorizationId}) that is different from the token's principal name (${validated.principalName})`,
      );
    }
    return { response: Buffer.alloc(0), user: validated.principalName, credentialExpiresAtMs: validated.expiresAtMs };
  }
}

export class ConnectionSecurity {
  principal: string;
  state: SaslState;
  mechanism: string | null = null;
  /** Set when the next response is the last: the connection closes once it is written. */
  closeAfterResponse = false;
  /** KIP-368: when the SASL session ends (ms since the epoch), null for never. */
  sessionExpiresAtMs: number | null = null;
  /** KIP-368: what SaslAuthenticate v1+ answers once authenticated (0: no limit). */
  sessionLifetimeMs = 0;
  /** The client used SaslAuthenticate v1+, so it may re-authenticate on this connection (Kafka's connectedClientSupportsReauthentication). */
  supportsReauthentication = false;
  /** During a re-authentication: the session it renews. */
  private renewing: { readonly principal: string; readonly mechanism: string } | null = null;
  /** A re-authentication asked for another mechanism: the next token fails with this. */
  private badReauthMechanism: string | undefined;
  private authenticator: Authenticator | null = null;

  constructor(
    readonly listener: ListenerSecurity,
    private readonly services: SessionServices,
    /** The principal from the TLS client certificate, or ANONYMOUS. */
    tlsPrincipal: string = ANONYMOUS,
  ) {
    this.principal = tlsPrincipal;
    this.state = listener.usesSasl ? 'handshake' : 'complete';
  }

  get authenticated(): boolean {
    return this.state === 'complete';
  }

  get reauthenticating(): boolean {
    return this.renewing !== null;
  }

  /** The mechanisms SaslHandshake offers: the enabled ones Spate implements. */
  get offeredMechanisms(): string[] {
    return this.listener.mechanisms.filter((mechanism) => (SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism));
  }

  /** SaslHandshake: picks the mechanism; v0 switches to bare tokens. Returns false if not offered. */
  selectMechanism(mechanism: string, legacyRawTokens: boolean): boolean {
    if (!this.offeredMechanisms.includes(mechanism)) return false;
    if (this.renewing !== null && mechanism !== this.renewing.mechanism) {
      // Kafka answers the handshake and fails the next token (REAUTH_BAD_MECHANISM).
      this.badReauthMechanism = `SASL mechanism '${mechanism}' requested by client is not supported for re-authentication of mechanism '${this.renewing.mechanism}'`;
      this.state = 'authenticate';
      return true;
    }
    this.mechanism = mechanism;
    this.authenticator = this.createAuthenticator(mechanism);
    this.state = legacyRawTokens ? 'raw-tokens' : 'authenticate';
    return true;
  }

  private createAuthenticator(mechanism: string): Authenticator {
    if (mechanism === 'PLAIN') return new PlainAuthenticator(this.listener.plainUsers);
    if (mechanism === 'OAUTHBEARER') return new OAuthBearerAuthenticator(this.listener.oauthbearer!, this.genericFailure(mechanism));
    return new ScramAuthenticator(mechanism as ScramMechanism, this.services);
  }

  /** Kafka's message for a failure whose details must not reach the client. */
  private genericFailure(mechanism: string): string {
    return `Authentication failed during ${this.renewing !== null ? 're-authentication' : 'authentication'} due to invalid credentials with SASL mechanism ${mechanism}`;
  }

  /**
   * One SASL token in, the server's token out; throws SaslAuthenticationError on failure
   * (the connection then closes after the answer). `reauthMs` is connections.max.reauth.ms.
   */
  step(token: Buffer, nowMs: number, reauthMs: number): { response: Buffer; rejected?: string } {
    if (this.badReauthMechanism !== undefined) return this.fail(new SaslAuthenticationError(this.badReauthMechanism));
    if (this.authenticator === null) return this.fail(new SaslAuthenticationError('No SASL mechanism selected'));
    let result: StepResult;
    try {
      result = this.authenticator.step(token, nowMs);
    } catch (error) {
      if (error instanceof SaslAuthenticationError) return this.fail(error);
      throw error;
    }
    if (result.user === undefined) return { response: result.response, ...(result.rejected !== undefined ? { rejected: result.rejected } : {}) };
    const principal = userPrincipal(result.user);
    if (this.renewing !== null && this.renewing.principal !== principal) {
      const [fromType, ...fromName] = this.renewing.principal.split(':');
      const [toType, ...toName] = principal.split(':');
      return this.fail(new SaslAuthenticationError(`Cannot change principals during re-authentication from ${fromType}.${fromName.join(':')}: ${toType}.${toName.join(':')}`));
    }
    if (this.renewing !== null) this.services.stats.reauthentications++;
    else this.services.stats.authentications++;
    this.principal = principal;
    this.state = 'complete';
    this.authenticator = null;
    this.renewing = null;
    this.startSession(nowMs, reauthMs, result.credentialExpiresAtMs);
    return { response: result.response };
  }

  private fail(error: SaslAuthenticationError): never {
    if (this.renewing !== null) this.services.stats.failedReauthentications++;
    else this.services.stats.failedAuthentications++;
    this.authenticator = null;
    this.closeAfterResponse = true;
    throw error;
  }

  /** Kafka's session lifetime: the smaller of connections.max.reauth.ms and the credential's remaining life; neither: no limit. */
  private startSession(nowMs: number, reauthMs: number, credentialExpiresAtMs: number | undefined): void {
    if (credentialExpiresAtMs === undefined && reauthMs <= 0) {
      this.sessionExpiresAtMs = null;
      this.sessionLifetimeMs = 0;
      return;
    }
    let lifetime = credentialExpiresAtMs === undefined ? reauthMs : credentialExpiresAtMs - nowMs;
    if (credentialExpiresAtMs !== undefined && reauthMs > 0) lifetime = Math.min(lifetime, reauthMs);
    this.sessionLifetimeMs = Math.max(0, lifetime);
    this.sessionExpiresAtMs = nowMs + this.sessionLifetimeMs;
  }

  /** KIP-368: SaslHandshake on an authenticated connection starts a re-authentication. */
  beginReauthentication(): void {
    this.renewing = { principal: this.principal, mechanism: this.mechanism ?? '' };
    this.badReauthMechanism = undefined;
    this.state = 'handshake';
  }

  /** Counts a connection closed because its session expired. */
  noteExpiredClose(): void {
    this.services.stats.expiredSessions++;
  }

  sessionExpired(nowMs: number): boolean {
    return this.sessionExpiresAtMs !== null && nowMs > this.sessionExpiresAtMs;
  }
}
