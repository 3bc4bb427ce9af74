// SaslHandshake, v0-1: picks the SASL mechanism of the connection. v1 is followed by
// SaslAuthenticate requests; v0 (the legacy form) by bare size-prefixed SASL tokens, which
// the dispatcher hands to the connection's authenticator (src/security/sasl-gate.ts). As in
// Kafka: an unsupported mechanism answers UNSUPPORTED_SASL_MECHANISM with the enabled list
// and closes the connection; a handshake on a non-SASL listener or out of turn answers
// ILLEGAL_SASL_STATE. KIP-368: on an authenticated connection whose client can
// re-authenticate (it used SaslAuthenticate v1+), a v1 handshake starts a re-authentication.

import { ErrorCode } from '../protocol/errors.js';
import { type SaslHandshakeRequest, type SaslHandshakeResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const saslHandshakeHandler = defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  apiKey: 17,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const security = context.connection.security;
    const mechanisms = security.offeredMechanisms;
    if (!security.listener.usesSasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    if (security.authenticated && context.apiVersion >= 1 && security.supportsReauthentication) security.beginReauthentication();
    if (security.state !== 'handshake') return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    if (!security.selectMechanism(request.mechanism, context.apiVersion === 0)) {
      context.broker.logger.info(
        `Client ${context.clientId ?? '-'} from ${context.connection.remoteAddress} asked for SASL mechanism ${request.mechanism}; enabled: ${mechanisms.join(', ') || 'none'}`,
      );
      security.closeAfterResponse = true;
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    return { errorCode: ErrorCode.NONE, mechanisms };
  },
});
