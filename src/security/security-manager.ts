// The broker's security state: the listeners' security settings, the SCRAM users, and the
// authorizer (absent when authorizer.class.name is empty, as in Kafka: then everything is
// allowed and the ACL APIs answer SECURITY_DISABLED). Handlers reach it through the
// request context's `authorize`, never directly.

import { type SecurityMetadata } from '../cluster/metadata-store.js';
import { type BrokerConfig } from '../config/broker-config.js';
import { ConfigError } from '../config/definitions.js';
import { type Logger } from '../logger.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from './acls.js';
import { AclAuthorizer, STANDARD_AUTHORIZERS } from './authorizer.js';
import { type AuthenticationStats, ConnectionSecurity } from './connection-security.js';
import { ANONYMOUS } from './principal.js';
import { type ScramMechanism } from './scram.js';
import { ScramCredentialStore } from './scram-credentials.js';
import { ClientQuotaStore } from './client-quotas.js';
import { QuotaEnforcer } from './quota-enforcer.js';
import { listenerSecurity, listenerWarnings, type ListenerSecurity } from './security-config.js';

export interface Resource {
  readonly type: number;
  readonly name: string;
}

export const topicResource = (name: string): Resource => ({ type: ResourceType.TOPIC, name });
export const groupResource = (name: string): Resource => ({ type: ResourceType.GROUP, name });
export const transactionalIdResource = (name: string): Resource => ({ type: ResourceType.TRANSACTIONAL_ID, name });
export const CLUSTER_RESOURCE: Resource = { type: ResourceType.CLUSTER, name: CLUSTER_NAME };

export class SecurityManager {
  readonly listeners = new Map<string, ListenerSecurity>();
  readonly scram: ScramCredentialStore;
  readonly quotas: ClientQuotaStore;
  readonly quotaEnforcer: QuotaEnforcer;
  readonly authorizer: AclAuthorizer | undefined;
  readonly reauthMs: number;
  /** Authentications and re-authentications (KIP-368) so far, over every listener. */
  readonly stats: AuthenticationStats = { authentications: 0, reauthentications: 0, failedAuthentications: 0, failedReauthentications: 0, expiredSessions: 0 };

  constructor(
    config: BrokerConfig,
    logger: Logger,
    /** Where users, ACLs and quotas live: the metadata store, mirrored to the data directory's files when it is in process. */
    records: { readonly store: SecurityMetadata; readonly mirror: boolean },
  ) {
    const context = { store: records.store, mirror: records.mirror, dataDir: config.dataDir, logger };
    for (const listener of config.listeners) {
      const security = listenerSecurity(config, listener, (message) => logger.error(message));
      this.listeners.set(listener.name, security);
      for (const warning of listenerWarnings(security)) logger.warn(warning);
    }
    this.scram = new ScramCredentialStore(context);
    this.quotas = new ClientQuotaStore(context);
    this.quotaEnforcer = new QuotaEnforcer(
      this.quotas,
      config.values.get('quota.window.num') as number,
      (config.values.get('quota.window.size.seconds') as number) * 1000,
      config.values.get('controller.quota.window.num') as number,
      (config.values.get('controller.quota.window.size.seconds') as number) * 1000,
    );
    this.reauthMs = Number(config.values.get('connections.max.reauth.ms') as bigint);
    const authorizerClass = (config.values.get('authorizer.class.name') as string).trim();
    if (authorizerClass !== '') {
      if (!STANDARD_AUTHORIZERS.includes(authorizerClass)) {
        throw new ConfigError('authorizer.class.name', authorizerClass, `only ${STANDARD_AUTHORIZERS.join(' or ')} can be used`);
      }
      const superUsers = (config.values.get('super.users') as string)
        .split(';')
        .map((principal) => principal.trim())
        .filter((principal) => principal !== '');
      this.authorizer = new AclAuthorizer(context, { superUsers, allowEveryoneIfNoAclFound: config.values.get('allow.everyone.if.no.acl.found') as boolean });
    }
  }

  /** Stops following the metadata store (the broker stops). */
  close(): void {
    this.scram.close();
    this.quotas.close();
    this.authorizer?.close();
  }

  /** A new connection's security session on a listener. */
  session(listenerName: string, tlsPrincipal: string = ANONYMOUS): ConnectionSecurity {
    const listener = this.listeners.get(listenerName);
    if (listener === undefined) throw new Error(`No listener named ${listenerName}`);
    return new ConnectionSecurity(listener, { scram: (user, mechanism: ScramMechanism) => this.scram.get(user, mechanism), stats: this.stats }, tlsPrincipal);
  }

  authorize(principal: string, host: string, operation: number, resource: Resource): boolean {
    if (this.authorizer === undefined) return true;
    return this.authorizer.authorize(principal, host, operation, resource.type, resource.name);
  }

  /** May the principal do the operation on some resource of the type (KIP-679's idempotent-write rule)? */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.authorizer === undefined) return true;
    return this.authorizer.authorizeAny(principal, host, operation, resourceType);
  }

  /**
   * Kafka's authorized-operations bit field (Metadata, DescribeGroups, DescribeCluster):
   * bit N set when operation N is allowed, over the operations the resource type supports.
   */
  authorizedOperations(principal: string, host: string, resource: Resource, supported: readonly number[]): number {
    let bits = 0;
    for (const operation of supported) {
      if (this.authorize(principal, host, operation, resource)) bits |= 1 << operation;
    }
    return bits;
  }
}

export { AclOperation, ResourceType };
