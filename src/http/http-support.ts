// Small helpers over uWebSockets.js's response object: JSON answers in the REST Proxy's
// error form, request bodies collected from onData, and the abort bookkeeping uWS requires
// (a response must not be touched once the client has gone).

import { type HttpResponse } from 'uWebSockets.js';

/** An error answered as the Confluent REST Proxy does: `{"error_code": N, "message": "..."}`. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** REST Proxy error codes (io.confluent.kafkarest's KafkaExceptionMapper and Errors). */
export const RestErrorCode = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  /** A Kafka error that is the caller's fault (topic exists, invalid config, ...). */
  KAFKA_BAD_REQUEST: 40002,
  /** The caller may not: a Kafka *_AUTHORIZATION_FAILED (kafka-rest's KAFKA_AUTHORIZATION_ERROR_CODE). */
  KAFKA_AUTHORIZATION_ERROR: 40301,
  /** UNKNOWN_TOPIC_OR_PARTITION. */
  KAFKA_UNKNOWN_TOPIC_PARTITION: 40403,
  /** Any other Kafka error. */
  KAFKA_ERROR: 50002,
  INTERNAL: 500,
} as const;

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Status`;
}

/** Tracks whether the client went away; every deferred write checks it. */
export interface Exchange {
  readonly res: HttpResponse;
  aborted: boolean;
}

export function exchange(res: HttpResponse, onAbort?: () => void): Exchange {
  const state: Exchange = { res, aborted: false };
  res.onAborted(() => {
    state.aborted = true;
    onAbort?.();
  });
  return state;
}

/** JSON with bigints written as numbers (offsets fit in a double far beyond real logs). */
export function toJson(body: unknown): string {
  // Plain JSON.stringify is several times faster than with a replacer; only bodies holding
  // bigints (offsets read from the logs) need the replacer, and JSON.stringify refuses those.
  try {
    return JSON.stringify(body);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value));
  }
}

export function send(target: Exchange, status: number, body: string, contentType = 'application/json'): void {
  if (target.aborted) return;
  target.res.cork(() => {
    target.res.writeStatus(statusLine(status));
    if (body === '' && status === 204) {
      target.res.endWithoutBody();
      return;
    }
    target.res.writeHeader('content-type', contentType).end(body);
  });
}

export function sendJson(target: Exchange, status: number, body: unknown): void {
  send(target, status, toJson(body));
}

export function sendError(target: Exchange, error: unknown): void {
  if (error instanceof RestError) {
    sendJson(target, error.status, { error_code: error.errorCode, message: error.message });
    return;
  }
  sendJson(target, 500, { error_code: RestErrorCode.INTERNAL, message: (error as Error).message ?? String(error) });
}

/**
 * Collects the request body (uWS hands out chunks that are only valid during the callback,
 * so each is copied). Refuses bodies above `limit` bytes.
 */
export function readBody(target: Exchange, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    target.res.onData((chunk, isLast) => {
      if (refused) return;
      size += chunk.byteLength;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        reject(new RestError(413, 413, `Request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
      if (isLast) resolve(Buffer.concat(chunks, size));
    });
  });
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new RestError(400, RestErrorCode.BAD_REQUEST, `Malformed JSON: ${(error as Error).message}`);
  }
}
