// Group configs (the GROUP config resource, type 32): per-group overrides of the group
// coordinators' broker configs, as Kafka 4.3's GroupConfig names them. Set with
// IncrementalAlterConfigs (`kafka-configs --entity-type groups --entity-name g --alter`),
// described with DescribeConfigs, kept in `<data>/group-configs.json` (checksummed, with
// the previous generation aside). Consumer groups (KIP-848) take their session timeout and
// heartbeat interval from here, share groups their lock duration, delivery limit, record
// locks and share.auto.offset.reset, streams groups (KIP-1071) their session timeout,
// heartbeat interval and standby replicas. streams.initial.rebalance.delay.ms and the
// *.assignment.interval.ms configs are accepted and stored; Spate assigns at once.

import { join } from 'node:path';
import { type BrokerConfig } from '../config/broker-config.js';
import { ConfigChangeError, editOverrides, type ConfigChange, type OverrideRules } from '../config/config-changes.js';
import { type DescribedConfig } from '../config/topic-config.js';
import { checksummedJson, parseChecksummedJson, readWithBackup, writeFileWithBackup } from '../log/durable-file.js';

/** DescribeConfigs' ConfigSource for a group override. */
export const GROUP_CONFIG_SOURCE = 8;
const DEFAULT_CONFIG_SOURCE = 5;
const DYNAMIC_DEFAULT_BROKER_CONFIG = 3;
const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;

interface GroupConfigDefinition {
  readonly name: string;
  readonly type: 'int' | 'string' | 'boolean';
  readonly defaultValue: string;
  /** The broker config whose value is the default (Kafka's GroupConfig synonyms). */
  readonly brokerSynonym?: string;
  readonly min?: number;
  readonly validate?: (value: string) => string | undefined;
  readonly doc: string;
}

const DURATION = /^by_duration:P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/;

export const GROUP_CONFIGS: readonly GroupConfigDefinition[] = [
  {
    name: 'consumer.session.timeout.ms',
    type: 'int',
    defaultValue: '45000',
    brokerSynonym: 'group.consumer.session.timeout.ms',
    min: 1,
    doc: 'The timeout to detect client failures when using the consumer group protocol.',
  },
  {
    name: 'consumer.heartbeat.interval.ms',
    type: 'int',
    defaultValue: '5000',
    brokerSynonym: 'group.consumer.heartbeat.interval.ms',
    min: 1,
    doc: 'The heartbeat interval given to the members of a consumer group.',
  },
  { name: 'consumer.assignment.interval.ms', type: 'int', defaultValue: '1000', min: 0, doc: 'The interval between assignment updates for a consumer group.' },
  {
    name: 'share.session.timeout.ms',
    type: 'int',
    defaultValue: '45000',
    brokerSynonym: 'group.share.session.timeout.ms',
    min: 1,
    doc: 'The timeout to detect client failures when using the share group protocol.',
  },
  {
    name: 'share.heartbeat.interval.ms',
    type: 'int',
    defaultValue: '5000',
    brokerSynonym: 'group.share.heartbeat.interval.ms',
    min: 1,
    doc: 'The heartbeat interval given to the members of a share group.',
  },
  {
    name: 'share.record.lock.duration.ms',
    type: 'int',
    defaultValue: '30000',
    brokerSynonym: 'group.share.record.lock.duration.ms',
    min: 1000,
    doc: 'The record acquisition lock duration in milliseconds for share groups.',
  },
  {
    name: 'share.delivery.count.limit',
    type: 'int',
    defaultValue: '5',
    brokerSynonym: 'group.share.delivery.count.limit',
    min: 2,
    doc: 'The maximum number of delivery attempts for a record delivered to a share group.',
  },
  {
    name: 'share.partition.max.record.locks',
    type: 'int',
    defaultValue: '2000',
    brokerSynonym: 'group.share.partition.max.record.locks',
    min: 100,
    doc: 'Share-group record lock limit per share-partition.',
  },
  {
    name: 'share.auto.offset.reset',
    type: 'string',
    defaultValue: 'latest',
    validate: (value) => (value === 'latest' || value === 'earliest' || DURATION.test(value) ? undefined : 'String must be one of: latest, earliest, by_duration:PnDTnHnMn.nS'),
    doc: 'The strategy to initialize the share-partition start offset: earliest, latest, or by_duration:<ISO-8601 duration>.',
  },
  {
    name: 'share.isolation.level',
    type: 'string',
    defaultValue: 'read_uncommitted',
    validate: (value) => (value === 'read_committed' || value === 'read_uncommitted' ? undefined : 'String must be one of: read_committed, read_uncommitted'),
    doc: 'Controls how to read records written transactionally.',
  },
  { name: 'share.renew.acknowledge.enable', type: 'boolean', defaultValue: 'true', doc: 'Whether the renew acknowledge type is enabled for the share group.' },
  { name: 'share.assignment.interval.ms', type: 'int', defaultValue: '1000', min: 0, doc: 'The interval between assignment updates for a share group.' },
  {
    name: 'streams.session.timeout.ms',
    type: 'int',
    brokerSynonym: 'group.streams.session.timeout.ms',
    defaultValue: '45000',
    min: 1,
    doc: 'The timeout to detect client failures when using the streams group protocol.',
  },
  {
    name: 'streams.heartbeat.interval.ms',
    type: 'int',
    brokerSynonym: 'group.streams.heartbeat.interval.ms',
    defaultValue: '5000',
    min: 1,
    doc: 'The heartbeat interval given to the members.',
  },
  {
    name: 'streams.num.standby.replicas',
    type: 'int',
    brokerSynonym: 'group.streams.num.standby.replicas',
    defaultValue: '0',
    min: 0,
    doc: 'The number of standby replicas for each task.',
  },
  {
    name: 'streams.initial.rebalance.delay.ms',
    type: 'int',
    defaultValue: '3000',
    min: 0,
    doc: 'How long the coordinator waits for more streams clients to join a new group before the first rebalance.',
  },
  { name: 'streams.assignment.interval.ms', type: 'int', defaultValue: '1000', min: 0, doc: 'The interval between assignment updates for a streams group.' },
];

const BY_NAME = new Map(GROUP_CONFIGS.map((definition) => [definition.name, definition]));
/** No group config is a list: APPEND and SUBTRACT are refused, as Kafka refuses them. */
const GROUP_RULES: OverrideRules = { kind: 'group', isKnown: (name) => BY_NAME.has(name), isList: () => false };

function problem(definition: GroupConfigDefinition, value: string): string | undefined {
  if (definition.type === 'int') {
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) return `Invalid value ${value} for configuration ${definition.name}: Not a number of type INT`;
    if (definition.min !== undefined && Number(value) < definition.min)
      return `Invalid value ${value} for configuration ${definition.name}: Value must be at least ${definition.min}`;
  } else if (definition.type === 'boolean') {
    if (!/^(true|false)$/i.test(value.trim())) return `Invalid value ${value} for configuration ${definition.name}: Expected value to be either true or false`;
  }
  const refusal = definition.validate?.(value.trim());
  return refusal === undefined ? undefined : `Invalid value ${value} for configuration ${definition.name}: ${refusal}`;
}

interface StoredGroupConfigs {
  version: 1;
  groups: Record<string, Record<string, string>>;
}

export class GroupConfigs {
  private readonly overrides = new Map<string, Map<string, string>>();
  private readonly path: string;

  constructor(
    dataDir: string,
    private readonly config: BrokerConfig,
    logger: { warn(message: string): void },
  ) {
    this.path = join(dataDir, 'group-configs.json');
    const loaded = readWithBackup(this.path, (text) => parseChecksummedJson(text) as unknown as StoredGroupConfigs, logger);
    for (const [groupId, values] of Object.entries(loaded?.value.groups ?? {})) this.overrides.set(groupId, new Map(Object.entries(values)));
  }

  /** The group's overrides, or undefined when it has none. */
  get(groupId: string): ReadonlyMap<string, string> | undefined {
    return this.overrides.get(groupId);
  }

  /** The groups that have overrides (ListConfigResources). */
  groupIds(): string[] {
    return [...this.overrides.keys()].sort();
  }

  /** An override, else the broker config it stands for, else Kafka's default. */
  intValue(groupId: string, name: string): number {
    const definition = BY_NAME.get(name)!;
    const raw = this.overrides.get(groupId)?.get(name) ?? this.brokerDefault(definition);
    return Number(raw);
  }

  private brokerDefault(definition: GroupConfigDefinition): string {
    if (definition.brokerSynonym === undefined) return definition.defaultValue;
    const value = this.config.values.get(definition.brokerSynonym);
    return value === undefined || value === null ? definition.defaultValue : String(value);
  }

  /** DescribeConfigs: every group config, overrides first among the synonyms. */
  describe(groupId: string): DescribedConfig[] {
    const own = this.overrides.get(groupId);
    return GROUP_CONFIGS.map((definition) => {
      const fallback = this.brokerDefault(definition);
      const synonyms = [
        ...(own?.has(definition.name) ? [{ name: definition.name, value: own.get(definition.name)!, source: GROUP_CONFIG_SOURCE }] : []),
        ...(definition.brokerSynonym !== undefined && fallback !== definition.defaultValue
          ? [{ name: definition.brokerSynonym, value: fallback, source: DYNAMIC_DEFAULT_BROKER_CONFIG }]
          : []),
      ];
      return {
        name: definition.name,
        value: own?.get(definition.name) ?? fallback,
        source: own?.has(definition.name) ? GROUP_CONFIG_SOURCE : DEFAULT_CONFIG_SOURCE,
        readOnly: false,
        isSensitive: false,
        type: definition.type,
        documentation: definition.doc,
        synonyms,
      };
    }).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * IncrementalAlterConfigs on one group: SET and DELETE (no list configs, so APPEND and
   * SUBTRACT are refused as Kafka refuses them on non-list configs). Validated whole first.
   */
  alter(groupId: string, changes: readonly ConfigChange[], validateOnly: boolean): void {
    if (groupId === '') throw new ConfigChangeError(INVALID_REQUEST, 'Group name must not be empty');
    const edited = editOverrides(Object.fromEntries(this.overrides.get(groupId) ?? []), changes, true, GROUP_RULES);
    const next = new Map<string, string>();
    for (const [name, value] of Object.entries(edited)) {
      const refusal = problem(BY_NAME.get(name)!, value);
      if (refusal !== undefined) throw new ConfigChangeError(INVALID_CONFIG, refusal);
      next.set(name, value.trim());
    }
    // Kafka's GroupConfig check: a session timeout must exceed the heartbeat interval.
    for (const kind of ['consumer', 'share', 'streams']) {
      const session = Number(next.get(`${kind}.session.timeout.ms`) ?? this.brokerDefault(BY_NAME.get(`${kind}.session.timeout.ms`)!));
      const heartbeat = Number(next.get(`${kind}.heartbeat.interval.ms`) ?? this.brokerDefault(BY_NAME.get(`${kind}.heartbeat.interval.ms`)!));
      if (session <= heartbeat) {
        throw new ConfigChangeError(INVALID_CONFIG, `${kind}.session.timeout.ms (${session}) must be greater than ${kind}.heartbeat.interval.ms (${heartbeat})`);
      }
    }
    if (validateOnly) return;
    if (next.size === 0) this.overrides.delete(groupId);
    else this.overrides.set(groupId, next);
    const stored: StoredGroupConfigs = {
      version: 1,
      groups: Object.fromEntries([...this.overrides].map(([id, values]) => [id, Object.fromEntries(values)])),
    };
    writeFileWithBackup(this.path, checksummedJson(stored as unknown as Record<string, unknown>));
  }
}
