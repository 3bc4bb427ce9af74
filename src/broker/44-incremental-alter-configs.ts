// IncrementalAlterConfigs, v0-1 (KIP-339): SET, DELETE, and APPEND / SUBTRACT on list
// configs (cleanup.policy...), on TOPIC and BROKER resources like AlterConfigs. The new set
// of overrides is validated whole before it is applied, durably and live.

import { ErrorCode } from '../protocol/errors.js';
import { type IncrementalAlterConfigsRequest, type IncrementalAlterConfigsResponse } from '../protocol/generated/index.js';
import { alterResource, duplicateResources } from './33-alter-configs.js';
import { defineHandler } from './api-handler.js';

export const incrementalAlterConfigsHandler = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const duplicates = duplicateResources(request.resources);
    const responses = request.resources.map((resource) => {
      const { resourceType, resourceName } = resource;
      const result = duplicates.has(`${resourceType}:${resourceName}`)
        ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate resource in request: ${resourceName}` }
        : alterResource(
            context.broker,
            resource,
            resource.configs.map((config) => ({ name: config.name, op: config.configOperation, value: config.value })),
            true,
            request.validateOnly,
          );
      return { ...result, resourceType, resourceName };
    });
    return { throttleTimeMs: 0, responses };
  },
});
