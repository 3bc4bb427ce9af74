// Turns one request frame into one response: header, version check, decode, handler,
// encode. The handler table is data: ApiVersions is answered from it, so what is
// advertised is exactly what is implemented.

import { type ApiHandler, type ConnectionInfo, NO_RESPONSE, type RequestContext } from '../broker/api-handler.js';
import { type BrokerState } from '../broker/broker-state.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { readRequestHeader, responseHeaderVersion, writeResponseHeader } from '../protocol/frame.js';
import { apiSchemas, ApiKey } from '../protocol/generated/index.js';
import { Reader, Writer, type RecordsChunk } from '../protocol/primitives.js';
import { supportedOperations } from '../security/acls.js';
import { answerRawSaslToken, RawSaslFailure, refusedBeforeAuthentication } from '../security/sasl-gate.js';

export type ResponseChunks = Array<Buffer | RecordsChunk>;

/** A request the broker will not answer; the connection is closed, the reason logged. */
export class CloseConnection extends Error {}

export class Dispatcher {
  private readonly table = new Map<number, ApiHandler>();

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
   * no response is due; throws CloseConnection for requests that cannot be answered.
   */
  async dispatch(frame: Buffer, connection: ConnectionInfo): Promise<ResponseChunks | null> {
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
      throw new CloseConnection(
        `Unsupported ${schema.name} version ${apiVersion} (served: ${handler.minVersion}-${handler.maxVersion}) from client ${clientId ?? '-'}`,
      );
    }
    let request: unknown;
    try {
      request = schema.readRequest(reader, apiVersion);
      if (reader.remaining() !== 0) throw new Error(`${reader.remaining()} unread bytes after the request body`);
    } catch (error) {
      throw new CloseConnection(`Malformed ${schema.name} v${apiVersion} request: ${(error as Error).message}`);
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
      authorize: (operation, resource) => security.authorize(principal, host, operation, resource),
      authorizeAny: (operation, resourceType) => security.authorizeAny(principal, host, operation, resourceType),
      authorizedOperations: (resource) => security.authorizedOperations(principal, host, resource, supportedOperations(resource.type)),
    };
    const response = await handler.handle(request, context);
    if (response === NO_RESPONSE) return null;
    // Byte-rate quotas (src/security/quota-enforcer.ts): produce counts the request, fetch the answer.
    const user = principal.slice(principal.indexOf(':') + 1);
    if (apiKey === ApiKey.Produce) {
      const throttleMs = security.quotaEnforcer.record('producer_byte_rate', user, clientId ?? '', frame.length, this.broker.now());
      if (throttleMs > 0) {
        (response as { throttleTimeMs: number }).throttleTimeMs = throttleMs;
        connection.throttle(throttleMs);
      }
    }
    const encoded = encodeResponse(apiKey, apiVersion, correlationId, response, (w, m) => schema.writeResponse(w, apiVersion, m));
    if (apiKey === ApiKey.Fetch) {
      const bytes = encoded.reduce((sum, chunk) => sum + chunk.byteLength, 0);
      const throttleMs = security.quotaEnforcer.record('consumer_byte_rate', user, clientId ?? '', bytes, this.broker.now());
      // throttle_time_ms is the body's first field, after the size, the correlation id and
      // (flexible versions) the header's empty tagged fields.
      const at = 8 + (responseHeaderVersion(apiKey, apiVersion) === 1 ? 1 : 0);
      const head = encoded[0];
      if (throttleMs > 0 && Buffer.isBuffer(head) && head.length >= at + 4) {
        head.writeInt32BE(throttleMs, at);
        connection.throttle(throttleMs);
      }
    }
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

export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
  writeBody: (writer: Writer, body: any) => void,
): ResponseChunks {
  const writer = new Writer();
  writer.int32(0); // size, patched below
  writeResponseHeader(writer, responseHeaderVersion(apiKey, apiVersion), correlationId);
  writeBody(writer, body);
  writer.patchInt32(0, writer.byteLength - 4);
  return writer.finish();
}

export { KafkaError };
