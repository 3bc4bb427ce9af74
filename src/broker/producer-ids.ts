// Producer ID allocation. IDs must never repeat across restarts, so they are reserved in
// blocks (like Kafka's AllocateProducerIds) and the end of the reserved block is written
// durably before any ID from it is handed out.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../log/durable-file.js';

const BLOCK_SIZE = 1000n;

export class ProducerIdManager {
  private next: bigint;
  private blockEnd: bigint;
  private readonly path: string;

  /** `allocate` reserves a block in the cluster's metadata store instead of the local file. */
  constructor(
    dataDir: string,
    private readonly allocate?: (count: bigint) => bigint,
  ) {
    this.path = join(dataDir, 'producer-id-block');
    const reserved = existsSync(this.path) ? BigInt(readFileSync(this.path, 'utf8').trim() || '0') : 0n;
    this.next = reserved;
    this.blockEnd = reserved;
  }

  nextId(): bigint {
    if (this.next >= this.blockEnd && this.allocate !== undefined) {
      this.next = this.allocate(BLOCK_SIZE);
      this.blockEnd = this.next + BLOCK_SIZE;
      // Kept too, so that a store that forgets (the in-process one) can start past it.
      writeFileDurably(this.path, `${this.blockEnd}\n`);
    } else if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + BLOCK_SIZE;
      writeFileDurably(this.path, `${this.blockEnd}\n`);
    }
    return this.next++;
  }
}
