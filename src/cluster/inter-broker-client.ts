// Requests from this broker to another one over the real protocol (Kafka's
// NodeToNodeChannelManager / InterBrokerSendThread): the transaction coordinator's
// WriteTxnMarkers to partition leaders, and a partition leader's AddPartitionsToTxn to the
// transaction coordinator (KIP-890 verification). One connection per broker endpoint,
// requests pipelined on it, each with a timeout; a failed connection fails its requests and
// the next request connects again. The endpoint is the broker's first listener, as the
// replica fetchers use.

import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../protocol/frame.js';
import { type BrokerEndpoint } from './metadata.js';

const CLIENT_ID = 'spate-inter-broker';

interface InFlight {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One connection to one broker endpoint, with any number of requests in flight. */
class BrokerConnection {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly inFlight = new Map<number, InFlight>();
  private correlationId = 0;

  constructor(readonly endpoint: BrokerEndpoint) {}

  async request<T>(apiKey: number, apiVersion: number, body: unknown, timeoutMs: number): Promise<T> {
    const socket = this.socket ?? (await (this.connecting ??= this.connect()));
    const correlationId = (this.correlationId = (this.correlationId + 1) & 0x7fffffff);
    const frame = encodeRequest(apiKey, apiVersion, correlationId, CLIENT_ID, body);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inFlight.delete(correlationId);
        reject(new Error(`No answer from ${this.endpoint.host}:${this.endpoint.port} to API ${apiKey} in ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.inFlight.set(correlationId, { apiKey, apiVersion, resolve: resolve as (body: unknown) => void, reject, timer });
      socket.write(frame);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.fail(new Error(`Connection to ${this.endpoint.host}:${this.endpoint.port} closed`));
  }

  private fail(error: Error): void {
    this.socket = undefined;
    this.connecting = undefined;
    this.buffered = Buffer.alloc(0);
    for (const request of this.inFlight.values()) {
      clearTimeout(request.timer);
      request.reject(error);
    }
    this.inFlight.clear();
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true });
      let connected = false;
      socket.once('connect', () => {
        connected = true;
        this.socket = socket;
        this.connecting = undefined;
        resolve(socket);
      });
      socket.on('error', (error) => {
        if (!connected) {
          this.connecting = undefined;
          reject(error);
        }
      });
      socket.on('close', () => {
        if (this.socket === socket) this.fail(new Error(`Connection to ${this.endpoint.host}:${this.endpoint.port} closed`));
      });
      socket.on('data', (chunk: Buffer) => {
        if (this.socket !== socket) return;
        this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
        while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
          const size = this.buffered.readInt32BE(0);
          const frame = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          const correlationId = frame.readInt32BE(0);
          const request = this.inFlight.get(correlationId);
          if (request === undefined) continue; // timed out meanwhile
          this.inFlight.delete(correlationId);
          clearTimeout(request.timer);
          try {
            request.resolve(decodeResponse(request.apiKey, request.apiVersion, frame).body);
          } catch (error) {
            request.reject(error as Error);
          }
        }
      });
    });
  }
}

export class InterBrokerClient {
  private readonly connections = new Map<number, BrokerConnection>();
  private closed = false;

  /** Sends one request to `nodeId` at `endpoint`; rejects on a connection failure or after `timeoutMs`. */
  request<T>(nodeId: number, endpoint: BrokerEndpoint, apiKey: number, apiVersion: number, body: unknown, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The broker is stopping'));
    let connection = this.connections.get(nodeId);
    // A restarted broker may listen on another port.
    if (connection !== undefined && (connection.endpoint.host !== endpoint.host || connection.endpoint.port !== endpoint.port)) {
      connection.close();
      connection = undefined;
    }
    if (connection === undefined) this.connections.set(nodeId, (connection = new BrokerConnection(endpoint)));
    return connection.request<T>(apiKey, apiVersion, body, timeoutMs);
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }
}
