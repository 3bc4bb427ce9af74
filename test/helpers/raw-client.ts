// A bare Kafka protocol client over one socket, for tests that need exact control of the
// bytes (malformed frames, pipelining, versions no real client sends).

import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest as encodeFrame } from '../../src/protocol/frame.js';

export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, body: unknown, clientId = 'raw-test'): Buffer {
  return encodeFrame(apiKey, apiVersion, correlationId, clientId, body);
}

export class RawClient {
  private buffered = Buffer.alloc(0);
  private waiters: Array<(frame: Buffer) => void> = [];
  private frames: Buffer[] = [];
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const waiter = this.waiters.shift();
        if (waiter !== undefined) waiter(frame);
        else this.frames.push(frame);
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => ((this.closedFlag = true), resolve())));
    socket.on('error', () => undefined);
  }

  static connect(bootstrap: string): Promise<RawClient> {
    const [host, port] = [bootstrap.slice(0, bootstrap.lastIndexOf(':')), Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))];
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  nextFrame(timeoutMs = 5000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response frame')), timeoutMs);
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  /** Sends one request and decodes its response. */
  async request<T = any>(apiKey: number, apiVersion: number, body: unknown, correlationId = 1, clientId?: string): Promise<{ correlationId: number; body: T }> {
    this.write(encodeRequest(apiKey, apiVersion, correlationId, body, clientId));
    return decodeResponse(apiKey, apiVersion, await this.nextFrame()) as { correlationId: number; body: T };
  }

  close(): void {
    this.socket.destroy();
  }
}
