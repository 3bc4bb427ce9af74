// Cluster feature flags (KIP-584): which levels this broker supports and which levels are
// finalised. ApiVersions v3+ advertises both; UpdateFeatures (kafka-features upgrade and
// downgrade) changes the finalised levels, durably (`<data>/features.json`), with an epoch
// that grows with every change. A finalised level changes behaviour where Kafka's does:
// group.version 0 turns the KIP-848 consumer protocol off, share.version 0 share groups,
// streams.version 0 streams groups (KIP-1071), and
// transaction.version 2 (the default) lets clients use transactions v2 (KIP-890 part 2: an
// epoch bump at every transaction end, partitions added by Produce and TxnOffsetCommit).

import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { checksummedJson, parseChecksummedJson, readWithBackup, writeFileWithBackup } from '../log/durable-file.js';

export interface SupportedFeature {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The level a new cluster finalises. */
  readonly defaultLevel: number;
  /** False where Kafka refuses every downgrade (metadata.version). */
  readonly downgradable: boolean;
}

/** metadata.version 7 is 3.3-IV3, the oldest Kafka 4.x accepts; 30 is 4.3-IV0, whose APIs Spate serves. */
export const SUPPORTED_FEATURES: readonly SupportedFeature[] = [
  { name: 'metadata.version', minVersion: 7, maxVersion: 30, defaultLevel: 30, downgradable: false },
  { name: 'group.version', minVersion: 0, maxVersion: 1, defaultLevel: 1, downgradable: true },
  { name: 'transaction.version', minVersion: 0, maxVersion: 2, defaultLevel: 2, downgradable: true },
  { name: 'share.version', minVersion: 0, maxVersion: 1, defaultLevel: 1, downgradable: true },
  { name: 'streams.version', minVersion: 0, maxVersion: 1, defaultLevel: 1, downgradable: true },
];

/** UpdateFeatures v1+ upgrade types. */
export const UpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

export interface FeatureUpdate {
  readonly feature: string;
  /** 0 (or less) removes the finalised feature. */
  readonly maxVersionLevel: number;
  readonly upgradeType: number;
}

interface StoredFeatures {
  version: 1;
  epoch: number;
  finalized: Record<string, number>;
}

const FILE = 'features.json';

export class Features {
  private finalizedLevels = new Map<string, number>();
  private currentEpoch = 0;

  constructor(
    private readonly dataDir: string,
    logger: { warn(message: string): void },
  ) {
    // Checksummed, with the previous generation kept aside, like the other metadata files.
    const loaded = readWithBackup(join(dataDir, FILE), (text) => parseChecksummedJson(text) as unknown as StoredFeatures, logger);
    if (loaded !== undefined) {
      const stored = loaded.value;
      this.currentEpoch = stored.epoch;
      for (const [name, level] of Object.entries(stored.finalized)) this.finalizedLevels.set(name, level);
    } else {
      for (const feature of SUPPORTED_FEATURES) if (feature.defaultLevel > 0) this.finalizedLevels.set(feature.name, feature.defaultLevel);
    }
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** The finalised level of a feature, 0 when it is not finalised. */
  level(name: string): number {
    return this.finalizedLevels.get(name) ?? 0;
  }

  finalized(): Array<{ name: string; level: number }> {
    return [...this.finalizedLevels].map(([name, level]) => ({ name, level })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Validates every update and applies them together or not at all, as Kafka's controller
   * does; throws KafkaError (INVALID_UPDATE_VERSION) naming the first refused update.
   */
  update(updates: readonly FeatureUpdate[], validateOnly: boolean): void {
    const next = new Map(this.finalizedLevels);
    const seen = new Set<string>();
    for (const update of updates) {
      if (seen.has(update.feature)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Feature ${update.feature} appears more than once in the request`);
      seen.add(update.feature);
      const supported = SUPPORTED_FEATURES.find((feature) => feature.name === update.feature);
      const current = next.get(update.feature) ?? 0;
      const target = Math.max(0, update.maxVersionLevel);
      const refuse = (why: string) => {
        throw new KafkaError(ErrorCode.INVALID_UPDATE_VERSION, `Invalid update version ${target} for feature ${update.feature}. ${why}`);
      };
      if (supported === undefined) refuse('The broker does not support this feature.');
      if (target !== 0 && (target < supported!.minVersion || target > supported!.maxVersion)) {
        refuse(`The broker supports versions ${supported!.minVersion}-${supported!.maxVersion}.`);
      }
      if (target < current) {
        if (update.upgradeType === UpgradeType.UPGRADE) refuse('Can not downgrade without setting the upgrade type to safe or unsafe downgrade.');
        if (!supported!.downgradable) refuse(`${update.feature} can not be downgraded.`);
      } else if (target > current && update.upgradeType !== UpgradeType.UPGRADE) {
        refuse('Can not upgrade with a downgrade type.');
      }
      if (target === 0) next.delete(update.feature);
      else next.set(update.feature, target);
    }
    if (validateOnly) return;
    this.finalizedLevels = next;
    this.currentEpoch++;
    const stored: StoredFeatures = { version: 1, epoch: this.currentEpoch, finalized: Object.fromEntries(next) };
    writeFileWithBackup(join(this.dataDir, FILE), checksummedJson(stored as unknown as Record<string, unknown>));
  }
}
