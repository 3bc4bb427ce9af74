// What the gateway's routes share: the broker's state, who is asking (HTTP Basic against the
// broker's users, http-auth.ts), a way to run a Kafka request through the broker's own
// handler as that principal (as if it came over the wire, metrics and ACLs included), and
// the base URL for the REST Proxy's self links.

import { type HttpRequest, type HttpResponse } from 'uWebSockets.js';
import { type BrokerState } from '../broker/broker-state.js';
import { type Resource } from '../security/security-manager.js';
import { type Caller } from './http-auth.js';

export interface GatewayContext {
  readonly state: BrokerState;
  /** "http://host:port" of the bound listener. */
  readonly baseUrl: string;
  readonly maxBodyBytes: number;
  /**
   * Who sent this request; undefined when it was refused (401 with WWW-Authenticate already
   * answered). Synchronous: uWS's request object is valid only in the handler.
   */
  caller(res: HttpResponse, req: HttpRequest): Caller | undefined;
  /** May the caller do the operation (an AclOperation) on the resource? Always true without an authorizer. */
  authorize(caller: Caller, operation: number, resource: Resource): boolean;
  /** Runs one request through the handler of `apiKey` at `apiVersion` as `caller`; resolves to its response body. */
  invoke<Response>(apiKey: number, apiVersion: number, request: unknown, caller: Caller): Promise<Response>;
}
