// What the dispatcher asks before it decodes a request: is this API allowed in the
// connection's SASL state (only ApiVersions and the SASL APIs before authentication, as
// Kafka's SaslServerAuthenticator enforces), has a KIP-368 session expired, and, after a
// legacy SaslHandshake v0, the bare SASL tokens that come instead of Kafka requests.

import { ApiKey } from '../protocol/generated/index.js';
import { type ConnectionSecurity, SaslAuthenticationError } from './connection-security.js';

const PRE_AUTHENTICATION_APIS: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

/** Why the request must close the connection instead of being served, or undefined. */
export function refusedBeforeAuthentication(security: ConnectionSecurity, apiKey: number, apiName: string, nowMs: number): string | undefined {
  if (!security.authenticated && !PRE_AUTHENTICATION_APIS.has(apiKey)) {
    const during = security.reauthenticating ? 'SASL re-authentication' : 'SASL authentication';
    return `Unexpected ${apiName} request during ${during} on listener ${security.listener.name} (only ApiVersions, SaslHandshake and SaslAuthenticate are served before it completes)`;
  }
  // Kafka's SocketServer: once the session has expired, only a re-authentication may follow
  // (a SaslHandshake from a client that can re-authenticate, then its tokens).
  if (security.sessionExpired(nowMs)) {
    const renewing = (apiKey === ApiKey.SaslHandshake && security.supportsReauthentication) || (apiKey === ApiKey.SaslAuthenticate && security.reauthenticating);
    if (!renewing) {
      security.noteExpiredClose();
      return `SASL session of ${security.principal} expired and was not re-authenticated (connections.max.reauth.ms or the credential's expiry)`;
    }
  }
  return undefined;
}

/**
 * SaslHandshake v0: the tokens travel as size-prefixed frames with no Kafka header. Returns
 * the framed answer; a failed authentication throws (the connection is then closed, as
 * Kafka closes it: there is no response to carry an error).
 */
export function answerRawSaslToken(security: ConnectionSecurity, token: Buffer, nowMs: number, reauthMs: number): Buffer {
  let response: Buffer;
  try {
    response = security.step(token, nowMs, reauthMs).response;
  } catch (error) {
    if (error instanceof SaslAuthenticationError) throw new RawSaslFailure(error.message);
    throw error;
  }
  const framed = Buffer.allocUnsafe(4 + response.length);
  framed.writeInt32BE(response.length, 0);
  response.copy(framed, 4);
  return framed;
}

export class RawSaslFailure extends Error {}
