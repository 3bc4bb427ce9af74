// One bound listener: plain TCP for PLAINTEXT and SASL_PLAINTEXT, node:tls for SSL and
// SASL_SSL. A TLS connection is handed on only once its handshake is done, with the
// principal of its client certificate (or ANONYMOUS). Fetch's mapped segment buffers are
// written to a TLSSocket as to any socket, so the zero-copy read path still avoids the copy
// into the JS heap; the encryption makes one copy, which plain sockets do not pay.

import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { type Logger } from '../logger.js';
import { ANONYMOUS, tlsPeerPrincipal } from './principal.js';
import { type ListenerSecurity } from './security-config.js';
import { tlsServerOptions } from './tls.js';

export function createListenerServer(security: ListenerSecurity, logger: Logger, handshakeTimeoutMs: number, onConnection: (socket: Socket, tlsPrincipal: string) => void): Server {
  if (!security.usesTls) return createTcpServer({ noDelay: true }, (socket) => onConnection(socket, ANONYMOUS));
  const server = createTlsServer(
    { ...tlsServerOptions(security), noDelay: true, ...(handshakeTimeoutMs > 0 ? { handshakeTimeout: handshakeTimeoutMs } : {}) },
    (socket: TLSSocket) => {
      onConnection(socket, tlsPeerPrincipal(socket));
    },
  );
  server.on('tlsClientError', (error, socket) => {
    logger.info(`TLS handshake with ${socket.remoteAddress}:${socket.remotePort} on listener ${security.name} failed: ${error.message}`);
  });
  return server;
}
