// Which ACL a config resource needs (Kafka's ConfigHelper / ConfigAdminManager): a topic's
// configs need DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, a group's on the group, and
// the broker's (and broker loggers', client metrics') on the cluster. Returns the error
// code of a denial, or undefined when allowed.

import { ErrorCode } from '../protocol/errors.js';
import { type RequestContext } from '../broker/api-handler.js';
import { CLUSTER_RESOURCE, groupResource, topicResource } from './security-manager.js';

const CONFIG_TOPIC = 2;
const CONFIG_GROUP = 32;

export function configAuthorizationError(context: RequestContext, operation: number, resourceType: number, resourceName: string): number | undefined {
  if (resourceType === CONFIG_TOPIC) return context.authorize(operation, topicResource(resourceName)) ? undefined : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  if (resourceType === CONFIG_GROUP) return context.authorize(operation, groupResource(resourceName)) ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED;
  return context.authorize(operation, CLUSTER_RESOURCE) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
}
