// Client quotas as Kafka keeps them (ClientQuotaEntity -> config values): entities of
// user, client-id, user + client-id, or ip, each name possibly the default (null), with
// Kafka's keys. One record per entity and key in the metadata store (so that every broker
// of a cluster enforces the same quotas) and, on a single node, `client-quotas.json` in the
// data directory (src/security/security-records.ts); quota-enforcer.ts enforces them.

import { type SecurityRecordChange } from '../cluster/metadata-store.js';
import { RecordsView, recordKey, type SecurityStoreContext } from './security-records.js';

export const CLIENT_QUOTAS_FILE = 'client-quotas.json';

export interface QuotaEntityPart {
  readonly entityType: string;
  readonly entityName: string | null;
}

const CLIENT_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate'];
const IP_KEYS = ['connection_creation_rate'];

/** Why an entity with these changes cannot be stored (INVALID_REQUEST), or undefined. */
export function invalidQuota(entity: readonly QuotaEntityPart[], keys: readonly string[]): string | undefined {
  const types = entity.map((part) => part.entityType).sort();
  if (new Set(types).size !== types.length) return 'Duplicate entity type in the quota entity';
  const shape = types.join('+');
  const allowed = shape === 'ip' ? IP_KEYS : ['client-id', 'user', 'client-id+user'].includes(shape) ? CLIENT_KEYS : undefined;
  if (allowed === undefined) return `Invalid quota entity: ${shape || 'empty'}`;
  const bad = keys.find((key) => !allowed.includes(key));
  return bad === undefined ? undefined : `Unknown quota key ${bad} for entity ${shape}`;
}

function sortedEntity(entity: readonly QuotaEntityPart[]): QuotaEntityPart[] {
  return [...entity].sort((a, b) => a.entityType.localeCompare(b.entityType)).map((part) => ({ entityType: part.entityType, entityName: part.entityName }));
}

function keyOf(entity: readonly QuotaEntityPart[]): string {
  return JSON.stringify(sortedEntity(entity).map((part) => [part.entityType, part.entityName]));
}

function record(entity: readonly QuotaEntityPart[], key: string, value: number | null): SecurityRecordChange {
  return { key: recordKey(keyOf(entity), key), value: value === null ? null : JSON.stringify({ entity: sortedEntity(entity), key, value }) };
}

export class ClientQuotaStore extends RecordsView {
  private quotas = new Map<string, { entity: QuotaEntityPart[]; values: Map<string, number> }>();
  protected readonly tolerateDamagedFile = true;

  constructor(context: SecurityStoreContext) {
    super('quotas', context, CLIENT_QUOTAS_FILE);
    this.start();
  }

  /** How many entities have quotas (0: nothing to enforce). */
  get size(): number {
    return this.quotas.size;
  }

  entries(): Array<{ entity: QuotaEntityPart[]; values: ReadonlyMap<string, number> }> {
    return [...this.quotas.values()];
  }

  /** Applies set/remove operations per entity; resolves once stored. */
  apply(changes: ReadonlyArray<{ entity: QuotaEntityPart[]; ops: ReadonlyArray<{ key: string; value: number; remove: boolean }> }>): Promise<void> {
    return this.write(changes.flatMap(({ entity, ops }) => ops.map((op) => record(entity, op.key, op.remove ? null : op.value))));
  }

  protected rebuild(records: ReadonlyMap<string, string>): void {
    const quotas = new Map<string, { entity: QuotaEntityPart[]; values: Map<string, number> }>();
    for (const [key, text] of records) {
      try {
        const parsed = JSON.parse(text) as { entity: QuotaEntityPart[]; key: string; value: number };
        if (!Array.isArray(parsed.entity) || typeof parsed.value !== 'number') throw new Error('not a quota value');
        const entityKey = keyOf(parsed.entity);
        let entry = quotas.get(entityKey);
        if (entry === undefined) quotas.set(entityKey, (entry = { entity: sortedEntity(parsed.entity), values: new Map() }));
        entry.values.set(parsed.key, parsed.value);
      } catch (error) {
        this.context.logger.error(`Client quota record ${key} skipped: ${(error as Error).message}`);
      }
    }
    this.quotas = quotas;
  }

  protected fileText(): string {
    const entries = [...this.quotas.values()].map((entry) => ({ entity: entry.entity, values: Object.fromEntries(entry.values) }));
    return JSON.stringify({ version: 1, entries }, null, 2) + '\n';
  }

  protected recordsFromFile(text: string): SecurityRecordChange[] {
    const parsed = JSON.parse(text) as { entries?: Array<{ entity: QuotaEntityPart[]; values: Record<string, number> }> };
    return (parsed.entries ?? []).flatMap(({ entity, values }) => Object.entries(values).map(([key, value]) => record(entity, key, value)));
  }
}
