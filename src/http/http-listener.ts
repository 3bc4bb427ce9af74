// The http.listeners value, parsed without loading the HTTP server: the broker checks it
// at construction and loads uWebSockets.js and prom-client only when a listener is set.

import { ConfigError } from '../config/definitions.js';

export interface HttpListener {
  readonly host: string;
  readonly port: number;
}

/** `http://host:port` (the only scheme served; TLS comes with the security work). */
export function parseHttpListener(uri: string): HttpListener {
  const match = /^http:\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/i.exec(uri.trim());
  if (match === null) throw new ConfigError('http.listeners', uri, 'expected http://host:port');
  const port = Number(match[2]);
  if (port > 65535) throw new ConfigError('http.listeners', uri, 'port out of range');
  let host = match[1]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port };
}
