// A Spate broker as a library object: open the logs, bind the listener(s), serve, and shut
// down cleanly (stop accepting, finish in-flight requests, flush, close files). Several
// brokers can live in one process; nothing here is global.

import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressInfo } from 'node:net';
import { BrokerState } from '../broker/broker-state.js';
import { handlers } from '../broker/index.js';
import { loadBrokerConfig, type BrokerConfig } from '../config/broker-config.js';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { LogManager } from '../log/log-manager.js';
import { Connection } from './connection.js';
import { Dispatcher } from './dispatcher.js';
import { ConnectionLimits } from '../security/connection-limits.js';
import { createListenerServer } from '../security/listener-server.js';
import { RequestMemory } from '../security/request-memory.js';

export interface BrokerOptions {
  /** Host to bind; overrides `listeners`. */
  readonly host?: string;
  /** Port to bind (0 = an ephemeral port); overrides `listeners`. */
  readonly port?: number;
  /** Data directory; overrides `log.dirs`. */
  readonly dataDir?: string;
  /** Keep the data in a fresh temporary directory, removed by stop() (for test suites). */
  readonly temporary?: boolean;
  /** A Kafka-style properties file. */
  readonly configFile?: string;
  /** Kafka property overrides, e.g. `{ 'num.partitions': 3 }`. */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  readonly logLevel?: LogLevel;
  readonly logger?: Logger;
}

export class SpateBroker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  private state?: BrokerState;
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private housekeeping?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private readonly temporaryDir?: string;
  private readonly limits: ConnectionLimits;
  /** queued.max.request.bytes, shared by every connection. */
  readonly requestMemory: RequestMemory;

  constructor(options: BrokerOptions = {}) {
    const overrides: Record<string, string | number | boolean> = { ...(options.config ?? {}) };
    if (options.temporary === true) {
      this.temporaryDir = mkdtempSync(join(tmpdir(), 'spate-'));
      overrides['log.dirs'] = this.temporaryDir;
    } else if (options.dataDir !== undefined) overrides['log.dirs'] = options.dataDir;
    const base = loadBrokerConfig({ ...(options.configFile !== undefined ? { configFile: options.configFile } : {}), overrides });
    if (options.host !== undefined || options.port !== undefined) {
      // Only the first listener moves; the others (SSL, SASL_SSL...) keep their addresses.
      const [first, ...others] = base.listeners;
      const host = options.host ?? first!.host;
      overrides['listeners'] = [
        `${first!.name}://${host.includes(':') ? `[${host}]` : host}:${options.port ?? first!.port}`,
        ...others.map((listener) => `${listener.name}://${listener.host.includes(':') ? `[${listener.host}]` : listener.host}:${listener.port}`),
      ].join(',');
    }
    this.config = loadBrokerConfig({ ...(options.configFile !== undefined ? { configFile: options.configFile } : {}), overrides });
    this.logger = options.logger ?? createLogger(options.logLevel ?? 'info');
    for (const warning of this.config.warnings) this.logger.warn(warning);
    this.limits = new ConnectionLimits(this.config);
    this.requestMemory = new RequestMemory(Number(this.config.values.get('queued.max.request.bytes') as bigint));
  }

  /** The first listener's bound port (the real one when 0 was asked for). */
  get port(): number {
    return this.state?.advertised[0]?.port ?? this.config.listeners[0]!.port;
  }

  /** The bound port of a listener by name (SSL, SASL_SSL...), once started. */
  portOf(listenerName: string): number {
    const endpoint = this.state?.advertised.find((candidate) => candidate.listener === listenerName.toUpperCase());
    if (endpoint === undefined) throw new Error(`No listener named ${listenerName}`);
    return endpoint.port;
  }

  get host(): string {
    return this.config.listeners[0]!.host;
  }

  /** "host:port" of the first listener, ready for a client's bootstrap list. */
  get bootstrap(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get logs(): LogManager {
    if (this.state === undefined) throw new Error('The broker is not started');
    return this.state.logs;
  }

  async start(): Promise<this> {
    const logs = new LogManager(this.config, this.logger);
    await logs.loadState(Date.now());
    const state = new BrokerState(this.config, logs, this.logger);
    this.state = state;
    await state.groups.load();
    await state.transactions.load();
    const dispatcher = new Dispatcher(handlers, state);
    try {
      for (const listener of this.config.listeners) {
        const server = createListenerServer(state.security.listeners.get(listener.name)!, this.logger, this.config.values.get('spate.authentication.timeout.ms') as number, (socket, tlsPrincipal) =>
          this.accept(socket, dispatcher, listener.name, tlsPrincipal),
        );
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(listener.port, listener.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        this.servers.push(server);
        const bound = server.address() as AddressInfo;
        const advertised = this.config.advertisedListeners.find((candidate) => candidate.name === listener.name);
        state.advertised.push({
          listener: listener.name,
          host: advertised?.host || listener.host || '127.0.0.1',
          port: advertised !== undefined && advertised.port !== 0 && advertised !== listener ? advertised.port : bound.port,
        });
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.housekeeping = setInterval(() => logs.expireProducers(Date.now()), 60_000);
    this.housekeeping.unref();
    return this;
  }

  /** Stops accepting, lets in-flight requests finish, flushes and closes the logs. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.housekeeping !== undefined) clearInterval(this.housekeeping);
    const closing = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    const drained = [...this.connections].map((connection) =>
      Promise.race([connection.drain(), new Promise((resolve) => setTimeout(resolve, 2000))]),
    );
    await Promise.all(drained);
    for (const connection of this.connections) connection.close();
    await Promise.all(closing);
    if (this.state !== undefined) {
      this.state.groups.stop();
      this.state.transactions.stop();
      this.state.logs.flush();
      this.state.logs.close();
    }
    if (this.temporaryDir !== undefined) rmSync(this.temporaryDir, { recursive: true, force: true });
  }

  private accept(socket: Socket, dispatcher: Dispatcher, listenerName: string, tlsPrincipal: string): void {
    if (this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    const refused = this.limits.admit(socket, this.connections);
    if (refused !== undefined) {
      this.logger.warn(`Refused connection from ${socket.remoteAddress} on ${listenerName}: ${refused}`);
      socket.destroy();
      return;
    }
    const connection = new Connection(this.nextConnectionId++, socket, dispatcher, this.logger, {
      maxFrameBytes: this.config.socketRequestMaxBytes,
      maxInFlight: this.config.queuedMaxRequests,
      idleTimeoutMs: this.config.connectionsMaxIdleMs,
      memory: this.requestMemory,
      requestReadTimeoutMs: this.config.values.get('spate.request.read.timeout.ms') as number,
      authenticationTimeoutMs: this.config.values.get('spate.authentication.timeout.ms') as number,
    }, this.state!.security.session(listenerName, tlsPrincipal));
    this.connections.add(connection);
    void connection.closed.then(() => this.connections.delete(connection));
  }
}

/** Starts a broker; the promise resolves once it accepts connections. */
export async function startBroker(options: BrokerOptions = {}): Promise<SpateBroker> {
  return new SpateBroker(options).start();
}
