// IncrementalAlterConfigs, v0-1 (KIP-339): SET, DELETE, and APPEND / SUBTRACT on list
// configs (cleanup.policy...), on TOPIC and BROKER resources like AlterConfigs, and on GROUP
// resources (Kafka 4.x group configs: SET and DELETE) and CLIENT_METRICS subscriptions
// (KIP-714: metrics, interval.ms, match; APPEND and SUBTRACT on the lists). The new set
// of overrides is validated whole before it is applied, durably and live (in a cluster: on
// every broker, through the metadata store; see 33-alter-configs.ts).

import { type IncrementalAlterConfigsRequest, type IncrementalAlterConfigsResponse } from '../protocol/generated/index.js';
import { alterResources } from './33-alter-configs.js';
import { AclOperation } from '../security/acls.js';
import { configAuthorizationError } from '../security/config-authorization.js';
import { defineHandler } from './api-handler.js';

export const incrementalAlterConfigsHandler = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const responses = await alterResources(
      context.broker,
      request.resources,
      (resource) => resource.configs.map((config) => ({ name: config.name, op: config.configOperation, value: config.value })),
      true,
      request.validateOnly,
      (resource) => configAuthorizationError(context, AclOperation.ALTER_CONFIGS, resource.resourceType, resource.resourceName),
    );
    return { throttleTimeMs: 0, responses };
  },
});
