// The broker's resolved configuration: Kafka property names in, typed values out.
// Sources, lowest precedence first: defaults, a properties file, explicit overrides
// (library options or CLI flags). Unknown keys are reported as warnings; invalid values
// refuse to start with a message naming the key.

import { readFileSync } from 'node:fs';
import { brokerConfigByName, ConfigError, parseConfigValue, type ConfigValue } from './definitions.js';
import { emptyDynamicConfigs, type DynamicBrokerConfigs } from './topic-config.js';
import { parseProperties } from './properties.js';

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerConfig {
  readonly nodeId: number;
  readonly listeners: readonly Listener[];
  readonly advertisedListeners: readonly Listener[];
  readonly dataDir: string;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly autoCreateTopics: boolean;
  readonly messageMaxBytes: number;
  readonly socketRequestMaxBytes: number;
  readonly connectionsMaxIdleMs: number;
  readonly queuedMaxRequests: number;
  readonly fetchMaxBytes: number;
  readonly fetchSessionCacheSlots: number;
  readonly producerIdExpirationMs: number;
  readonly clusterId: string | null;
  /** Every broker-level property after resolution, by Kafka name (for topic defaults). */
  readonly values: ReadonlyMap<string, ConfigValue>;
  /** The properties set explicitly (file or overrides), as opposed to defaults. */
  readonly explicit: ReadonlySet<string>;
  /**
   * The dynamic broker configs set with AlterConfigs (loaded and kept by the LogManager);
   * they take precedence over `values` for topic defaults and DescribeConfigs.
   */
  readonly dynamic: DynamicBrokerConfigs;
  /** `listener.name.<listener>.<key>` overrides, by full key (see src/security/security-config.ts). */
  readonly listenerOverrides: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
}

export interface BrokerConfigSources {
  /** Path of a Kafka-style properties file. */
  readonly configFile?: string;
  /** Properties that override the file, by Kafka name. */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
}

export function parseListener(uri: string): Listener {
  const match = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(uri.trim());
  if (match === null) throw new ConfigError('listeners', uri, 'expected NAME://host:port');
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError('listeners', uri, 'port out of range');
  let host = match[2]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { name: match[1]!.toUpperCase(), host, port };
}

export function loadBrokerConfig(sources: BrokerConfigSources = {}): BrokerConfig {
  const raw = new Map<string, string>();
  if (sources.configFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.configFile, 'utf8');
    } catch (error) {
      throw new Error(`Cannot read config file ${sources.configFile}: ${(error as Error).message}`);
    }
    for (const [key, value] of parseProperties(text)) raw.set(key, value);
  }
  for (const [key, value] of Object.entries(sources.overrides ?? {})) raw.set(key, String(value));

  const warnings: string[] = [];
  const explicit = new Set<string>();
  const values = new Map<string, ConfigValue>();
  for (const [name, definition] of brokerConfigByName) values.set(name, definition.defaultValue);
  const listenerOverrides = new Map<string, string>();
  for (const [key, text] of raw) {
    if (key.startsWith('listener.name.')) {
      listenerOverrides.set(key, text);
      continue;
    }
    const definition = brokerConfigByName.get(key);
    if (definition === undefined) {
      warnings.push(`Unknown configuration '${key}' ignored`);
      continue;
    }
    values.set(key, parseConfigValue(definition, text));
    explicit.add(key);
  }

  const listeners = (values.get('listeners') as string[]).map(parseListener);
  if (listeners.length === 0) throw new ConfigError('listeners', '', 'at least one listener is required');
  const advertised = values.get('advertised.listeners') as string[] | null;
  const advertisedListeners = advertised === null ? listeners : advertised.map(parseListener);
  const logDirs = values.get('log.dirs') as string[] | null;
  const dataDir = logDirs !== null && logDirs.length > 0 ? logDirs[0]! : (values.get('log.dir') as string);
  if (logDirs !== null && logDirs.length > 1) warnings.push('Only the first of log.dirs is used');
  const brokerId = values.get('broker.id') as number;
  const nodeId = raw.has('node.id') || brokerId < 0 ? (values.get('node.id') as number) : brokerId;

  return {
    nodeId,
    listeners,
    advertisedListeners,
    dataDir,
    numPartitions: values.get('num.partitions') as number,
    defaultReplicationFactor: values.get('default.replication.factor') as number,
    autoCreateTopics: values.get('auto.create.topics.enable') as boolean,
    messageMaxBytes: values.get('message.max.bytes') as number,
    socketRequestMaxBytes: values.get('socket.request.max.bytes') as number,
    connectionsMaxIdleMs: Number(values.get('connections.max.idle.ms') as bigint),
    queuedMaxRequests: values.get('queued.max.requests') as number,
    fetchMaxBytes: values.get('fetch.max.bytes') as number,
    fetchSessionCacheSlots: values.get('max.incremental.fetch.session.cache.slots') as number,
    producerIdExpirationMs: values.get('producer.id.expiration.ms') as number,
    clusterId: values.get('cluster.id') as string | null,
    values,
    explicit,
    dynamic: emptyDynamicConfigs(),
    listenerOverrides,
    warnings,
  };
}
