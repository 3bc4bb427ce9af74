// partition.metadata: the topic ID a partition directory belongs to, in Kafka's format
// ("version: 0" and "topic_id: <base64url UUID>"). A directory is only ever opened for
// the topic whose ID it carries, so a new topic of an old name never adopts old data.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PARTITION_METADATA_FILE = 'partition.metadata';

export type PartitionMetadata = { readonly kind: 'ok'; readonly topicId: Buffer } | { readonly kind: 'missing' } | { readonly kind: 'damaged'; readonly problem: string };

export function readPartitionMetadata(dir: string): PartitionMetadata {
  const path = join(dir, PARTITION_METADATA_FILE);
  if (!existsSync(path)) return { kind: 'missing' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { kind: 'damaged', problem: (error as Error).message };
  }
  return parsePartitionMetadata(text);
}

/** The file's text as read (at start the native log reads it with the rest of the directory). */
export function parsePartitionMetadata(text: string): PartitionMetadata {
  const version = /^version:\s*(\d+)\s*$/m.exec(text)?.[1];
  const encoded = /^topic_id:\s*([A-Za-z0-9_-]{22})\s*$/m.exec(text)?.[1];
  if (version !== '0') return { kind: 'damaged', problem: `version ${version ?? 'missing'}` };
  if (encoded === undefined) return { kind: 'damaged', problem: 'no topic_id' };
  return { kind: 'ok', topicId: Buffer.from(encoded, 'base64url') };
}

/**
 * Written without fsync: creating 10,000 partitions would otherwise cost 20,000 syncs, and
 * a directory that lost the file in a crash is treated as its topic's (and gets it again).
 */
export function writePartitionMetadata(dir: string, topicId: Buffer): void {
  const path = join(dir, PARTITION_METADATA_FILE);
  writeFileSync(`${path}.tmp`, `version: 0\ntopic_id: ${topicId.toString('base64url')}\n`);
  renameSync(`${path}.tmp`, path);
}
