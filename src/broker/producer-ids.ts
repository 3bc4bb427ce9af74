// Producer ID allocation. IDs must never repeat across restarts, so they are reserved in
// blocks (like Kafka's AllocateProducerIds) and the end of the reserved block is written
// durably before any ID from it is handed out.

import { join } from 'node:path';
import { readWithBackup, writeFileWithBackup } from '../log/durable-file.js';

const BLOCK_SIZE = 1000n;

export class ProducerIdManager {
  private next: bigint;
  private blockEnd: bigint;
  private readonly path: string;

  /** `allocate` reserves a block in the cluster's metadata store instead of the local file. */
  constructor(
    dataDir: string,
    logger: { warn(message: string): void } = { warn() {} },
    private readonly allocate?: (count: bigint) => bigint,
  ) {
    this.path = join(dataDir, 'producer-id-block');
    // A damaged file falls back to the previous block's end (with a WARN); both damaged
    // refuses to start, since handing out an ID twice would break idempotence.
    const loaded = readWithBackup(this.path, (text) => {
      if (!/^\d+\s*$/.test(text)) throw new Error('not a number');
      return BigInt(text.trim());
    }, logger);
    let reserved = loaded?.value ?? 0n;
    // The backup is one block behind: skip a block so no ID handed out before is reused.
    if (loaded !== undefined && loaded.path !== this.path) reserved += BLOCK_SIZE;
    this.next = reserved;
    this.blockEnd = reserved;
  }

  nextId(): bigint {
    if (this.next >= this.blockEnd && this.allocate !== undefined) {
      this.next = this.allocate(BLOCK_SIZE);
      this.blockEnd = this.next + BLOCK_SIZE;
      // Kept too, so that a store that forgets (the in-process one) can start past it.
      writeFileWithBackup(this.path, `${this.blockEnd}\n`);
    } else if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + BLOCK_SIZE;
      writeFileWithBackup(this.path, `${this.blockEnd}\n`);
    }
    return this.next++;
  }
}
