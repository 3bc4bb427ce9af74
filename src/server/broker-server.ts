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
import { parseHttpListener } from '../http/http-listener.js';
import type { HttpGateway } from '../http/http-server.js';
import { Connection, type NetworkTotals, type RequestTimesSink } from './connection.js';
import { InProcessMetadataStore, type MetadataStore } from '../cluster/metadata-store.js';
import { ReplicaManager } from '../cluster/replica-manager.js';
import { Dispatcher, type RequestObserver } from './dispatcher.js';
import { ConnectionLimits } from '../security/connection-limits.js';
import { createListenerServer } from '../security/listener-server.js';
import { RequestMemory } from '../security/request-memory.js';
import { type SecurityManager } from '../security/security-manager.js';

export interface BrokerOptions {
  /** Host to bind; overrides `listeners`. */
  readonly host?: string;
  /** Port to bind (0 = an ephemeral port); overrides `listeners`. */
  readonly port?: number;
  /**
   * HTTP port (0 = an ephemeral port); overrides `http.listeners`. When `port` is 0 and
   * neither this nor `http.listeners` is set, the HTTP listener takes an ephemeral port too.
   */
  readonly httpPort?: number;
  /** WebSocket stream limits (per-socket buffered bytes before delivery pauses, read size). */
  readonly httpStreams?: { readonly maxBufferedBytes?: number; readonly readBytes?: number };
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
  /** The cluster's metadata store (the one-process cluster shares one); absent: a single node with a private store. */
  readonly metadataStore?: MetadataStore;
  /**
   * Called once the Kafka listeners accept and serve connections, before the HTTP listener
   * (which start() still waits for) is up: the `spate` command prints its ready line here.
   */
  readonly onListening?: (broker: SpateBroker) => void;
}

/** Requests observed before the metrics are loaded, kept to count them then (bounded). */
const MAX_EARLY_OBSERVATIONS = 10_000;

export class SpateBroker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  private state?: BrokerState;
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  /** Open connections by listener name (the active-connections metric). */
  private readonly connectionCounts = new Map<string, number>();
  private readonly network: NetworkTotals = { sentDirectBytes: 0 };
  /** The metrics' request-time hook, when HTTP (and so /metrics) is on. */
  private requestTimes?: RequestTimesSink;
  private gateway?: HttpGateway;
  private nextConnectionId = 1;
  private housekeeping?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private readonly temporaryDir?: string;
  private readonly limits: ConnectionLimits;
  private readonly metadataStore?: MetadataStore;
  /** queued.max.request.bytes, shared by every connection. */
  readonly requestMemory: RequestMemory;

  constructor(private readonly options: BrokerOptions = {}) {
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
    const httpListeners = base.values.get('http.listeners') as string[];
    if (options.httpPort !== undefined || (options.port === 0 && !base.explicit.has('http.listeners'))) {
      const first = httpListeners[0] !== undefined ? parseHttpListener(httpListeners[0]) : { host: options.host ?? '127.0.0.1' };
      overrides['http.listeners'] = `http://${first.host.includes(':') ? `[${first.host}]` : first.host}:${options.httpPort ?? 0}`;
    }
    this.config = loadBrokerConfig({ ...(options.configFile !== undefined ? { configFile: options.configFile } : {}), overrides });
    for (const uri of this.config.values.get('http.listeners') as string[]) parseHttpListener(uri);
    this.logger = options.logger ?? createLogger(options.logLevel ?? 'info');
    if (options.metadataStore !== undefined) this.metadataStore = options.metadataStore;
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

  /** The HTTP listener's bound port; undefined when http.listeners is empty. */
  get httpPort(): number | undefined {
    return this.gateway?.port;
  }

  /** "http://host:port" of the HTTP listener (metrics, REST, WebSocket). */
  get httpUrl(): string | undefined {
    return this.gateway?.baseUrl;
  }

  /** The node id (node.id). */
  get nodeId(): number {
    return this.config.nodeId;
  }

  /** The replica layer (partitions, leaders, ISR), for tests and the cluster. */
  get replicas(): ReplicaManager {
    if (this.state === undefined) throw new Error('The broker is not started');
    return this.state.replicas;
  }

  get logs(): LogManager {
    if (this.state === undefined) throw new Error('The broker is not started');
    return this.state.logs;
  }

  /** Listeners' security, users, ACLs, quotas and authentication counts (src/security/), for tests and tools. */
  get security(): SecurityManager {
    if (this.state === undefined) throw new Error('The broker is not started');
    return this.state.security;
  }

  async start(): Promise<this> {
    const logs = await new LogManager(this.config, this.logger).open();
    await logs.loadState(Date.now());
    const replicas = new ReplicaManager(logs, this.config, this.logger, {
      store: this.metadataStore ?? new InProcessMetadataStore(),
      clustered: this.metadataStore !== undefined,
    });
    await replicas.open();
    const state = new BrokerState(this.config, logs, this.logger, replicas);
    this.state = state;
    await state.groups.load();
    await state.transactions.load();
    await state.shareCoordinator.load();
    // A single node knows its share groups again from their share-partition state.
    if (!replicas.clustered) for (const groupId of state.shareCoordinator.groupIds()) state.shares.register(groupId);
    const dispatcher = new Dispatcher(handlers, state);
    // The HTTP side (uWebSockets.js, prom-client, the metrics) is loaded only when a listener
    // is set, and only once the Kafka listeners serve (onListening): its modules cost a start
    // about 20 ms that Kafka clients need not wait for. Requests answered meanwhile are
    // counted when the metrics arrive.
    const httpListener = (this.config.values.get('http.listeners') as string[])[0];
    const early: Array<Parameters<RequestObserver>> = [];
    const requestHook = this.config.values.get('spate.metrics.request.hook.enable') === true;
    if (httpListener !== undefined && requestHook) {
      dispatcher.observer = (...call) => {
        if (early.length < MAX_EARLY_OBSERVATIONS) early.push(call);
      };
    }
    try {
      for (const listener of this.config.listeners) {
        const server = createListenerServer(
          state.security.listeners.get(listener.name)!,
          this.logger,
          this.config.values.get('spate.authentication.timeout.ms') as number,
          (socket, tlsPrincipal) => this.accept(socket, dispatcher, listener.name, tlsPrincipal),
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
      await replicas.register(state.advertised);
      this.options.onListening?.(this);
      if (httpListener !== undefined) {
        const [{ BrokerMetrics }, { HttpGateway }] = await Promise.all([import('../metrics/broker-metrics.js'), import('../http/http-server.js')]);
        const metrics = new BrokerMetrics(state, this.connectionCounts, this.network);
        if (requestHook) {
          for (const call of early.splice(0)) metrics.observe(...call);
          dispatcher.observer = metrics.observe;
          // Connections accepted from now on stamp their requests' times; the few accepted
          // before the metrics loaded are counted but not timed.
          this.requestTimes = metrics.requestTimes;
        }
        const gateway = new HttpGateway({
          listener: parseHttpListener(httpListener),
          state,
          dispatcher,
          metrics,
          logger: this.logger,
          ready: () => this.stopping === undefined,
          ...(this.options.httpStreams !== undefined ? { streams: this.options.httpStreams } : {}),
        });
        this.gateway = gateway; // stopped by the shutdown below if listening fails
        await gateway.start();
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
    // Leave the cluster first: leadership moves and parked acks=all produces are answered.
    await this.state?.replicas.stop();
    this.gateway?.stop();
    const closing = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    const started = performance.now();
    const drained = [...this.connections].map(async (connection) => {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([connection.drain().then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000)))]);
      clearTimeout(timer);
      // Requests still unanswered were read and may have reached the log: say whose.
      if (!finished)
        this.logger.warn(`Shutdown: connection ${connection.id} from ${connection.remoteAddress} did not drain in 2000 ms; ${connection.inFlight} request(s) unanswered`);
    });
    await Promise.all(drained);
    this.logger.info(`Shutdown: ${drained.length} connection(s) drained in ${Math.round(performance.now() - started)} ms`);
    for (const connection of this.connections) connection.closeAfterDrain();
    this.limits.closeHeld();
    await Promise.all(closing);
    if (this.state !== undefined) {
      this.state.markers.stop();
      this.state.interBroker.close();
      this.state.groups.stop();
      this.state.transactions.stop();
      this.state.shares.stop();
      this.state.sharePartitions.stop();
      this.state.shareCoordinator.stop();
      this.state.security.close();
      await this.state.logs.close(); // flushes every log, in parallel
    }
    if (this.temporaryDir !== undefined) rmSync(this.temporaryDir, { recursive: true, force: true });
  }

  private accept(socket: Socket, dispatcher: Dispatcher, listener: string, tlsPrincipal: string): void {
    if (this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    const refused = this.limits.admit(socket, this.connections);
    if (refused !== undefined) {
      this.logger.warn(`Refused connection from ${socket.remoteAddress} on ${listener}: ${refused}`);
      socket.destroy();
      return;
    }
    const throttleMs = this.state!.security.quotaEnforcer.connectionThrottleMs((socket.remoteAddress ?? '').replace(/^::ffff:/, ''), Date.now());
    if (throttleMs > 0) {
      this.logger.debug(`Connection from ${socket.remoteAddress} on ${listener} over its connection_creation_rate: closed in ${throttleMs} ms`);
      this.limits.closeAfter(socket, throttleMs);
      return;
    }
    const connection = new Connection(
      this.nextConnectionId++,
      socket,
      dispatcher,
      this.logger,
      {
        maxFrameBytes: this.config.socketRequestMaxBytes,
        maxInFlight: this.config.queuedMaxRequests,
        idleTimeoutMs: this.config.connectionsMaxIdleMs,
        memory: this.requestMemory,
        requestReadTimeoutMs: this.config.values.get('spate.request.read.timeout.ms') as number,
        authenticationTimeoutMs: this.config.values.get('spate.authentication.timeout.ms') as number,
        network: this.network,
        ...(this.requestTimes !== undefined ? { requestTimes: this.requestTimes } : {}),
      },
      this.state!.security.session(listener, tlsPrincipal),
    );
    this.connections.add(connection);
    this.connectionCounts.set(listener, (this.connectionCounts.get(listener) ?? 0) + 1);
    void connection.closed.then(() => {
      this.connections.delete(connection);
      this.connectionCounts.set(listener, (this.connectionCounts.get(listener) ?? 1) - 1);
    });
  }
}

/** Starts a broker; the promise resolves once it accepts connections. */
export async function startBroker(options: BrokerOptions = {}): Promise<SpateBroker> {
  return new SpateBroker(options).start();
}
