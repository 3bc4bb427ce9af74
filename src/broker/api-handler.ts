// The contract between the server layer and the per-API handler files. Each handler file
// exports one ApiHandler; its version range is what ApiVersions advertises.

import { type ConnectionSecurity } from '../security/connection-security.js';
import { type Resource } from '../security/security-manager.js';
import { type BrokerState } from './broker-state.js';

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  /** Resolves when the connection closes, so long-running work can stop early. */
  readonly closed: Promise<void>;
  readonly isOpen: boolean;
  /** The client's IP address (what ACL hosts are matched against). */
  readonly remoteHost: string;
  /** Listener, security protocol, principal and SASL state of the connection. */
  readonly security: ConnectionSecurity;
  /** Stops reading requests for this long (a quota was exceeded; KIP-219). */
  throttle(ms: number): void;
  /** Resolves when the broker starts shutting down: long polls answer at once with what they have. */
  readonly draining?: Promise<void>;
  /**
   * Calls `listener` once, when the connection closes or starts draining (at once if it
   * already has); returns the function that forgets it. Long polls use it instead of
   * `closed.then()`, which keeps a reaction alive per call for as long as the connection
   * lives (a consumer's connection grew by 216 bytes a fetch that way).
   */
  onStop?(listener: () => void): () => void;
  /** True once the connection closed or started draining. */
  readonly stopping?: boolean;
}

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly broker: BrokerState;
  readonly connection: ConnectionInfo;
  /** Who is asking: "User:<name>", or User:ANONYMOUS. */
  readonly principal: string;
  /**
   * Milliseconds the handler spent parked waiting on others (Kafka's RemoteTimeMs: acks=all
   * for the followers, a Fetch long poll for data); handlers that park add to it.
   */
  remoteMs?: number;
  /** May the principal do this operation (an AclOperation) on the resource? Always true without an authorizer. */
  authorize(operation: number, resource: Resource): boolean;
  /** May it do the operation on at least one resource of the type (idempotent producers, KIP-679)? */
  authorizeAny(operation: number, resourceType: number): boolean;
  /** Kafka's authorized-operations bit field for a resource, over the operations its type supports. */
  authorizedOperations(resource: Resource): number;
}

/** What a handler returns: the response body, or NO_RESPONSE (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no response');

export interface ApiHandler<Request = any, Response = any> {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Advertised in ApiVersions when lower than minVersion (Produce: 0, as Kafka 4.x does). */
  readonly advertisedMinVersion?: number;
  handle(request: Request, context: RequestContext): Response | typeof NO_RESPONSE | Promise<Response | typeof NO_RESPONSE>;
}

export function defineHandler<Request, Response>(handler: ApiHandler<Request, Response>): ApiHandler<Request, Response> {
  return handler;
}
