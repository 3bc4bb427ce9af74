// AlterConfigs and IncrementalAlterConfigs on one resource, as Kafka's ConfigAdminManager
// prepares them: the whole new set of overrides is computed and validated before anything
// is applied, so a resource's changes apply together or not at all. Errors carry the code
// Kafka answers (INVALID_CONFIG names the key; INVALID_REQUEST for malformed requests).

import { type BrokerConfig } from './broker-config.js';
import { ConfigError, topicConfigByName, brokerConfigByName } from './definitions.js';
import { validateBrokerConfigs, validateTopicConfigs } from './topic-config.js';

export const ResourceType = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;

export class ConfigChangeError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigChangeError';
  }
}

export interface ConfigChange {
  readonly name: string;
  /** AlterConfigOp; legacy AlterConfigs is SET for every entry. */
  readonly op: number;
  readonly value: string | null;
}

export type ConfigTarget = { readonly kind: 'topic' } | { readonly kind: 'broker' };

/** What editOverrides needs to know about a resource type's configs. */
export interface OverrideRules {
  /** Named in the unknown-config message: "topic", "broker", "group", "client metrics". */
  readonly kind: string;
  isKnown(name: string): boolean;
  /** List configs take APPEND and SUBTRACT; others refuse them, as Kafka does. */
  isList(name: string): boolean;
  /** A list's items before its first override (APPEND and SUBTRACT start from them). */
  listDefault?(name: string): string[];
}

function definitionRules(target: ConfigTarget): OverrideRules {
  const byName = target.kind === 'topic' ? topicConfigByName : brokerConfigByName;
  return {
    kind: target.kind,
    isKnown: (name) => byName.has(name),
    isList: (name) => byName.get(name)?.type === 'list',
    listDefault: (name) => {
      const value = byName.get(name)?.defaultValue;
      return Array.isArray(value) ? [...value] : [];
    },
  };
}

/**
 * The overrides after `changes`, not yet validated: legacy AlterConfigs (`incremental`
 * false) replaces the whole set, IncrementalAlterConfigs edits it (SET, DELETE, and APPEND /
 * SUBTRACT on lists). Throws ConfigChangeError for duplicate keys, unknown names, null SET
 * values and list operations on other configs. Shared by every config resource type.
 */
export function editOverrides(current: Readonly<Record<string, string>>, changes: readonly ConfigChange[], incremental: boolean, rules: OverrideRules): Record<string, string> {
  const seen = new Set<string>();
  for (const change of changes) {
    if (seen.has(change.name)) throw new ConfigChangeError(INVALID_REQUEST, `Error due to duplicate config keys`);
    seen.add(change.name);
  }
  const next: Record<string, string> = incremental ? { ...current } : {};
  for (const change of changes) {
    if (!rules.isKnown(change.name)) throw new ConfigChangeError(INVALID_CONFIG, `Unknown ${rules.kind} config name: ${change.name}`);
    switch (change.op) {
      case AlterConfigOp.SET:
        if (change.value === null) throw new ConfigChangeError(INVALID_REQUEST, `Null value not supported for : ${change.name}`);
        next[change.name] = change.value;
        break;
      case AlterConfigOp.DELETE:
        delete next[change.name];
        break;
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        const verb = change.op === AlterConfigOp.APPEND ? 'append' : 'subtract';
        if (!rules.isList(change.name)) throw new ConfigChangeError(INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${change.name}`);
        const existing = next[change.name];
        const items = existing === undefined ? (rules.listDefault?.(change.name) ?? []) : existing === '' ? [] : existing.split(',').map((item) => item.trim());
        const given = (change.value ?? '')
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '');
        const result = change.op === AlterConfigOp.APPEND ? [...items, ...given.filter((item) => !items.includes(item))] : items.filter((item) => !given.includes(item));
        next[change.name] = result.join(',');
        break;
      }
      default:
        throw new ConfigChangeError(INVALID_REQUEST, `Unknown config operation ${change.op} for ${change.name}`);
    }
  }
  return next;
}

/**
 * The overrides of a topic or the broker after `changes` (see editOverrides), validated
 * against their definitions; throws ConfigChangeError.
 */
export function applyConfigChanges(
  current: Readonly<Record<string, string>>,
  changes: readonly ConfigChange[],
  incremental: boolean,
  target: ConfigTarget,
): Record<string, string> {
  const next = editOverrides(current, changes, incremental, definitionRules(target));
  try {
    if (target.kind === 'topic') validateTopicConfigs(next);
    else validateBrokerConfigs(next);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const dynamicRefusal = error.message.includes('Cannot update these configs dynamically');
    throw new ConfigChangeError(dynamicRefusal ? INVALID_REQUEST : INVALID_CONFIG, error.message);
  }
  return next;
}

/** Which layer a BROKER resource name addresses: "" the cluster default, else this node. */
export function brokerLayer(resourceName: string, broker: BrokerConfig): 'perBroker' | 'clusterDefault' {
  if (resourceName === '') return 'clusterDefault';
  if (resourceName === String(broker.nodeId)) return 'perBroker';
  throw new ConfigChangeError(INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${resourceName}`);
}
