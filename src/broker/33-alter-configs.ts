// AlterConfigs, v0-2: replaces a resource's whole set of overrides (configs left out are
// removed, as in Kafka). TOPIC resources take any topic config; BROKER resources ("" for
// the cluster default, or this node's ID) take the dynamic broker configs (the log.*
// defaults of topic configs and the cleaner's settings). Each resource is validated
// whole, then written durably and applied live; validateOnly stops after validation.
// In a cluster, topic configs and the cluster-wide broker default ("") are written to the
// metadata store, from which every broker applies them (as Kafka's ConfigRepository is fed
// by the metadata log); a broker's own layer stays with that broker.

import { applyConfigChanges, brokerLayer, ConfigChangeError, ResourceType, type ConfigChange } from '../config/config-changes.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type AlterConfigsRequest, type AlterConfigsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { configAuthorizationError } from '../security/config-authorization.js';
import { defineHandler } from './api-handler.js';
import { type BrokerState } from './broker-state.js';

export interface ConfigResourceResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** Validates and (unless validateOnly) applies one resource's changes. */
async function alterResource(
  broker: BrokerState,
  resource: { resourceType: number; resourceName: string },
  changes: readonly ConfigChange[],
  incremental: boolean,
  validateOnly: boolean,
): Promise<ConfigResourceResult> {
  try {
    if (resource.resourceType === ResourceType.TOPIC) {
      const topic = broker.logs.topic(resource.resourceName);
      if (topic === undefined) {
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${resource.resourceName} does not exist` };
      }
      const update = (current: Readonly<Record<string, string>>) => applyConfigChanges(current, changes, incremental, { kind: 'topic' });
      if (validateOnly) update((broker.replicas.clustered ? broker.replicas.store.topic(topic.name)?.configs : undefined) ?? topic.configs);
      else {
        await broker.replicas.alterTopicConfigs(topic.name, update);
        if (!broker.replicas.clustered) broker.logger.info(`Topic ${topic.name} configs are now ${JSON.stringify(broker.logs.topic(topic.name)?.configs)}`);
      }
    } else if (resource.resourceType === ResourceType.BROKER) {
      const layer = brokerLayer(resource.resourceName, broker.config);
      const update = (current: Readonly<Record<string, string>>) => applyConfigChanges(current, changes, incremental, { kind: 'broker' });
      const current = Object.fromEntries(broker.config.dynamic[layer]);
      if (validateOnly) update(current);
      else if (layer === 'clusterDefault') await broker.replicas.alterClusterBrokerConfigs(update);
      else broker.logs.alterBrokerConfigs(layer, update(current));
    } else if (resource.resourceType === ResourceType.BROKER_LOGGER && incremental) {
      if (resource.resourceName !== String(broker.nodeId)) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id, expected ${broker.nodeId}, but received ${resource.resourceName}` };
      }
      broker.loggers.alter(changes, validateOnly);
      if (!validateOnly) broker.logger.info(`Log level is now ${broker.loggers.describe()[0]!.value}`);
    } else if (resource.resourceType === ResourceType.GROUP && incremental) {
      // Group configs are only altered incrementally, as in Kafka (legacy AlterConfigs predates them).
      broker.groupConfigs.alter(resource.resourceName, changes, validateOnly);
      if (!validateOnly)
        broker.logger.info(`Group ${resource.resourceName} configs are now ${JSON.stringify(Object.fromEntries(broker.groupConfigs.get(resource.resourceName) ?? []))}`);
    } else if (resource.resourceType === ResourceType.CLIENT_METRICS && incremental) {
      broker.clientMetrics.alter(resource.resourceName, changes, validateOnly);
      if (!validateOnly)
        broker.logger.info(
          `Client-metrics subscription ${resource.resourceName} is now ${JSON.stringify(
            broker.clientMetrics
              .describe(resource.resourceName)
              .filter((c) => c.source !== 5)
              .map((c) => `${c.name}=${c.value}`),
          )}`,
        );
    } else {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${resource.resourceType}` };
    }
  } catch (error) {
    if (error instanceof ConfigChangeError) return { errorCode: error.errorCode, errorMessage: error.message };
    // The metadata store could not take the change (etcd unreachable): Kafka's code, with etcd's reason.
    if (error instanceof KafkaError) return { errorCode: error.kafkaCode, errorMessage: error.message };
    throw error;
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

/** Resources named twice in one request are refused, as Kafka does. */
function duplicateResources(resources: ReadonlyArray<{ resourceType: number; resourceName: string }>): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { resourceType, resourceName } of resources) {
    const key = `${resourceType}:${resourceName}`;
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  return duplicates;
}

/**
 * Alters every resource of an AlterConfigs or IncrementalAlterConfigs request: resources
 * named twice are refused, each other resource is validated whole and applied alone.
 */
export async function alterResources<R extends { resourceType: number; resourceName: string }>(
  broker: BrokerState,
  resources: readonly R[],
  changesOf: (resource: R) => ConfigChange[],
  incremental: boolean,
  validateOnly: boolean,
  /** The error code of a resource the principal may not alter (see configAuthorizationError). */
  denied: (resource: R) => number | undefined = () => undefined,
): Promise<Array<ConfigResourceResult & { resourceType: number; resourceName: string }>> {
  const duplicates = duplicateResources(resources);
  const results: Array<ConfigResourceResult & { resourceType: number; resourceName: string }> = [];
  // One resource after the other, each applied alone, as Kafka does.
  for (const resource of resources) {
    const { resourceType, resourceName } = resource;
    const refusal = denied(resource);
    const result =
      refusal !== undefined
        ? { errorCode: refusal, errorMessage: null }
        : duplicates.has(`${resourceType}:${resourceName}`)
          ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate resource in request: ${resourceName}` }
          : await alterResource(broker, resource, changesOf(resource), incremental, validateOnly);
    results.push({ ...result, resourceType, resourceName });
  }
  return results;
}

export const alterConfigsHandler = defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const responses = await alterResources(
      context.broker,
      request.resources,
      (resource) => resource.configs.map((config) => ({ name: config.name, op: 0, value: config.value })),
      false,
      request.validateOnly,
      (resource) => configAuthorizationError(context, AclOperation.ALTER_CONFIGS, resource.resourceType, resource.resourceName),
    );
    return { throttleTimeMs: 0, responses };
  },
});
