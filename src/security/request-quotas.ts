// The client quotas the dispatcher applies around each request (src/security/quota-enforcer.ts):
// producer_byte_rate on Produce requests, request_percentage on the time spent on every
// request, and the throttle a handler asked for itself (controller_mutation_rate). The
// answer carries the largest throttle_time_ms and the connection is muted that long
// (KIP-219). Exempt, as in Kafka: the authentication exchange (ApiVersions and SASL, served
// before a principal is known) and follower fetches (replication, CLUSTER_ACTION in Kafka).

import { type RequestContext } from '../broker/api-handler.js';
import { ApiKey } from '../protocol/generated/index.js';
import { type ControllerMutationQuota, type QuotaEnforcer } from './quota-enforcer.js';

const EXEMPT_APIS: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

/** Is this request outside the client quotas? */
export function quotaExempt(apiKey: number, request: unknown): boolean {
  if (EXEMPT_APIS.has(apiKey)) return true;
  if (apiKey !== ApiKey.Fetch) return false;
  const fetch = request as { replicaId?: number; replicaState?: { replicaId: number } };
  return (fetch.replicaId ?? -1) >= 0 || (fetch.replicaState?.replicaId ?? -1) >= 0;
}

/** The user part of a principal ("User:alice" -> "alice"), which quota entities name. */
export function quotaUser(principal: string): string {
  return principal.slice(principal.indexOf(':') + 1);
}

/**
 * The throttle for an answered request: the largest of its produce byte-rate throttle, its
 * request-time throttle and what the handler set (controller mutations). `handlerMs` is the
 * time spent on the request so far.
 */
export function requestThrottleMs(
  quotas: QuotaEnforcer,
  apiKey: number,
  user: string,
  clientId: string,
  frameBytes: number,
  handlerMs: number,
  handlerThrottleMs: number,
  nowMs: number,
): number {
  let throttleMs = handlerThrottleMs;
  if (apiKey === ApiKey.Produce) throttleMs = Math.max(throttleMs, quotas.record('producer_byte_rate', user, clientId, frameBytes, nowMs));
  // Kafka records request time in percent of one thread-second: 10 ms is 1.
  return Math.max(throttleMs, quotas.record('request_percentage', user, clientId, handlerMs / 10, nowMs));
}

/**
 * KIP-599: the controller mutation quota of a CreateTopics, CreatePartitions or
 * DeleteTopics request; strict from `strictSinceVersion` on (refusals), permissive below
 * (throttling only). The handler puts its throttleTimeMs in the answer.
 */
export function controllerMutationQuota(context: RequestContext, strictSinceVersion: number): ControllerMutationQuota {
  return context.broker.security.quotaEnforcer.controllerMutations(quotaUser(context.principal), context.clientId ?? '', context.apiVersion >= strictSinceVersion);
}
