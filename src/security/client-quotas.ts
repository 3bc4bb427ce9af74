// Client quotas as Kafka keeps them (ClientQuotaEntity -> config values): entities of
// user, client-id, user + client-id, or ip, each name possibly the default (null), with
// Kafka's keys. Stored in `client-quotas.json` in the data directory; quota-enforcer.ts
// throttles the byte rates.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger } from '../logger.js';
import { writeFileDurably } from '../log/durable-file.js';

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

function keyOf(entity: readonly QuotaEntityPart[]): string {
  return JSON.stringify([...entity].sort((a, b) => a.entityType.localeCompare(b.entityType)).map((part) => [part.entityType, part.entityName]));
}

export class ClientQuotaStore {
  private readonly quotas = new Map<string, { entity: QuotaEntityPart[]; values: Map<string, number> }>();
  private readonly path: string;

  constructor(dataDir: string, logger: Logger) {
    this.path = join(dataDir, CLIENT_QUOTAS_FILE);
    if (!existsSync(this.path)) return;
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { entries: Array<{ entity: QuotaEntityPart[]; values: Record<string, number> }> };
      for (const entry of parsed.entries ?? []) this.quotas.set(keyOf(entry.entity), { entity: entry.entity, values: new Map(Object.entries(entry.values)) });
    } catch (error) {
      logger.error(`Cannot read ${this.path}, client quotas are not loaded: ${(error as Error).message}`);
    }
  }

  get size(): number {
    return this.quotas.size;
  }

  entries(): Array<{ entity: QuotaEntityPart[]; values: ReadonlyMap<string, number> }> {
    return [...this.quotas.values()];
  }

  /** Applies set/remove operations per entity and writes the file once. */
  apply(changes: ReadonlyArray<{ entity: QuotaEntityPart[]; ops: ReadonlyArray<{ key: string; value: number; remove: boolean }> }>): void {
    if (changes.length === 0) return;
    for (const { entity, ops } of changes) {
      const key = keyOf(entity);
      const entry = this.quotas.get(key) ?? { entity: [...entity], values: new Map<string, number>() };
      for (const op of ops) {
        if (op.remove) entry.values.delete(op.key);
        else entry.values.set(op.key, op.value);
      }
      if (entry.values.size === 0) this.quotas.delete(key);
      else this.quotas.set(key, entry);
    }
    const entries = [...this.quotas.values()].map((entry) => ({ entity: entry.entity, values: Object.fromEntries(entry.values) }));
    writeFileDurably(this.path, JSON.stringify({ version: 1, entries }, null, 2) + '\n');
  }
}
