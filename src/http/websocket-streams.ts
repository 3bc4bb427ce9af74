// WebSocket streams on /v3/ws: JSON text messages in both directions.
//   {"op":"subscribe","id":"s1","topic":"t","partition":0?,"from":"beginning"|"end"|{"offset":N}|{"timestamp":MS},"group":"g"?}
//   {"op":"produce","id":"p1","topic":"t", ...the REST record shape (key, value, headers, partition_id)}
//   {"op":"unsubscribe","id":"s1"}
// The server answers {"op":"subscribed"}, {"op":"records","id","topic","partition","records":[...]},
// {"op":"ack","id",...offset} and {"op":"error","id","error_code","message"}.
// Delivery is woken by the partition's append (PartitionLog.onAppend), as a Fetch long poll
// is, never by a timer. Backpressure: once the socket's buffered amount passes
// `maxBufferedBytes`, delivery stops reading the log until uWS reports the socket drained,
// so a slow reader costs at most that much broker memory per socket.
// In a group (`"group"`), the subscription starts from the group's committed offset (or
// `from`) and commits what it has sent, as a simple (generation -1) consumer does with
// OffsetCommit; there is no rebalancing between WebSocket members.

import { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import type * as BatchesModule from '../compression/batches.js';
import { type PartitionLog } from '../log/partition-log.js';
import { ErrorCode, KafkaError, errorName } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, topicResource } from '../security/security-manager.js';
import { type Caller } from './http-auth.js';
import { decodeRecordBatches, type DecodedRecord } from '../protocol/record-batch.js';
import { type GatewayContext } from './gateway-context.js';
import { RestError, toJson } from './http-support.js';
import { createRecordProducer } from './rest-v3.js';

export interface StreamOptions {
  /** Delivery pauses above this many bytes buffered on a socket. */
  readonly maxBufferedBytes: number;
  /** Bytes read from the log per delivery step. */
  readonly readBytes: number;
}

const DEFAULTS: StreamOptions = { maxBufferedBytes: 1024 * 1024, readBytes: 256 * 1024 };

interface PartitionCursor {
  readonly subscription: string;
  readonly topic: string;
  readonly log: PartitionLog;
  offset: bigint;
  readonly group: string | undefined;
  unlisten: (() => void) | undefined;
  pumping: boolean;
  closed: boolean;
}

interface SocketState {
  cursors: PartitionCursor[];
  open: boolean;
  /** Who opened the socket (HTTP Basic at the upgrade, or User:ANONYMOUS). */
  caller: Caller;
}

type Socket = WebSocket<SocketState>;

export interface Streams {
  /** Bytes waiting in the sockets' send buffers (the spate_websocket_buffered_bytes gauge). */
  bufferedBytes(): number;
  readonly sockets: () => number;
  stop(): void;
}

export function registerStreams(app: TemplatedApp, gateway: GatewayContext, overrides: Partial<StreamOptions> = {}): Streams {
  const options: StreamOptions = { ...DEFAULTS, ...overrides };
  const produce = createRecordProducer(gateway);
  const sockets = new Set<Socket>();
  const state = gateway.state;

  const sendJson = (ws: Socket, body: unknown) => {
    if (ws.getUserData().open) ws.send(toJson(body), false);
  };
  const fail = (ws: Socket, id: unknown, error: unknown) => {
    const [code, message] =
      error instanceof RestError
        ? [error.errorCode, error.message]
        : error instanceof KafkaError
          ? [error.kafkaCode, `${errorName(error.kafkaCode)}: ${error.message}`]
          : [500, (error as Error).message];
    sendJson(ws, { op: 'error', id: id ?? null, error_code: code, message });
  };

  const stop = (cursor: PartitionCursor) => {
    cursor.closed = true;
    cursor.unlisten?.();
    cursor.unlisten = undefined;
  };

  /** Sends what the log has from the cursor on, until caught up or the socket is full. */
  const pump = async (ws: Socket, cursor: PartitionCursor): Promise<void> => {
    if (cursor.pumping || cursor.closed) return;
    cursor.pumping = true;
    try {
      while (!cursor.closed && ws.getUserData().open) {
        if (ws.getBufferedAmount() > options.maxBufferedBytes) return; // resumed by drain
        const end = cursor.log.highWatermark;
        if (cursor.offset >= end) {
          // Caught up: wake on the next append (registered before re-checking, so none is missed).
          cursor.unlisten ??= cursor.log.onAppend(() => {
            cursor.unlisten?.();
            cursor.unlisten = undefined;
            void pump(ws, cursor);
          });
          if (cursor.log.highWatermark > cursor.offset) continue;
          return;
        }
        const chunk = await cursor.log.read(cursor.offset, options.readBytes, true);
        if (chunk === null) continue;
        let records: WireRecord[];
        try {
          // Keys and values are views of the mapped segment: turned into strings before release.
          records = decodeDataRecords(chunk.buffer, cursor.offset, end).map(toWire);
        } finally {
          chunk.release();
        }
        // Sent in messages of about readBytes; when the socket fills mid-batch, the cursor
        // stops at the first unsent record (the next read starts there again).
        let sentUpTo = chunk.lastOffset + 1n;
        let index = 0;
        while (index < records.length && !cursor.closed) {
          if (ws.getBufferedAmount() > options.maxBufferedBytes) {
            sentUpTo = records[index]!.offset;
            break;
          }
          const part: WireRecord[] = [];
          let bytes = 0;
          while (index < records.length && (part.length === 0 || bytes < options.readBytes)) {
            const record = records[index++]!;
            bytes += record.size;
            part.push(record);
          }
          sendJson(ws, {
            op: 'records',
            id: cursor.subscription,
            topic: cursor.topic,
            partition: cursor.log.partition,
            // Numbers, not bigints: the message serializes without a replacer.
            records: part.map(({ offset, timestamp, key, value, headers }) => ({ offset: Number(offset), timestamp: Number(timestamp), key, value, headers })),
          });
        }
        cursor.offset = sentUpTo;
        if (records.length === 0 || cursor.closed) continue;
        if (cursor.group !== undefined) {
          state.groups.commitOffsets(cursor.group, [{ topic: cursor.topic, partition: cursor.log.partition, offset: cursor.offset, leaderEpoch: -1, metadata: 'spate-websocket' }]);
        }
      }
    } catch (error) {
      fail(ws, cursor.subscription, error);
      stop(cursor);
    } finally {
      cursor.pumping = false;
    }
  };

  const subscribe = async (ws: Socket, message: Record<string, unknown>) => {
    const id = typeof message['id'] === 'string' ? message['id'] : String(message['id'] ?? '');
    const topicName = message['topic'];
    if (typeof topicName !== 'string') throw new RestError(400, 400, 'subscribe needs a topic');
    const caller = ws.getUserData().caller;
    // A consumer's rights: READ on the topic, and on the group whose offsets it uses.
    if (!gateway.authorize(caller, AclOperation.READ, topicResource(topicName))) {
      throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Not authorized to access topics: [${topicName}]`);
    }
    const topic = state.logs.topic(topicName);
    if (topic === undefined) throw new RestError(404, 40403, `Topic ${topicName} does not exist`);
    const wanted = message['partition'];
    const logs = typeof wanted === 'number' ? [topic.partitions[wanted]] : topic.partitions;
    if (logs.some((log) => log === undefined)) throw new RestError(404, 40403, `Partition ${String(wanted)} of ${topicName} does not exist`);
    const group = typeof message['group'] === 'string' ? message['group'] : undefined;
    if (group !== undefined && !gateway.authorize(caller, AclOperation.READ, groupResource(group))) {
      throw new KafkaError(ErrorCode.GROUP_AUTHORIZATION_FAILED, `Not authorized to access group: ${group}`);
    }
    const from = message['from'];
    const cursors: PartitionCursor[] = [];
    for (const log of logs as PartitionLog[]) {
      let offset: bigint;
      const committed = group === undefined ? undefined : state.groups.committedOffset(group, topicName, log.partition)?.offset;
      if (committed !== undefined && committed >= 0n && from === undefined) offset = committed;
      else if (from === 'end') offset = log.highWatermark;
      else if (from === undefined || from === 'beginning') offset = log.logStartOffset;
      else if (typeof from === 'object' && from !== null && 'offset' in from) {
        offset = BigInt((from as { offset: number | string }).offset);
        if (offset < log.logStartOffset) offset = log.logStartOffset;
        if (offset > log.highWatermark) offset = log.highWatermark;
      } else if (typeof from === 'object' && from !== null && 'timestamp' in from) {
        const found = await log.offsetForTimestamp(BigInt((from as { timestamp: number | string }).timestamp));
        offset = found === null ? log.highWatermark : found.offset;
      } else throw new RestError(400, 400, `from must be "beginning", "end", {"offset": N} or {"timestamp": MS}`);
      cursors.push({ subscription: id, topic: topicName, log, offset, group, unlisten: undefined, pumping: false, closed: false });
    }
    const socket = ws.getUserData();
    if (!socket.open) return;
    socket.cursors.push(...cursors);
    sendJson(ws, { op: 'subscribed', id, topic: topicName, partitions: cursors.map((cursor) => ({ partition: cursor.log.partition, offset: cursor.offset })) });
    for (const cursor of cursors) void pump(ws, cursor);
  };

  const handle = async (ws: Socket, text: string) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
      if (typeof message !== 'object' || message === null) throw new Error('not an object');
    } catch (error) {
      fail(ws, null, new RestError(400, 400, `Malformed JSON message: ${(error as Error).message}`));
      return;
    }
    const id = message['id'];
    try {
      switch (message['op']) {
        case 'subscribe':
          await subscribe(ws, message);
          break;
        case 'unsubscribe': {
          const socket = ws.getUserData();
          for (const cursor of socket.cursors.filter((candidate) => candidate.subscription === id)) stop(cursor);
          socket.cursors = socket.cursors.filter((candidate) => candidate.subscription !== id);
          sendJson(ws, { op: 'unsubscribed', id });
          break;
        }
        case 'produce': {
          const topicName = message['topic'];
          const topic = typeof topicName === 'string' ? state.logs.topic(topicName) : undefined;
          if (topic === undefined) throw new RestError(404, 40403, `Topic ${String(topicName)} does not exist`);
          const result = await produce(topic, message, ws.getUserData().caller);
          sendJson(ws, { op: 'ack', id, partition: result['partition_id'], offset: result['offset'], timestamp: result['timestamp'] });
          break;
        }
        default:
          throw new RestError(400, 400, `Unknown op ${String(message['op'])} (subscribe, unsubscribe, produce)`);
      }
    } catch (error) {
      fail(ws, id, error);
    }
  };

  let codecsReady: Promise<void> | undefined;
  app.ws<SocketState>('/v3/ws', {
    maxPayloadLength: 16 * 1024 * 1024,
    // Above this uWS would drop sends; delivery pauses long before (maxBufferedBytes).
    maxBackpressure: options.maxBufferedBytes * 4 + options.readBytes * 8,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const caller = gateway.caller(res, req);
      if (caller === undefined) return; // 401 answered
      res.upgrade<SocketState>(
        { cursors: [], open: true, caller },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      sockets.add(ws);
      codecsReady ??= loadRecordCodecs();
    },
    message: (ws, message) => {
      const text = Buffer.from(message).toString('utf8');
      void (codecsReady ?? Promise.resolve()).then(() => handle(ws, text));
    },
    drain: (ws) => {
      for (const cursor of ws.getUserData().cursors) void pump(ws, cursor);
    },
    close: (ws) => {
      sockets.delete(ws);
      const socket = ws.getUserData();
      socket.open = false;
      for (const cursor of socket.cursors) stop(cursor);
    },
  });

  return {
    bufferedBytes: () => {
      let total = 0;
      for (const ws of sockets) total += ws.getBufferedAmount();
      return total;
    },
    sockets: () => sockets.size,
    stop: () => {
      for (const ws of sockets) {
        const socket = ws.getUserData();
        socket.open = false;
        for (const cursor of socket.cursors) stop(cursor);
      }
    },
  };
}

interface WireRecord {
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Array<{ name: string; value: string | null }>;
  /** Rough JSON size, for sizing messages. */
  readonly size: number;
}

/** A record as sent: key and value as UTF-8 text, header values in base64. */
function toWire(record: DecodedRecord): WireRecord {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : record.key.toString('utf8'),
    value: record.value === null ? null : record.value.toString('utf8'),
    headers: record.headers.map((header) => ({ name: header.key, value: header.value?.toString('base64') ?? null })),
    size: (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64,
  };
}

let batches: typeof BatchesModule | undefined;

/**
 * Loads the record-level batch code and the codec libraries, on first use only: a broker
 * that serves no WebSocket stream never loads them (they cost start time and memory).
 */
export async function loadRecordCodecs(): Promise<void> {
  batches ??= await import('../compression/batches.js');
  await (await import('../compression/codecs.js')).initCodecs();
}

/**
 * The data records of `buffer` in [from, end), compressed batches included; control batches
 * skipped. loadRecordCodecs() must have completed.
 */
export function decodeDataRecords(buffer: Buffer, from: bigint, end: bigint): DecodedRecord[] {
  if (batches === undefined) throw new Error('loadRecordCodecs() has not completed');
  const { Attribute, batchesOf, recordsSection } = batches;
  const records: DecodedRecord[] = [];
  for (const batch of batchesOf(buffer)) {
    if (batch.isControl) continue;
    let bytes = batch.bytes;
    if (batch.codec !== 0) {
      const section = recordsSection(batch);
      const header = Buffer.from(batch.bytes.subarray(0, 61));
      header.writeInt32BE(61 - 12 + section.length, 8);
      header.writeInt16BE(batch.attributes & ~Attribute.COMPRESSION_MASK, 21);
      bytes = Buffer.concat([header, section]);
    }
    for (const decoded of decodeRecordBatches(bytes, { verifyCrc: false })) {
      for (const record of decoded.records) if (record.offset >= from && record.offset < end) records.push(record);
    }
  }
  return records;
}
