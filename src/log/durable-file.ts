// Atomic small-file writes: write a temp file, fsync it, rename over the target, fsync the
// directory. A crash leaves either the old file or the new one, never half of either.
// Metadata files also keep their previous generation and a checksum.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32c } from './native.js';

/** Writes `<path>.tmp` and fsyncs it; the caller renames it into place. */
function writeTemp(path: string, contents: string | Buffer): string {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w', 0o644);
  try {
    const data = typeof contents === 'string' ? Buffer.from(contents) : contents;
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

/** Makes the renames (and removals) in the file's directory durable. */
export function fsyncDirectory(path: string): void {
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function writeFileDurably(path: string, contents: string | Buffer): void {
  renameSync(writeTemp(path, contents), path);
  fsyncDirectory(path);
}

/** Where the previous generation of a metadata file is kept. */
export const BACKUP_SUFFIX = '.bak';

/**
 * writeFileDurably that keeps the previous generation as `<path>.bak`: the old file is
 * renamed aside only once the new one is on disk, so a crash leaves the new file, or the
 * old one as the backup, and a damaged file always has a readable predecessor.
 */
export function writeFileWithBackup(path: string, contents: string | Buffer): void {
  const temp = writeTemp(path, contents);
  if (existsSync(path)) renameSync(path, path + BACKUP_SUFFIX);
  renameSync(temp, path);
  fsyncDirectory(path);
}

/** A JSON document with a CRC-32C of its canonical form in a `checksum` field (written last). */
export function checksummedJson(document: Record<string, unknown>): string {
  const checksum = crc32c(Buffer.from(JSON.stringify(document)))
    .toString(16)
    .padStart(8, '0');
  return JSON.stringify({ ...document, checksum: `crc32c:${checksum}` }, null, 2) + '\n';
}

/** Parses a checksummedJson file; throws naming the problem. A file without a checksum (older Spate) is accepted. */
export function parseChecksummedJson(text: string): Record<string, unknown> {
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  const { checksum, ...document } = parsed as Record<string, unknown>;
  if (checksum === undefined) return document;
  const computed = `crc32c:${crc32c(Buffer.from(JSON.stringify(document)))
    .toString(16)
    .padStart(8, '0')}`;
  if (checksum !== computed) throw new Error(`checksum mismatch: stored ${String(checksum)}, computed ${computed}`);
  return document;
}

export interface LoadedFile<T> {
  readonly value: T;
  /** The file it came from: the file itself or its backup. */
  readonly path: string;
}

/**
 * Reads `path`, falling back to `<path>.bak` (with a WARN) when it is missing or `parse`
 * refuses it. Undefined when neither exists; throws, naming both files and what the
 * operator can do, when both exist but neither parses.
 */
export function readWithBackup<T>(path: string, parse: (text: string) => T, logger: { warn(message: string): void }): LoadedFile<T> | undefined {
  const problems: string[] = [];
  // A .tmp is complete only if it parses (checksummed): a crash between the renames leaves it.
  for (const candidate of [path, `${path}.tmp`, path + BACKUP_SUFFIX]) {
    if (!existsSync(candidate)) continue;
    try {
      const value = parse(readFileSync(candidate, 'utf8'));
      if (problems.length > 0 || candidate !== path) {
        logger.warn(
          `${path} ${problems.length > 0 ? `is damaged (${problems[0]})` : 'is missing'}; using the previous generation ${candidate}: changes made after it was written are lost`,
        );
      }
      return { value, path: candidate };
    } catch (error) {
      problems.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  if (problems.length === 0) return undefined;
  throw new Error(
    `Cannot read ${path}: ${problems.join('; ')}. Restore the file from a backup, or move it and ${path}${BACKUP_SUFFIX} aside to rebuild it (see README, Storage and durability)`,
  );
}
