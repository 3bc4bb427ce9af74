// Request and response framing: the int32 size prefix, which header version goes with which API
// version, and whole-frame helpers for tests and clients.
//
// Header rules (KIP-482): a request in a flexible version uses request header v2 (tagged fields
// after clientId, which keeps its int16 length), otherwise v1. A response in a flexible version
// uses response header v1, otherwise v0, except ApiVersions, whose response header is always v0 so
// that a client can read it before it knows which versions the broker speaks.

import { ApiKey, apiSchemas } from './generated/index.js';
import { readRequestHeader as readRequestHeaderVersioned, writeRequestHeader as writeRequestHeaderVersioned } from './generated/request-header.js';
import { ProtocolDecodeError, Reader, Writer, type RecordsChunk } from './primitives.js';

/** True when `apiVersion` of `apiKey` uses the flexible (compact, tagged) encoding. False for unknown APIs. */
export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const schema = apiSchemas.get(apiKey);
  return schema !== undefined && apiVersion >= schema.firstFlexibleVersion;
}

function isKnownVersion(apiKey: number, apiVersion: number): boolean {
  const schema = apiSchemas.get(apiKey);
  return schema !== undefined && apiVersion >= schema.minVersion && apiVersion <= schema.maxVersion;
}

/**
 * The request header version a client uses for this request: 2 when flexible, else 1. For an
 * unknown API or version it is 1, so that the broker can still read the correlation id and answer.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return isKnownVersion(apiKey, apiVersion) && isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

/** The response header version: 1 when flexible, else 0; always 0 for ApiVersions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

export interface DecodedRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** 1 or 2, as chosen by requestHeaderVersion. */
  headerVersion: number;
}

/** Reads the request header at the reader's position; the reader is left at the start of the body. */
export function readRequestHeader(r: Reader): DecodedRequestHeader {
  if (r.remaining() < 4) throw new ProtocolDecodeError(`request of ${r.remaining()} bytes is too short for a header`);
  const at = r.offset;
  const apiKey = r.int16();
  const apiVersion = r.int16();
  r.offset = at;
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const header = readRequestHeaderVersioned(r, headerVersion);
  return { apiKey, apiVersion, correlationId: header.correlationId, clientId: header.clientId, headerVersion };
}

export function writeRequestHeader(w: Writer, headerVersion: number, header: { apiKey: number; apiVersion: number; correlationId: number; clientId: string | null }): void {
  writeRequestHeaderVersioned(w, headerVersion, {
    requestApiKey: header.apiKey,
    requestApiVersion: header.apiVersion,
    correlationId: header.correlationId,
    clientId: header.clientId,
  });
}

export function writeResponseHeader(w: Writer, headerVersion: number, correlationId: number): void {
  w.int32(correlationId);
  if (headerVersion >= 1) w.emptyTaggedFields();
}

/** Reads a response header and returns its correlation id. */
export function readResponseHeader(r: Reader, headerVersion: number): number {
  const correlationId = r.int32();
  if (headerVersion >= 1) r.skipTaggedFields();
  return correlationId;
}

function schemaFor(apiKey: number, apiVersion: number) {
  const schema = apiSchemas.get(apiKey);
  if (schema === undefined) throw new ProtocolDecodeError(`unknown api key ${apiKey}`);
  if (apiVersion < schema.minVersion || apiVersion > schema.maxVersion) {
    throw new ProtocolDecodeError(`${schema.name} has no version ${apiVersion}`);
  }
  return schema;
}

/**
 * A whole response frame, size prefix included, as chunks to write in order (records blobs of
 * 64 KiB or more, and RecordsChunks, are passed through, not copied).
 */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Array<Buffer | RecordsChunk> {
  const schema = schemaFor(apiKey, apiVersion);
  const w = new Writer();
  w.int32(0);
  writeResponseHeader(w, responseHeaderVersion(apiKey, apiVersion), correlationId);
  schema.writeResponse(w, apiVersion, body);
  w.patchInt32(0, w.byteLength - 4);
  return w.finish();
}

/** A whole request frame, size prefix included (for clients and tests). */
export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, body: unknown): Buffer {
  const schema = schemaFor(apiKey, apiVersion);
  const w = new Writer();
  w.int32(0);
  writeRequestHeader(w, requestHeaderVersion(apiKey, apiVersion), { apiKey, apiVersion, correlationId, clientId });
  schema.writeRequest(w, apiVersion, body);
  w.patchInt32(0, w.byteLength - 4);
  return w.toBuffer();
}

/** Decodes one request frame (without its size prefix); every byte must be used. */
export function decodeRequest(frame: Buffer): { header: DecodedRequestHeader; body: unknown } {
  const r = new Reader(frame);
  const header = readRequestHeader(r);
  const body = schemaFor(header.apiKey, header.apiVersion).readRequest(r, header.apiVersion);
  if (r.remaining() !== 0) throw new ProtocolDecodeError(`${r.remaining()} bytes left after the request body`);
  return { header, body };
}

/** Decodes one response frame (without its size prefix) to a request of `apiKey` at `apiVersion`. */
export function decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: unknown } {
  const r = new Reader(frame);
  const correlationId = readResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
  const body = schemaFor(apiKey, apiVersion).readResponse(r, apiVersion);
  if (r.remaining() !== 0) throw new ProtocolDecodeError(`${r.remaining()} bytes left after the response body`);
  return { correlationId, body };
}
