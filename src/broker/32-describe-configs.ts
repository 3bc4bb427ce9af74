// DescribeConfigs, v1-4: every topic config of Kafka 4.3 (value, source, synonyms with
// includeSynonyms in Kafka's order, type and documentation from v3) and every broker config
// of this node, dynamic values included (AlterConfigs). Broker configs that cannot change
// at run time are read-only. The BROKER resource "" lists the cluster-wide dynamic
// defaults only, as Kafka does. GROUP (32) lists Kafka 4.3's group configs with the group's
// overrides (group/group-configs.ts). BROKER_LOGGER lists the `root` logger's level.
// CLIENT_METRICS (16) lists a client-metrics subscription's metrics, interval.ms and match.

import { describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from '../config/topic-config.js';
import { ErrorCode } from '../protocol/errors.js';
import { type DescribeConfigsRequest, type DescribeConfigsResponse, type DescribeConfigsResponseDescribeConfigsResult } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { configAuthorizationError } from '../security/config-authorization.js';
import { defineHandler } from './api-handler.js';

const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;
/** DescribeConfigs' ConfigType numbering. */
const CONFIG_TYPE: Record<DescribedConfig['type'], number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
  password: 9,
};

export const describeConfigsHandler = defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: 32,
  minVersion: 1,
  maxVersion: 4,
  handle(request, context) {
    const { broker } = context;
    const results = request.resources.map((resource): DescribeConfigsResponseDescribeConfigsResult => {
      const failed = (errorCode: number, errorMessage: string) => ({
        errorCode,
        errorMessage,
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        configs: [],
      });
      const refusal = configAuthorizationError(context, AclOperation.DESCRIBE_CONFIGS, resource.resourceType, resource.resourceName);
      if (refusal !== undefined) return { errorCode: refusal, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
      let configs: DescribedConfig[];
      if (resource.resourceType === ResourceType.TOPIC) {
        const topic = broker.logs.topic(resource.resourceName);
        if (topic === undefined) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resource.resourceName} does not exist`);
        configs = describeTopicConfigs(topic.configs, broker.config);
      } else if (resource.resourceType === ResourceType.BROKER) {
        if (resource.resourceName !== '' && resource.resourceName !== String(broker.nodeId)) {
          return failed(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${resource.resourceName}`);
        }
        configs = describeBrokerConfigs(broker.config, resource.resourceName === '');
      } else if (resource.resourceType === ResourceType.BROKER_LOGGER) {
        if (resource.resourceName !== String(broker.nodeId)) {
          return failed(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId}, but received ${resource.resourceName}`);
        }
        configs = broker.loggers.describe();
      } else if (resource.resourceType === ResourceType.GROUP) {
        // Any group name is describable, as in Kafka: a group without overrides shows the defaults.
        if (resource.resourceName === '') return failed(ErrorCode.INVALID_REQUEST, 'Group name must not be empty');
        configs = broker.groupConfigs.describe(resource.resourceName);
      } else if (resource.resourceType === ResourceType.CLIENT_METRICS) {
        if (resource.resourceName === '') return failed(ErrorCode.INVALID_REQUEST, 'Subscription name must not be empty');
        configs = broker.clientMetrics.describe(resource.resourceName);
      } else {
        return failed(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resource.resourceType}`);
      }
      const keys = resource.configurationKeys;
      if (keys !== null && keys.length > 0) configs = configs.filter((config) => keys.includes(config.name));
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        configs: configs.map((config) => ({
          name: config.name,
          value: config.isSensitive ? null : config.value,
          readOnly: config.readOnly,
          configSource: config.source,
          isSensitive: config.isSensitive,
          synonyms: request.includeSynonyms === true ? config.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [],
          configType: CONFIG_TYPE[config.type],
          documentation: request.includeDocumentation === true ? config.documentation : null,
        })),
      };
    });
    return { throttleTimeMs: 0, results };
  },
});
