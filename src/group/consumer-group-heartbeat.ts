// The ConsumerGroupHeartbeat request as the coordinator sees it, its answer, and Kafka's
// validation of it (GroupMetadataManager.throwIfConsumerGroupHeartbeatRequestIsInvalid):
// INVALID_REQUEST for missing or blank fields, UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ASSIGNORS } from './assignors.js';
import { LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH, type TopicPartitions } from './consumer-group.js';
import { compileTopicRegex } from './consumer-group-topics.js';

export interface WirePartitions {
  readonly topicId: Buffer;
  readonly partitions: number[];
}

export interface HeartbeatRequest {
  readonly apiVersion: number;
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[] | null;
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly ownedPartitions: readonly WirePartitions[] | null;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface HeartbeatResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly assignment: WirePartitions[] | null;
}

const fail = (code: number, message: string) => new KafkaError(code, message);

/** TopicPartitions of a request, by topic ID (hex). */
export function toTopicPartitions(wire: readonly WirePartitions[]): TopicPartitions {
  const partitions = new Map<string, Set<number>>();
  for (const topic of wire) {
    const id = topic.topicId.toString('hex');
    const set = partitions.get(id) ?? new Set<number>();
    for (const partition of topic.partitions) set.add(partition);
    partitions.set(id, set);
  }
  return partitions;
}

/** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid: throws a KafkaError. */
export function validateHeartbeat(request: HeartbeatRequest): void {
  const invalid = (message: string) => fail(ErrorCode.INVALID_REQUEST, message);
  const blank = (value: string | null) => value !== null && value.trim() === '';
  // KIP-1082: from v1 the client generates its member ID, so it is always required.
  const idRequired = request.apiVersion >= 1 || request.memberEpoch > 0 || request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH;
  if (idRequired && request.memberId.trim() === '') throw invalid("MemberId can't be empty.");
  if (request.groupId.trim() === '') throw invalid("GroupId can't be empty.");
  if (blank(request.instanceId)) throw invalid("InstanceId can't be empty.");
  if (blank(request.rackId)) throw invalid("RackId can't be empty.");
  if (request.memberEpoch === 0) {
    if (request.rebalanceTimeoutMs === -1) throw invalid('RebalanceTimeoutMs must be provided in first request.');
    if (request.ownedPartitions === null || request.ownedPartitions.length > 0) throw invalid('TopicPartitions must be empty when (re-)joining.');
    if (request.subscribedTopicNames === null && request.subscribedTopicRegex === null) {
      throw invalid('Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.');
    }
  } else if (request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    if (request.instanceId === null) throw invalid("InstanceId can't be null.");
  } else if (request.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    throw invalid('MemberEpoch is invalid.');
  }
  if (request.serverAssignor !== null && !ASSIGNORS.has(request.serverAssignor)) {
    throw fail(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${request.serverAssignor} is not supported. Supported assignors: ${[...ASSIGNORS.keys()].join(', ')}.`);
  }
  if (request.subscribedTopicRegex !== null && request.subscribedTopicRegex !== '') {
    const problem = compileTopicRegex(request.subscribedTopicRegex).problem;
    if (problem !== undefined) {
      throw fail(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${request.subscribedTopicRegex}\` is not a valid regular expression: ${problem}.`);
    }
  }
}
