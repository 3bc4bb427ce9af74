// ListConfigResources, v0-1 (KIP-1142): the config resources there are. v0 lists the
// CLIENT_METRICS resources only (it was ListClientMetricsResources); v1 takes the types to
// list, all of them when empty: topics, brokers and broker loggers (the cluster's node ids),
// groups (every known group, and those with config overrides) and client-metrics
// subscriptions (src/telemetry/client-metrics-configs.ts). Only resources the principal may
// DESCRIBE_CONFIGS are listed, as Kafka filters. An unknown type is INVALID_REQUEST.

import { ErrorCode } from '../protocol/errors.js';
import { type ListConfigResourcesRequest, type ListConfigResourcesResponse } from '../protocol/generated/index.js';
import { ResourceType } from '../config/config-changes.js';
import { AclOperation } from '../security/acls.js';
import { configAuthorizationError } from '../security/config-authorization.js';
import { clusterBrokers } from './03-metadata.js';
import { defineHandler } from './api-handler.js';

const LISTED = [ResourceType.TOPIC, ResourceType.BROKER, ResourceType.BROKER_LOGGER, ResourceType.CLIENT_METRICS, ResourceType.GROUP] as const;

export const listConfigResourcesHandler = defineHandler<ListConfigResourcesRequest, ListConfigResourcesResponse>({
  apiKey: 74,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const { broker } = context;
    const wanted = context.apiVersion === 0 ? [ResourceType.CLIENT_METRICS] : request.resourceTypes?.length ? request.resourceTypes : [...LISTED];
    if (wanted.some((type) => !(LISTED as readonly number[]).includes(type))) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, configResources: [] };
    }
    const configResources: Array<{ resourceName: string; resourceType: number }> = [];
    const add = (resourceType: number, names: Iterable<string>) => {
      for (const resourceName of names) {
        if (configAuthorizationError(context, AclOperation.DESCRIBE_CONFIGS, resourceType, resourceName) === undefined) {
          configResources.push({ resourceName, resourceType });
        }
      }
    };
    for (const type of new Set(wanted)) {
      if (type === ResourceType.TOPIC) add(type, [...broker.logs.allTopics()].map((topic) => topic.name).sort());
      else if (type === ResourceType.BROKER || type === ResourceType.BROKER_LOGGER)
        add(
          type,
          clusterBrokers(broker).map((entry) => String(entry.nodeId)),
        );
      else if (type === ResourceType.GROUP) {
        const names = new Set<string>(broker.groupConfigs.groupIds());
        for (const group of broker.groups.listGroups()) names.add(group.groupId);
        for (const group of broker.shares.listGroups()) names.add(group.groupId);
        add(type, [...names].sort());
      } else if (type === ResourceType.CLIENT_METRICS) add(type, broker.clientMetrics.names());
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, configResources };
  },
});
