// SaslAuthenticate, v0-2: carries the SASL tokens after SaslHandshake v1. PLAIN takes one
// round, SCRAM two. A failure answers SASL_AUTHENTICATION_FAILED with Kafka's message and
// closes the connection once the answer is written. v1+ answers the session lifetime
// (connections.max.reauth.ms, KIP-368; 0 when unlimited).

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
    try {
      const authBytes = security.step(request.authBytes, broker.now(), broker.security.reauthMs);
      const lifetime = security.authenticated ? BigInt(broker.security.reauthMs) : 0n;
      if (security.authenticated) broker.logger.debug(`Connection ${context.connection.id} authenticated as ${security.principal} (${security.mechanism})`);
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes, sessionLifetimeMs: lifetime };
    } catch (error) {
      if (!(error instanceof SaslAuthenticationError)) throw error;
      broker.logger.info(`SASL ${security.mechanism} authentication of client ${context.clientId ?? '-'} from ${context.connection.remoteAddress} failed: ${error.message}`);
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: error.message, authBytes: EMPTY, sessionLifetimeMs: 0n };
    }
  },
});
