// What the gateway's routes share: the broker's state, a way to run a Kafka request through
// the broker's own handler (as if it came over the wire, metrics included), and the base URL
// for the REST Proxy's self links.

import { type BrokerState } from '../broker/broker-state.js';

export interface GatewayContext {
  readonly state: BrokerState;
  /** "http://host:port" of the bound listener. */
  readonly baseUrl: string;
  readonly maxBodyBytes: number;
  /** Runs one request through the handler of `apiKey` at `apiVersion`; resolves to its response body. */
  invoke<Response>(apiKey: number, apiVersion: number, request: unknown): Promise<Response>;
}
