// SaslAuthenticate, v0-2: carries the SASL tokens after SaslHandshake v1. PLAIN takes one
// round, SCRAM two, OAUTHBEARER one (two when the token is refused: the error challenge,
// then the client's 0x01). A failure answers SASL_AUTHENTICATION_FAILED with Kafka's
// message and closes the connection once the answer is written. v1+ answers the session
// lifetime (KIP-368: connections.max.reauth.ms, or less when the credential expires first;
// 0 when unlimited), and marks the client as able to re-authenticate on this connection.

import { ErrorCode } from '../protocol/errors.js';
import { type SaslAuthenticateRequest, type SaslAuthenticateResponse } from '../protocol/generated/index.js';
import { SaslAuthenticationError } from '../security/connection-security.js';
import { defineHandler } from './api-handler.js';

const EMPTY = Buffer.alloc(0);

export const saslAuthenticateHandler = defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  apiKey: 36,
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const security = context.connection.security;
    const { broker } = context;
    if (security.state !== 'authenticate') {
      const message = security.listener.usesSasl
        ? 'SaslAuthenticate request received before a SaslHandshake, or after authentication completed'
        : `Listener ${security.listener.name} does not use SASL`;
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: message, authBytes: EMPTY, sessionLifetimeMs: 0n };
    }
    if (context.apiVersion >= 1) security.supportsReauthentication = true;
    const renewing = security.reauthenticating;
    try {
      const { response, rejected } = security.step(request.authBytes, broker.now(), broker.security.reauthMs);
      if (rejected !== undefined) {
        broker.logger.info(`SASL ${security.mechanism} token of client ${context.clientId ?? '-'} from ${context.connection.remoteAddress} refused: ${rejected}`);
      }
      if (security.authenticated) {
        broker.logger.debug(`Connection ${context.connection.id} ${renewing ? 're-authenticated' : 'authenticated'} as ${security.principal} (${security.mechanism})`);
      }
      const lifetime = security.authenticated ? BigInt(security.sessionLifetimeMs) : 0n;
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: response, sessionLifetimeMs: lifetime };
    } catch (error) {
      if (!(error instanceof SaslAuthenticationError)) throw error;
      broker.logger.info(
        `SASL ${security.mechanism} ${renewing ? 're-authentication' : 'authentication'} of client ${context.clientId ?? '-'} from ${context.connection.remoteAddress} failed: ${error.message}`,
      );
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: error.message, authBytes: EMPTY, sessionLifetimeMs: 0n };
    }
  },
});
