// ACLs as Kafka models them (org.apache.kafka.common.acl / resource): the protocol's enum
// codes, bindings, filters and the matching rules of CreateAcls, DescribeAcls and DeleteAcls.

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;

export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export const WILDCARD_RESOURCE = '*';
export const WILDCARD_PRINCIPAL = 'User:*';
export const WILDCARD_HOST = '*';
export const CLUSTER_NAME = 'kafka-cluster';

export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

export interface AclFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

/** Operations that make sense per resource type (Kafka's AclEntry.supportedOperations). */
const SUPPORTED_OPERATIONS: ReadonlyMap<number, readonly number[]> = new Map([
  [
    ResourceType.TOPIC,
    [
      AclOperation.READ,
      AclOperation.WRITE,
      AclOperation.CREATE,
      AclOperation.DESCRIBE,
      AclOperation.DELETE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
    ],
  ],
  [ResourceType.GROUP, [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]],
  [
    ResourceType.CLUSTER,
    [
      AclOperation.CREATE,
      AclOperation.CLUSTER_ACTION,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
      AclOperation.IDEMPOTENT_WRITE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE,
    ],
  ],
  [ResourceType.TRANSACTIONAL_ID, [AclOperation.DESCRIBE, AclOperation.WRITE, AclOperation.TWO_PHASE_COMMIT]],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

export function supportedOperations(resourceType: number): readonly number[] {
  return SUPPORTED_OPERATIONS.get(resourceType) ?? [];
}

/** Why a binding cannot be created, as CreateAcls answers it (INVALID_REQUEST), or undefined. */
export function invalidBinding(binding: AclBinding): string | undefined {
  if (binding.resourceType <= ResourceType.ANY || binding.resourceType > ResourceType.USER) return 'Invalid resource type';
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) return 'Invalid pattern type: only LITERAL and PREFIXED ACLs can be created';
  if (binding.operation <= AclOperation.ANY || binding.operation > AclOperation.TWO_PHASE_COMMIT) return 'Invalid operation';
  if (binding.permissionType !== AclPermission.ALLOW && binding.permissionType !== AclPermission.DENY) return 'Invalid permission type';
  if (binding.resourceName === '') return 'Resource name must not be empty';
  if (binding.resourceType === ResourceType.CLUSTER && binding.resourceName !== CLUSTER_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  if (binding.patternType === PatternType.PREFIXED && binding.resourceName === WILDCARD_RESOURCE) return 'Prefixed ACLs cannot use the wildcard name';
  if (!/^[^:]+:.+$/.test(binding.principal))
    return `Could not parse principal from \`${binding.principal}\` (no colon is present separating the principal type from the principal name)`;
  if (!binding.principal.startsWith('User:')) return `Unsupported principal type ${binding.principal.split(':')[0]}; only User principals are supported`;
  if (binding.operation !== AclOperation.ALL && !supportedOperations(binding.resourceType).includes(binding.operation)) {
    return 'Invalid operation for the resource type';
  }
  return undefined;
}

/** Does a stored binding match a DescribeAcls / DeleteAcls filter (Kafka's AclBindingFilter.matches)? */
export function filterMatches(filter: AclFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  if (filter.permissionType !== AclPermission.ANY && filter.permissionType !== binding.permissionType) return false;
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  const name = filter.resourceName;
  switch (filter.patternType) {
    case PatternType.ANY:
      return name === null || name === binding.resourceName;
    case PatternType.MATCH:
      // Every binding that would apply to a resource of this name: the literal name, the
      // wildcard, and every prefix of it.
      if (name === null) return true;
      if (binding.patternType === PatternType.LITERAL) return binding.resourceName === name || binding.resourceName === WILDCARD_RESOURCE;
      return binding.patternType === PatternType.PREFIXED && name.startsWith(binding.resourceName);
    default:
      return filter.patternType === binding.patternType && (name === null || name === binding.resourceName);
  }
}

/** Why a filter cannot be used (DescribeAcls / DeleteAcls answer INVALID_REQUEST), or undefined. */
export function invalidFilter(filter: AclFilter): string | undefined {
  if (filter.resourceType === ResourceType.UNKNOWN || filter.resourceType > ResourceType.USER) return 'Invalid resource type filter';
  if (filter.patternType === PatternType.UNKNOWN || filter.patternType > PatternType.PREFIXED) return 'Invalid pattern type filter';
  if (filter.operation === AclOperation.UNKNOWN || filter.operation > AclOperation.TWO_PHASE_COMMIT) return 'Invalid operation filter';
  if (filter.permissionType === AclPermission.UNKNOWN || filter.permissionType > AclPermission.ALLOW) return 'Invalid permission type filter';
  return undefined;
}

export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permissionType === b.permissionType
  );
}
