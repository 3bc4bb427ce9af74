// The ACL authorizer, deciding as Kafka's StandardAuthorizer does:
//   1. a super user (super.users) may do everything;
//   2. of the ACLs that apply to the resource (its literal name, the wildcard "*", and every
//      PREFIXED name it starts with) and to the principal (or User:*) and host (or *), a
//      DENY for the operation (or ALL) wins over everything;
//   3. an ALLOW for the operation, for ALL, or for an operation implying it (READ, WRITE,
//      DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
//   4. a resource no ACL applies to at all is allowed only with allow.everyone.if.no.acl.found.
// The ACLs are kept in `acls.json` in the data directory, written atomically on each change.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger } from '../logger.js';
import { writeFileDurably } from '../log/durable-file.js';
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

export class AclAuthorizer {
  private bindings: AclBinding[] = [];
  private readonly path: string;
  private readonly superUsers: ReadonlySet<string>;

  constructor(
    dataDir: string,
    private readonly options: AuthorizerOptions,
    logger: Logger,
  ) {
    this.superUsers = new Set(options.superUsers);
    this.path = join(dataDir, ACLS_FILE);
    if (existsSync(this.path)) {
      try {
        const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { version: number; acls: AclBinding[] };
        this.bindings = parsed.acls ?? [];
      } catch (error) {
        // Without its ACLs the broker would deny (or, with allow.everyone, allow) by accident:
        // refuse to start instead, naming the file.
        throw new Error(`Cannot read the ACLs in ${this.path}: ${(error as Error).message}`);
      }
    }
    logger.debug(`Authorizer: ${this.bindings.length} ACLs, ${this.superUsers.size} super users`);
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

  /** Adds bindings (an existing identical binding is not duplicated) and persists once. */
  create(bindings: readonly AclBinding[]): void {
    for (const binding of bindings) {
      if (!this.bindings.some((existing) => sameBinding(existing, binding))) this.bindings.push({ ...binding });
    }
    this.persist();
  }

  /** Removes the bindings matching each filter; returns what each filter removed. */
  delete(filters: readonly AclFilter[]): AclBinding[][] {
    const removed = filters.map((filter) => this.bindings.filter((binding) => filterMatches(filter, binding)));
    const gone = new Set(removed.flat());
    if (gone.size > 0) {
      this.bindings = this.bindings.filter((binding) => !gone.has(binding));
      this.persist();
    }
    return removed;
  }

  private persist(): void {
    writeFileDurably(this.path, JSON.stringify({ version: 1, acls: this.bindings }, null, 2) + '\n');
  }
}

function appliesToName(acl: AclBinding, name: string): boolean {
  if (acl.patternType === PatternType.LITERAL) return acl.resourceName === name || acl.resourceName === WILDCARD_RESOURCE;
  return acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName);
}
