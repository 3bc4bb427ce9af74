// The ACL authorizer, deciding as Kafka's StandardAuthorizer does:
//   1. a super user (super.users) may do everything;
//   2. of the ACLs that apply to the resource (its literal name, the wildcard "*", and every
//      PREFIXED name it starts with) and to the principal (or User:*) and host (or *), a
//      DENY for the operation (or ALL) wins over everything;
//   3. an ALLOW for the operation, for ALL, or for an operation implying it (READ, WRITE,
//      DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
//   4. a resource no ACL applies to at all is allowed only with allow.everyone.if.no.acl.found.
// The ACLs are records of the metadata store (one per binding, so that every broker of a
// cluster enforces the same ones) and, on a single node, `acls.json` in the data directory
// (src/security/security-records.ts).

import { createHash } from 'node:crypto';
import { type SecurityRecordChange } from '../cluster/metadata-store.js';
import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  AclPermission,
  filterMatches,
  PatternType,
  sameBinding,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
} from './acls.js';
import { RecordsView, type SecurityStoreContext } from './security-records.js';

export const ACLS_FILE = 'acls.json';

/** Authorizer class names accepted in authorizer.class.name. */
export const STANDARD_AUTHORIZERS = ['org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer'];

function implies(allowed: number, requested: number): boolean {
  if (allowed === requested || allowed === AclOperation.ALL) return true;
  if (requested === AclOperation.DESCRIBE) {
    return allowed === AclOperation.READ || allowed === AclOperation.WRITE || allowed === AclOperation.DELETE || allowed === AclOperation.ALTER;
  }
  return requested === AclOperation.DESCRIBE_CONFIGS && allowed === AclOperation.ALTER_CONFIGS;
}

export interface AuthorizerOptions {
  readonly superUsers: readonly string[];
  readonly allowEveryoneIfNoAclFound: boolean;
}

/** A binding's record key: a digest of its fields, the same on every broker. */
function bindingKey(binding: AclBinding): string {
  const fields = [binding.resourceType, binding.resourceName, binding.patternType, binding.principal, binding.host, binding.operation, binding.permissionType];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32);
}

function bindingRecord(binding: AclBinding, present: boolean): SecurityRecordChange {
  const { resourceType, resourceName, patternType, principal, host, operation, permissionType } = binding;
  return { key: bindingKey(binding), value: present ? JSON.stringify({ resourceType, resourceName, patternType, principal, host, operation, permissionType }) : null };
}

export class AclAuthorizer extends RecordsView {
  private bindings: AclBinding[] = [];
  private readonly superUsers: ReadonlySet<string>;
  // Without its ACLs the broker would deny (or, with allow.everyone, allow) by accident:
  // it refuses to start instead, naming the file.
  protected readonly tolerateDamagedFile = false;

  constructor(
    context: SecurityStoreContext,
    private readonly options: AuthorizerOptions,
  ) {
    super('acls', context, ACLS_FILE);
    this.superUsers = new Set(options.superUsers);
    this.start();
    context.logger.debug(`Authorizer: ${this.bindings.length} ACLs, ${this.superUsers.size} super users`);
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  authorize(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.superUsers.has(principal)) return true;
    let anyForResource = false;
    let allowed = false;
    for (const acl of this.bindings) {
      if (acl.resourceType !== resourceType || !appliesToName(acl, resourceName)) continue;
      anyForResource = true;
      if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.host !== host && acl.host !== WILDCARD_HOST) continue;
      if (acl.permissionType === AclPermission.DENY) {
        if (acl.operation === operation || acl.operation === AclOperation.ALL) return false;
      } else if (implies(acl.operation, operation)) allowed = true;
    }
    return allowed || (!anyForResource && this.options.allowEveryoneIfNoAclFound);
  }

  /**
   * Kafka's authorizeByResourceType: may the principal do the operation on at least one
   * resource of the type (used for idempotent producers, KIP-679)?
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.superUsers.has(principal)) return true;
    const applies = (acl: AclBinding) =>
      acl.resourceType === resourceType && (acl.principal === principal || acl.principal === WILDCARD_PRINCIPAL) && (acl.host === host || acl.host === WILDCARD_HOST);
    const denied = this.bindings.filter((acl) => applies(acl) && acl.permissionType === AclPermission.DENY && (acl.operation === operation || acl.operation === AclOperation.ALL));
    // A wildcard deny closes every resource of the type.
    if (denied.some((acl) => acl.patternType === PatternType.LITERAL && acl.resourceName === WILDCARD_RESOURCE)) return false;
    return this.bindings.some(
      (acl) =>
        applies(acl) &&
        acl.permissionType === AclPermission.ALLOW &&
        implies(acl.operation, operation) &&
        !denied.some(
          (deny) =>
            deny.patternType === acl.patternType &&
            (deny.resourceName === acl.resourceName || (deny.patternType === PatternType.PREFIXED && acl.resourceName.startsWith(deny.resourceName))),
        ),
    );
  }

  describe(filter: AclFilter): AclBinding[] {
    return this.bindings.filter((binding) => filterMatches(filter, binding));
  }

  /** Adds bindings (an existing identical binding is not duplicated); resolves once stored. */
  create(bindings: readonly AclBinding[]): Promise<void> {
    const added = bindings.filter(
      (binding, index) => !this.bindings.some((existing) => sameBinding(existing, binding)) && bindings.findIndex((other) => sameBinding(other, binding)) === index,
    );
    return this.write(added.map((binding) => bindingRecord(binding, true)));
  }

  /** Removes the bindings matching each filter; resolves to what each filter removed. */
  async delete(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    const removed = filters.map((filter) => this.bindings.filter((binding) => filterMatches(filter, binding)));
    await this.write([...new Set(removed.flat())].map((binding) => bindingRecord(binding, false)));
    return removed;
  }

  protected rebuild(records: ReadonlyMap<string, string>): void {
    const bindings: AclBinding[] = [];
    for (const [key, text] of records) {
      try {
        bindings.push(JSON.parse(text) as AclBinding);
      } catch (error) {
        this.context.logger.error(`ACL record ${key} skipped: ${(error as Error).message}`);
      }
    }
    this.bindings = bindings;
  }

  protected fileText(): string {
    return JSON.stringify({ version: 1, acls: this.bindings }, null, 2) + '\n';
  }

  protected recordsFromFile(text: string): SecurityRecordChange[] {
    const parsed = JSON.parse(text) as { version: number; acls?: AclBinding[] };
    return (parsed.acls ?? []).map((binding) => bindingRecord(binding, true));
  }
}

function appliesToName(acl: AclBinding, name: string): boolean {
  if (acl.patternType === PatternType.LITERAL) return acl.resourceName === name || acl.resourceName === WILDCARD_RESOURCE;
  return acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName);
}
