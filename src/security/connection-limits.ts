// Connection limits with Kafka's names: max.connections for the broker and
// max.connections.per.ip (with max.connections.per.ip.overrides, "host:count,...").
// Kafka makes a connection over max.connections wait in the accept queue; Spate closes it
// at once, so a flood cannot park thousands of sockets in the backlog either. A connection
// over the per-address limit is closed, as in Kafka. A connection over its address's
// connection_creation_rate (KIP-612, src/security/quota-enforcer.ts) is held unread for the
// throttle time and then closed, as Kafka's acceptor delays closing it.

import { type Socket } from 'node:net';
import { type BrokerConfig } from '../config/broker-config.js';
import { ConfigError } from '../config/definitions.js';

interface Counted {
  readonly remoteHost: string;
  readonly isOpen: boolean;
}

/** At most this many throttled sockets wait for their delayed close; more are closed at once. */
const MAX_HELD_SOCKETS = 1024;

export class ConnectionLimits {
  private readonly held = new Set<Socket>();
  private readonly maxConnections: number;
  private readonly maxPerIp: number;
  private readonly overrides = new Map<string, number>();

  constructor(config: BrokerConfig) {
    this.maxConnections = config.values.get('max.connections') as number;
    this.maxPerIp = config.values.get('max.connections.per.ip') as number;
    const overrides = (config.values.get('max.connections.per.ip.overrides') as string).trim();
    for (const entry of overrides === '' ? [] : overrides.split(',')) {
      const at = entry.lastIndexOf(':');
      const count = Number(entry.slice(at + 1));
      if (at <= 0 || !Number.isInteger(count) || count < 0) throw new ConfigError('max.connections.per.ip.overrides', overrides, `bad entry ${entry}: expected host:count`);
      this.overrides.set(entry.slice(0, at).trim(), count);
    }
  }

  /** Why the new socket must be closed, or undefined when it may stay. */
  admit(socket: Socket, open: Iterable<Counted>): string | undefined {
    const host = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    let total = 0;
    let fromHost = 0;
    for (const connection of open) {
      if (!connection.isOpen) continue;
      total++;
      if (connection.remoteHost === host) fromHost++;
    }
    if (total >= this.maxConnections) return `${total} connections open, the limit is ${this.maxConnections} (max.connections)`;
    const perIp = this.overrides.get(host) ?? this.maxPerIp;
    if (fromHost >= perIp) return `${fromHost} connections from ${host}, the limit is ${perIp} (max.connections.per.ip)`;
    return undefined;
  }

  /** KIP-612: keeps a throttled connection open, unread, for `ms`, then closes it. */
  closeAfter(socket: Socket, ms: number): void {
    if (this.held.size >= MAX_HELD_SOCKETS) {
      socket.destroy();
      return;
    }
    socket.pause();
    socket.on('error', () => undefined);
    this.held.add(socket);
    const timer = setTimeout(() => {
      this.held.delete(socket);
      socket.destroy();
    }, ms);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.held.delete(socket);
    });
  }

  /** Closes the held connections at once (the broker is stopping). */
  closeHeld(): void {
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }
}
