// Who is on the other end of one connection: its listener and security protocol, its
// principal, and where its SASL authentication stands. Kafka's SaslServerAuthenticator
// states, reduced to what the protocol needs:
//   handshake     SASL listener, nothing yet: only ApiVersions and SaslHandshake are served
//   authenticate  after SaslHandshake v1: SaslAuthenticate requests carry the tokens
//   raw-tokens    after SaslHandshake v0 (legacy): the next frames are bare SASL tokens
//   complete      authenticated (or a PLAINTEXT/SSL listener): every API is served
// A failed authentication answers SASL_AUTHENTICATION_FAILED and then closes the connection.

import { ANONYMOUS, userPrincipal } from './principal.js';
import { type ScramCredential, ScramAuthenticationError, type ScramMechanism, ScramServerExchange } from './scram.js';
import { type ListenerSecurity, SUPPORTED_MECHANISMS } from './security-config.js';

export type SaslState = 'handshake' | 'authenticate' | 'raw-tokens' | 'complete';

export class SaslAuthenticationError extends Error {}

interface Authenticator {
  /** Takes the client's token; returns the server's answer and, once done, the user name. */
  step(token: Buffer): { response: Buffer; user?: string };
}

export interface CredentialLookup {
  scram(user: string, mechanism: ScramMechanism): ScramCredential | undefined;
}

class PlainAuthenticator implements Authenticator {
  constructor(private readonly users: ReadonlyMap<string, string>) {}

  step(token: Buffer): { response: Buffer; user?: string } {
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

  constructor(mechanism: ScramMechanism, credentials: CredentialLookup) {
    this.exchange = new ScramServerExchange(mechanism, (user) => credentials.scram(user, mechanism));
  }

  step(token: Buffer): { response: Buffer; user?: string } {
    try {
      if (this.round++ === 0) return { response: Buffer.from(this.exchange.first(token.toString('utf8'))) };
      return { response: Buffer.from(this.exchange.final(token.toString('utf8'))), user: this.exchange.username };
    } catch (error) {
      if (error instanceof ScramAuthenticationError) throw new SaslAuthenticationError(error.message);
      throw error;
    }
  }
}

export class ConnectionSecurity {
  principal: string;
  state: SaslState;
  mechanism: string | null = null;
  /** Set when the next response is the last: the connection closes once it is written. */
  closeAfterResponse = false;
  /** KIP-368: when the SASL session ends (0: never). */
  sessionExpiresAtMs = 0;
  private authenticator: Authenticator | null = null;

  constructor(
    readonly listener: ListenerSecurity,
    private readonly credentials: CredentialLookup,
    /** The principal from the TLS client certificate, or ANONYMOUS. */
    tlsPrincipal: string = ANONYMOUS,
  ) {
    this.principal = tlsPrincipal;
    this.state = listener.usesSasl ? 'handshake' : 'complete';
  }

  get authenticated(): boolean {
    return this.state === 'complete';
  }

  /** The mechanisms SaslHandshake offers: the enabled ones Spate implements. */
  get offeredMechanisms(): string[] {
    return this.listener.mechanisms.filter((mechanism) => (SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism));
  }

  /** SaslHandshake: picks the mechanism; v0 switches to bare tokens. Returns false if not offered. */
  selectMechanism(mechanism: string, legacyRawTokens: boolean): boolean {
    if (!this.offeredMechanisms.includes(mechanism)) return false;
    this.mechanism = mechanism;
    this.authenticator = mechanism === 'PLAIN' ? new PlainAuthenticator(this.listener.plainUsers) : new ScramAuthenticator(mechanism as ScramMechanism, this.credentials);
    this.state = legacyRawTokens ? 'raw-tokens' : 'authenticate';
    return true;
  }

  /** One SASL token in, the server's token out; throws SaslAuthenticationError on failure. */
  step(token: Buffer, nowMs: number, reauthMs: number): Buffer {
    if (this.authenticator === null) throw new SaslAuthenticationError('No SASL mechanism selected');
    let result: { response: Buffer; user?: string };
    try {
      result = this.authenticator.step(token);
    } catch (error) {
      this.authenticator = null;
      this.closeAfterResponse = true;
      throw error;
    }
    if (result.user !== undefined) {
      const principal = userPrincipal(result.user);
      // KIP-368: a re-authentication must keep the principal.
      if (this.sessionExpiresAtMs !== 0 && this.mechanism !== null && this.principal !== principal && this.principal !== ANONYMOUS) {
        this.closeAfterResponse = true;
        throw new SaslAuthenticationError(`Cannot change principals during re-authentication from ${this.principal} to ${principal}`);
      }
      this.principal = principal;
      this.state = 'complete';
      this.authenticator = null;
      this.sessionExpiresAtMs = reauthMs > 0 ? nowMs + reauthMs : 0;
    }
    return result.response;
  }

  /** KIP-368: a client may start SaslHandshake again on an authenticated connection. */
  beginReauthentication(): void {
    this.state = 'handshake';
  }

  sessionExpired(nowMs: number): boolean {
    return this.sessionExpiresAtMs !== 0 && nowMs > this.sessionExpiresAtMs;
  }
}
