// Atomic small-file writes: write a temp file, fsync it, rename over the target, fsync the
// directory. A crash leaves either the old file or the new one, never half of either.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileDurably(path: string, contents: string | Buffer): void {
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
  renameSync(temp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
