// Turns one request frame into one response: header, version check, decode, handler,
// encode. The handler table is data: ApiVersions is answered from it, so what is
// advertised is exactly what is implemented.

import { type ApiHandler, type ConnectionInfo, NO_RESPONSE, type RequestContext } from '../broker/api-handler.js';
import { type BrokerState } from '../broker/broker-state.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { readRequestHeader, responseHeaderVersion, writeResponseHeader } from '../protocol/frame.js';
import { apiSchemas, ApiKey, type ApiSchema } from '../protocol/generated/index.js';
import { Reader, Writer, type RecordsChunk } from '../protocol/primitives.js';
import { supportedOperations } from '../security/acls.js';
import { quotaExempt, quotaUser, requestThrottleMs } from '../security/request-quotas.js';
import { answerRawSaslToken, RawSaslFailure, refusedBeforeAuthentication } from '../security/sasl-gate.js';

export type ResponseChunks = Array<Buffer | RecordsChunk>;

/** A request the broker will not answer; the connection is closed, the reason logged. */
export class CloseConnection extends Error {}

/** Told about every handled request (counts, errors, bytes per topic); the metrics hook. */
export type RequestObserver = (apiKey: number, apiVersion: number, request: unknown, response: unknown, failed: boolean) => void;

/**
 * The stamps the metrics need of one request (Kafka's RequestMetrics times), kept by whoever
 * sent it (a connection's pending request): the dispatcher fills in the API, when the handler
 * started, and how long it was parked waiting on others.
 */
export interface RequestTiming {
  apiKey: number;
  apiVersion: number;
  /** performance.now() when the handler started; 0 until known (the dispatcher then reads the clock). */
  startedAt: number;
  /** The handler's RequestContext.remoteMs once it answered. */
  remoteMs: number;
}

/** Runs a handler and reports it to the observer (the metrics), failures included; stamps `timing` when given. */
export async function observedHandle(
  handler: ApiHandler,
  request: unknown,
  context: RequestContext,
  observer: RequestObserver | undefined,
  timing?: RequestTiming,
): Promise<unknown> {
  if (timing !== undefined) {
    timing.apiKey = context.apiKey;
    timing.apiVersion = context.apiVersion;
    // 0: the sender has no better stamp (a connection gives its read's time to the first frame of it).
    if (timing.startedAt === 0) timing.startedAt = performance.now();
  }
  let response;
  try {
    response = await handler.handle(request, context);
  } catch (error) {
    observer?.(context.apiKey, context.apiVersion, request, undefined, true);
    throw error;
  }
  if (timing !== undefined) timing.remoteMs = context.remoteMs ?? 0;
  observer?.(context.apiKey, context.apiVersion, request, response, false);
  return response;
}

export class Dispatcher {
  private readonly table = new Map<number, ApiHandler>();
  /** Set by the server when metrics are on; one call per request. */
  observer: RequestObserver | undefined;

  constructor(
    handlers: readonly ApiHandler[],
    private readonly broker: BrokerState,
  ) {
    for (const handler of handlers) {
      const schema = apiSchemas.get(handler.apiKey);
      if (schema === undefined) throw new Error(`No protocol schema for API key ${handler.apiKey}`);
      if (handler.minVersion < schema.minVersion) {
        throw new Error(`Handler for ${schema.name} starts below the protocol's v${schema.minVersion}`);
      }
      if (handler.maxVersion > schema.maxVersion) {
        throw new Error(`Handler for ${schema.name} goes beyond the protocol's v${schema.maxVersion}`);
      }
      this.table.set(handler.apiKey, handler);
    }
    broker.supportedApis = this.supportedApis();
  }

  /** The ranges ApiVersions advertises, in API key order. */
  supportedApis(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return [...this.table.values()]
      .map(({ apiKey, minVersion, maxVersion, advertisedMinVersion }) => ({
        apiKey,
        minVersion: advertisedMinVersion ?? minVersion,
        maxVersion,
      }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  handler(apiKey: number): ApiHandler | undefined {
    return this.table.get(apiKey);
  }

  /**
   * Handles one frame. Resolves to the response bytes (size prefix included), or null when
   * no response is due; throws CloseConnection for requests that cannot be answered. `timing`
   * (the metrics' request stamps) is filled in when given.
   */
  async dispatch(frame: Buffer, connection: ConnectionInfo, timing?: RequestTiming): Promise<ResponseChunks | null> {
    const session = connection.security;
    if (session.state === 'raw-tokens') {
      try {
        return [answerRawSaslToken(session, frame, this.broker.now(), this.broker.security.reauthMs)];
      } catch (error) {
        if (error instanceof RawSaslFailure) throw new CloseConnection(`SASL authentication failed (${session.mechanism}): ${error.message}`);
        throw error;
      }
    }
    const reader = new Reader(frame);
    let header;
    try {
      header = readRequestHeader(reader);
    } catch (error) {
      throw new CloseConnection(`Malformed request header: ${(error as Error).message}`);
    }
    const { apiKey, apiVersion, correlationId, clientId } = header;
    const handler = this.table.get(apiKey);
    const schema = apiSchemas.get(apiKey);
    if (handler === undefined || schema === undefined) {
      throw new CloseConnection(`Unsupported API key ${apiKey} (v${apiVersion}) from client ${clientId ?? '-'}`);
    }
    const refused = refusedBeforeAuthentication(session, apiKey, schema.name, this.broker.now());
    if (refused !== undefined) throw new CloseConnection(refused);
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) return this.unsupportedApiVersions(correlationId);
      throw new CloseConnection(`Unsupported ${schema.name} version ${apiVersion} (served: ${handler.minVersion}-${handler.maxVersion}) from client ${clientId ?? '-'}`);
    }
    // request_percentage needs the time spent on the request: measured only while quotas are set.
    const quotas = this.broker.security.quotaEnforcer;
    const started = quotas.active ? performance.now() : 0;
    let request: unknown;
    try {
      request = schema.readRequest(reader, apiVersion);
    } catch (error) {
      throw new CloseConnection(`Malformed ${schema.name} v${apiVersion} request: ${(error as Error).message}`);
    }
    // Kafka reads the body and ignores what follows it. librdkafka >= 2.1 relies on that: its
    // Metadata v9+ request for all topics carries 3 bytes after the body.
    if (reader.remaining() !== 0) {
      this.broker.logger.debug(
        `Ignoring ${reader.remaining()} bytes after the ${schema.name} v${apiVersion} request body from client ${clientId ?? '-'} (connection ${connection.id})`,
      );
    }
    const principal = session.principal;
    const security = this.broker.security;
    const host = connection.remoteHost;
    const context: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId,
      broker: this.broker,
      connection,
      principal,
      remoteMs: 0,
      authorize: (operation, resource) => security.authorize(principal, host, operation, resource),
      authorizeAny: (operation, resourceType) => security.authorizeAny(principal, host, operation, resourceType),
      authorizedOperations: (resource) => security.authorizedOperations(principal, host, resource, supportedOperations(resource.type)),
    };
    const metered = quotas.active && !quotaExempt(apiKey, request);
    const pending = observedHandle(handler, request, context, this.observer, timing);
    // Decoding and the handler up to its first wait (a long poll's wait is not the client's time).
    const handledMs = metered ? performance.now() - started : 0;
    let response = await pending;
    // Client quotas (src/security/request-quotas.ts): the largest throttle of produce bytes,
    // request time and the handler's own (controller mutations) goes in the answer and mutes the connection.
    const handlerThrottleMs = response === NO_RESPONSE ? 0 : ((response as { throttleTimeMs?: number }).throttleTimeMs ?? 0);
    const user = metered ? quotaUser(principal) : '';
    if (metered || handlerThrottleMs > 0) {
      const throttleMs = metered ? requestThrottleMs(quotas, apiKey, user, clientId ?? '', frame.length, handledMs, handlerThrottleMs, this.broker.now()) : handlerThrottleMs;
      if (throttleMs > 0) {
        if (response !== NO_RESPONSE && throttleMs !== handlerThrottleMs) response = { ...(response as object), throttleTimeMs: throttleMs };
        connection.throttle(throttleMs);
      }
    }
    if (response === NO_RESPONSE) return null;
    const encodeStarted = metered ? performance.now() : 0;
    const encoded = encodeSchemaResponse(schema, apiVersion, correlationId, response);
    if (!metered) return encoded;
    if (apiKey === ApiKey.Fetch) {
      const bytes = encoded.reduce((sum, chunk) => sum + chunk.byteLength, 0);
      const throttleMs = quotas.record('consumer_byte_rate', user, clientId ?? '', bytes, this.broker.now());
      // throttle_time_ms is the body's first field, after the size, the correlation id and
      // (flexible versions) the header's empty tagged fields.
      const at = 8 + (responseHeaderVersion(apiKey, apiVersion) === 1 ? 1 : 0);
      const head = encoded[0];
      if (throttleMs > 0 && Buffer.isBuffer(head) && head.length >= at + 4 && throttleMs > head.readInt32BE(at)) {
        head.writeInt32BE(throttleMs, at);
        connection.throttle(throttleMs);
      }
    }
    // Encoding counts as request time but throttles only later requests (Kafka's network-thread time).
    quotas.record('request_percentage', user, clientId ?? '', (performance.now() - encodeStarted) / 10, this.broker.now(), false);
    return encoded;
  }

  /** KIP-511: an unknown ApiVersions version is answered in v0 with error 35 and our range. */
  private unsupportedApiVersions(correlationId: number): ResponseChunks {
    const own = this.table.get(ApiKey.ApiVersions)!;
    const schema = apiSchemas.get(ApiKey.ApiVersions)!;
    const body = {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: own.minVersion, maxVersion: own.maxVersion }],
    };
    return encodeResponse(ApiKey.ApiVersions, 0, correlationId, body, (w, m) => schema.writeResponse(w, 0, m));
  }
}

// The inline size of the last response of each API: the next one starts in a buffer of
// that size, so a response grows by copying at most once instead of doubling its way up
// from 256 bytes (a Fetch response copying 8 x 16 KiB of records inline allocated 247 KB
// for 131 KB that way, bench/micro/hot-path.mjs). Capped: one huge response must not make
// every later one reserve as much.
const MAX_SIZE_HINT = 1024 * 1024;
const sizeHints: number[] = new Array<number>(128).fill(256);

function responseWriter(apiKey: number): Writer {
  return new Writer(sizeHints[apiKey] ?? 256);
}

function finishResponse(apiKey: number, writer: Writer): ResponseChunks {
  writer.patchInt32(0, writer.byteLength - 4);
  // Some slack: string writes reserve 3 bytes a character before they know the UTF-8 length.
  const inline = writer.inlineByteLength;
  sizeHints[apiKey] = Math.min(MAX_SIZE_HINT, inline + (inline >>> 3) + 256);
  return writer.finish();
}

/** The response frame (size prefix included) of `schema`'s API, with no closure per call. */
function encodeSchemaResponse(schema: ApiSchema, apiVersion: number, correlationId: number, body: unknown): ResponseChunks {
  const writer = responseWriter(schema.apiKey);
  writer.int32(0); // size, patched below
  writeResponseHeader(writer, responseHeaderVersion(schema.apiKey, apiVersion), correlationId);
  schema.writeResponse(writer, apiVersion, body);
  return finishResponse(schema.apiKey, writer);
}

export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: unknown, writeBody: (writer: Writer, body: any) => void): ResponseChunks {
  const writer = responseWriter(apiKey);
  writer.int32(0); // size, patched below
  writeResponseHeader(writer, responseHeaderVersion(apiKey, apiVersion), correlationId);
  writeBody(writer, body);
  return finishResponse(apiKey, writer);
}

export { KafkaError };
