// A Spate broker as a library object: open the logs, bind the listener(s), serve, and shut
// down cleanly (stop accepting, finish in-flight requests, flush, close files). Several
// brokers can live in one process; nothing here is global.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
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

  constructor(options: BrokerOptions = {}) {
    const overrides: Record<string, string | number | boolean> = { ...(options.config ?? {}) };
    if (options.temporary === true) {
      this.temporaryDir = mkdtempSync(join(tmpdir(), 'spate-'));
      overrides['log.dirs'] = this.temporaryDir;
    } else if (options.dataDir !== undefined) overrides['log.dirs'] = options.dataDir;
    const base = loadBrokerConfig({ ...(options.configFile !== undefined ? { configFile: options.configFile } : {}), overrides });
    if (options.host !== undefined || options.port !== undefined) {
      const first = base.listeners[0]!;
      overrides['listeners'] = `${first.name}://${options.host ?? first.host}:${options.port ?? first.port}`;
    }
    this.config = loadBrokerConfig({ ...(options.configFile !== undefined ? { configFile: options.configFile } : {}), overrides });
    this.logger = options.logger ?? createLogger(options.logLevel ?? 'info');
    for (const warning of this.config.warnings) this.logger.warn(warning);
  }

  /** The first listener's bound port (the real one when 0 was asked for). */
  get port(): number {
    return this.state?.advertised[0]?.port ?? this.config.listeners[0]!.port;
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
        const server = createServer({ noDelay: true }, (socket) => this.accept(socket, dispatcher));
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
    const started = performance.now();
    const drained = [...this.connections].map(async (connection) => {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        connection.drain().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000))),
      ]);
      clearTimeout(timer);
      // Requests still unanswered were read and may have reached the log: say whose.
      if (!finished) this.logger.warn(`Shutdown: connection ${connection.id} from ${connection.remoteAddress} did not drain in 2000 ms; ${connection.inFlight} request(s) unanswered`);
    });
    await Promise.all(drained);
    this.logger.info(`Shutdown: ${drained.length} connection(s) drained in ${Math.round(performance.now() - started)} ms`);
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

  private accept(socket: Socket, dispatcher: Dispatcher): void {
    if (this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    const connection = new Connection(this.nextConnectionId++, socket, dispatcher, this.logger, {
      maxFrameBytes: this.config.socketRequestMaxBytes,
      maxInFlight: this.config.queuedMaxRequests,
      idleTimeoutMs: this.config.connectionsMaxIdleMs,
    });
    this.connections.add(connection);
    void connection.closed.then(() => this.connections.delete(connection));
  }
}

/** Starts a broker; the promise resolves once it accepts connections. */
export async function startBroker(options: BrokerOptions = {}): Promise<SpateBroker> {
  return new SpateBroker(options).start();
}
