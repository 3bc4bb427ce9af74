// The CLI's Kafka client, built on the project's own protocol layer (the generated codecs and
// frame helpers): one connection per broker, requests pipelined by correlation ID, versions
// checked against the broker's ApiVersions answer so the same commands work against Spate
// and Apache Kafka; TLS and SASL (PLAIN, SCRAM) as --command-config asks (command-config.ts).

import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { type ClientSecurity } from './command-config.js';
import { authenticate } from './sasl-client.js';
import { errorName } from '../protocol/errors.js';
import { decodeResponse, encodeRequest } from '../protocol/frame.js';
import { apiSchemas, type MetadataResponse } from '../protocol/generated/index.js';

/** A Kafka error code in an answer, with its name (what the CLI prints). */
export class KafkaCommandError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(`${errorName(errorCode)}: ${message}`);
  }
}

class BrokerConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, { apiKey: number; apiVersion: number; resolve: (body: unknown) => void; reject: (error: Error) => void }>();
  versions = new Map<number, { min: number; max: number }>();

  constructor(
    private readonly socket: Socket,
    private readonly address: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const failAll = (error: Error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    socket.on('error', failAll);
    socket.on('close', () => failAll(new Error(`Connection to ${address} closed`)));
  }

  static open(host: string, port: number, timeoutMs: number, security: ClientSecurity = {}): Promise<BrokerConnection> {
    return new Promise((resolve, reject) => {
      const tls = security.tls;
      // TLS: the host name is checked against the certificate (Kafka's ssl.endpoint.identification.algorithm=https).
      const socket = tls === undefined ? connect({ host, port }) : connectTls({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ...tls });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`Cannot connect to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new BrokerConnection(socket, `${host}:${port}`));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`Cannot connect to ${host}:${port}${tls !== undefined ? ' (TLS)' : ''}: ${error.message}`));
      });
    });
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
      const size = this.buffered.readInt32BE(0);
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const waiter = this.pending.get(correlationId);
      if (waiter === undefined) continue;
      this.pending.delete(correlationId);
      try {
        waiter.resolve(decodeResponse(waiter.apiKey, waiter.apiVersion, frame).body);
      } catch (error) {
        waiter.reject(error as Error);
      }
    }
  }

  /** The version to use: `preferred`, lowered to the broker's maximum; refused below its minimum. */
  version(apiKey: number, preferred: number): number {
    const range = this.versions.get(apiKey);
    const name = apiSchemas.get(apiKey)?.name ?? `API ${apiKey}`;
    if (range === undefined) throw new Error(`${this.address} does not serve ${name}`);
    const version = Math.min(preferred, range.max);
    if (version < range.min) throw new Error(`${this.address} serves ${name} v${range.min}-${range.max}, this CLI needs v${preferred} or lower`);
    return version;
  }

  /** Sends a request the broker does not answer (Produce with acks=0). */
  sendOnly(apiKey: number, apiVersion: number, body: unknown): Promise<void> {
    const correlationId = this.nextCorrelationId++;
    return new Promise((resolve, reject) => this.socket.write(encodeRequest(apiKey, apiVersion, correlationId, 'spate-cli', body), (error) => (error ? reject(error) : resolve())));
  }

  send<Response>(apiKey: number, apiVersion: number, body: unknown): Promise<Response> {
    const correlationId = this.nextCorrelationId++;
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { apiKey, apiVersion, resolve: resolve as (body: unknown) => void, reject });
      this.socket.write(encodeRequest(apiKey, apiVersion, correlationId, 'spate-cli', body));
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

export class KafkaClient {
  private readonly connections = new Map<number, BrokerConnection>();
  private brokers = new Map<number, { host: string; port: number }>();

  private constructor(
    private readonly bootstrap: BrokerConnection,
    private readonly timeoutMs: number,
    private readonly security: ClientSecurity,
  ) {}

  /** Connects to the first reachable `host:port` of a comma-separated list. */
  static async connect(bootstrapServers: string, timeoutMs = 10_000, security: ClientSecurity = {}): Promise<KafkaClient> {
    const errors: string[] = [];
    for (const server of bootstrapServers
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')) {
      const colon = server.lastIndexOf(':');
      const host = server.slice(0, colon).replace(/^\[|\]$/g, '');
      const port = Number(server.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(port)) {
        errors.push(`'${server}' is not host:port`);
        continue;
      }
      let connection: BrokerConnection | undefined;
      try {
        connection = await BrokerConnection.open(host, port, timeoutMs, security);
        await negotiate(connection, security);
        return new KafkaClient(connection, timeoutMs, security);
      } catch (error) {
        connection?.close();
        // A refused login is the answer, not a reason to try the next server.
        if (error instanceof KafkaCommandError || (error as Error).name === 'SaslFailure') throw error;
        errors.push((error as Error).message);
      }
    }
    throw new Error(`No broker reachable (${errors.join('; ') || 'empty --bootstrap-server'})`);
  }

  /** Sends to the bootstrap broker (admin requests: any broker answers). */
  request<Response>(apiKey: number, preferredVersion: number, body: unknown): Promise<Response> {
    return this.bootstrap.send<Response>(apiKey, this.bootstrap.version(apiKey, preferredVersion), body);
  }

  version(apiKey: number, preferred: number): number {
    return this.bootstrap.version(apiKey, preferred);
  }

  /** Sends to one broker by node ID (partition leaders, group coordinators). */
  async requestTo<Response>(nodeId: number, apiKey: number, preferredVersion: number, body: unknown): Promise<Response> {
    const connection = await this.connectionTo(nodeId);
    return connection.send<Response>(apiKey, connection.version(apiKey, preferredVersion), body);
  }

  /** Sends a request that gets no response (Produce with acks=0) to one broker. */
  async sendTo(nodeId: number, apiKey: number, preferredVersion: number, body: unknown): Promise<void> {
    const connection = await this.connectionTo(nodeId);
    await connection.sendOnly(apiKey, connection.version(apiKey, preferredVersion), body);
  }

  /** Metadata (v12 at most) for some topics, or all with null; remembers the brokers. */
  async metadata(topics: string[] | null): Promise<MetadataResponse> {
    const response = await this.request<MetadataResponse>(3, 12, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: Buffer.alloc(16) })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.brokers = new Map(response.brokers.map((broker) => [broker.nodeId, { host: broker.host, port: broker.port }]));
    return response;
  }

  private async connectionTo(nodeId: number): Promise<BrokerConnection> {
    const existing = this.connections.get(nodeId);
    if (existing !== undefined) return existing;
    if (!this.brokers.has(nodeId)) await this.metadata([]);
    const broker = this.brokers.get(nodeId);
    if (broker === undefined) throw new Error(`Broker ${nodeId} is not in the cluster metadata`);
    const connection = await BrokerConnection.open(broker.host, broker.port, this.timeoutMs, this.security);
    await negotiate(connection, this.security);
    this.connections.set(nodeId, connection);
    return connection;
  }

  close(): void {
    this.bootstrap.close();
    for (const connection of this.connections.values()) connection.close();
  }
}

async function negotiate(connection: BrokerConnection, security: ClientSecurity): Promise<void> {
  // ApiVersions v3 (KIP-511); a broker that only knows older versions answers in v0 with its range.
  connection.versions.set(18, { min: 0, max: 3 });
  const response = await connection.send<{ errorCode: number; apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }> }>(18, 3, {
    clientSoftwareName: 'spate-cli',
    clientSoftwareVersion: '0.1.0',
  });
  if (response.errorCode !== 0) throw new KafkaCommandError(response.errorCode, 'ApiVersions refused');
  connection.versions = new Map(response.apiKeys.map((key) => [key.apiKey, { min: key.minVersion, max: key.maxVersion }]));
  if (security.sasl !== undefined) await authenticate((apiKey, apiVersion, body) => connection.send(apiKey, apiVersion, body), security.sasl, connection.version(36, 2));
}
