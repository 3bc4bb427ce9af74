// Just enough of the Kafka wire protocol for the bench's own clients: a readiness probe
// (ApiVersions v0), Metadata v1, and Produce v7 carrying a v2 record batch. Used where a
// real client would get in the way: probing readiness every few milliseconds, holding a
// thousand connections open from one process, and building the byte stream for the
// loopback limit. Everything else the bench measures goes through real clients.

import net from 'node:net';

export const API = { produce: 0, metadata: 3, apiVersions: 18 };

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as record batch v2 requires.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(buffer, start = 0, end = buffer.length) {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function zigzagVarint(value, out) {
  let v = (value << 1) ^ (value >> 31);
  v >>>= 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** A v2 record batch of `count` records (no key, no headers) all carrying `value`. */
export function encodeRecordBatch(value, count, timestamp = Date.now()) {
  const records = [];
  for (let i = 0; i < count; i++) {
    const head = [];
    head.push(0); // record attributes
    zigzagVarint(0, head); // timestamp delta
    zigzagVarint(i, head); // offset delta
    zigzagVarint(-1, head); // null key
    zigzagVarint(value.length, head);
    const tail = [0]; // no headers
    const body = head.length + value.length + tail.length;
    const length = [];
    zigzagVarint(body, length);
    records.push(Buffer.from(length), Buffer.from(head), value, Buffer.from(tail));
  }
  const recordBytes = Buffer.concat(records);
  const batch = Buffer.alloc(61 + recordBytes.length);
  batch.writeBigInt64BE(0n, 0); // base offset
  batch.writeInt32BE(batch.length - 12, 8); // batch length
  batch.writeInt32BE(-1, 12); // partition leader epoch
  batch.writeInt8(2, 16); // magic
  batch.writeInt16BE(0, 21); // attributes: no compression, CreateTime
  batch.writeInt32BE(count - 1, 23); // last offset delta
  batch.writeBigInt64BE(BigInt(timestamp), 27);
  batch.writeBigInt64BE(BigInt(timestamp), 35);
  batch.writeBigInt64BE(-1n, 43); // producer id
  batch.writeInt16BE(-1, 51); // producer epoch
  batch.writeInt32BE(-1, 53); // base sequence
  batch.writeInt32BE(count, 57);
  recordBytes.copy(batch, 61);
  batch.writeUInt32BE(crc32c(batch, 21), 17);
  return batch;
}

function string16(s) {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + bytes.length);
  out.writeInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

function int16(n) {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n, 0);
  return b;
}

/** A whole request frame (size prefix, header v1, body). */
export function encodeRequest(apiKey, apiVersion, correlationId, body, clientId = 'spate-bench') {
  const header = Buffer.concat([int16(apiKey), int16(apiVersion), int32(correlationId), string16(clientId)]);
  return Buffer.concat([int32(header.length + body.length), header, body]);
}

export function metadataV1Body(topics) {
  return Buffer.concat([int32(topics.length), ...topics.map(string16)]);
}

/** Produce v7 body: `partitions` is [{ partition, batch }] for one topic. */
export function produceV7Body(topic, acks, timeoutMs, partitions) {
  const parts = [int16(-1), int16(acks), int32(timeoutMs), int32(1), string16(topic), int32(partitions.length)];
  for (const { partition, batch } of partitions) parts.push(int32(partition), int32(batch.length), batch);
  return Buffer.concat(parts);
}

/** Error code of the first partition in a Produce v7 response body (after the correlation id). */
export function produceV7FirstError(body) {
  let at = 4; // topic count
  const nameLength = body.readInt16BE(at);
  at += 2 + nameLength + 4 + 4; // name, partition count, partition index
  return body.readInt16BE(at);
}

/**
 * One connection that sends requests and matches responses by correlation id (the broker
 * answers in order on a connection, as Kafka does).
 */
export class WireConnection {
  #socket;
  #pending = new Map();
  #nextCorrelation = 1;
  #buffered = Buffer.alloc(0);
  #closed = false;

  static connect(host, port, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireConnection(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  constructor(socket) {
    this.#socket = socket;
    socket.on('data', (chunk) => this.#onData(chunk));
    const fail = (error) => {
      this.#closed = true;
      for (const { reject } of this.#pending.values()) reject(error ?? new Error('connection closed'));
      this.#pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the broker')));
  }

  get closed() {
    return this.#closed;
  }

  /** Sends one request; resolves with the response body after the correlation id. */
  request(apiKey, apiVersion, body, expectResponse = true) {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    const correlationId = this.#nextCorrelation++;
    const frame = encodeRequest(apiKey, apiVersion, correlationId, body);
    if (!expectResponse) {
      this.#socket.write(frame);
      return Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(correlationId, { resolve, reject });
      this.#socket.write(frame);
    });
  }

  #onData(chunk) {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    while (this.#buffered.length >= 4) {
      const size = this.#buffered.readInt32BE(0);
      if (this.#buffered.length < 4 + size) break;
      const frame = this.#buffered.subarray(4, 4 + size);
      this.#buffered = this.#buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const waiter = this.#pending.get(correlationId);
      if (waiter !== undefined) {
        this.#pending.delete(correlationId);
        waiter.resolve(frame.subarray(4));
      }
    }
  }

  close() {
    this.#closed = true;
    this.#socket.destroy();
  }
}

/** ApiVersions v0 until it answers with error 0, or until the deadline; resolves true/false. */
export async function probeApiVersions(host, port, timeoutMs = 1000) {
  let connection;
  try {
    connection = await WireConnection.connect(host, port, timeoutMs);
    const body = await Promise.race([
      connection.request(API.apiVersions, 0, Buffer.alloc(0)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs)),
    ]);
    return body.readInt16BE(0) === 0;
  } catch {
    return false;
  } finally {
    connection?.close();
  }
}
