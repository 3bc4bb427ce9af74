// Producer ID allocation. IDs must never repeat across restarts, so they are reserved in
// blocks (like Kafka's AllocateProducerIds) and the end of the reserved block is written
// durably before any ID from it is handed out.
//
// In a cluster the blocks come from the metadata store. The etcd store answers a round trip
// later, so the next block is asked for while half of the current one is left; if IDs run
// out before it arrives, InitProducerId answers COORDINATOR_LOAD_IN_PROGRESS (retriable), as
// Kafka's RPCProducerIdManager does while its AllocateProducerIds request is in flight.

import { join } from 'node:path';
import { readWithBackup, writeFileWithBackup } from '../log/durable-file.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

const BLOCK_SIZE = 1000n;

export class ProducerIdManager {
  private next: bigint;
  private blockEnd: bigint;
  private readonly path: string;
  /** A block asked of an asynchronous store: in flight, then its first ID until taken. */
  private nextBlock: Promise<void> | undefined;
  private nextBlockStart: bigint | undefined;

  /** `allocate` reserves a block in the cluster's metadata store instead of the local file. */
  constructor(
    dataDir: string,
    private readonly logger: { warn(message: string): void } = { warn() {} },
    private readonly allocate?: (count: bigint) => bigint | Promise<bigint>,
  ) {
    this.path = join(dataDir, 'producer-id-block');
    // A damaged file falls back to the previous block's end (with a WARN); both damaged
    // refuses to start, since handing out an ID twice would break idempotence.
    const loaded = readWithBackup(
      this.path,
      (text) => {
        if (!/^\d+\s*$/.test(text)) throw new Error('not a number');
        return BigInt(text.trim());
      },
      logger,
    );
    let reserved = loaded?.value ?? 0n;
    // The backup is one block behind: skip a block so no ID handed out before is reused.
    if (loaded !== undefined && loaded.path !== this.path) reserved += BLOCK_SIZE;
    this.next = reserved;
    this.blockEnd = reserved;
  }

  nextId(): bigint {
    if (this.next >= this.blockEnd && this.allocate !== undefined) {
      let start = this.nextBlockStart;
      this.nextBlockStart = undefined;
      if (start === undefined) {
        const allocated = this.nextBlock === undefined ? this.allocate(BLOCK_SIZE) : undefined;
        if (allocated !== undefined && !(allocated instanceof Promise)) start = allocated;
        else {
          if (allocated instanceof Promise) this.prefetch(allocated);
          throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'A block of producer IDs is being reserved in the cluster metadata; retry');
        }
      }
      this.next = start;
      this.blockEnd = this.next + BLOCK_SIZE;
      // Kept too, so that a store that forgets (the in-process one) can start past it.
      writeFileWithBackup(this.path, `${this.blockEnd}\n`);
    } else if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + BLOCK_SIZE;
      writeFileWithBackup(this.path, `${this.blockEnd}\n`);
    }
    const id = this.next++;
    if (this.allocate !== undefined && this.nextBlock === undefined && this.nextBlockStart === undefined && this.blockEnd - this.next < BLOCK_SIZE / 2n) {
      const allocated = this.allocate(BLOCK_SIZE);
      // A synchronous store is simply asked again when the block runs out.
      if (allocated instanceof Promise) this.prefetch(allocated);
    }
    return id;
  }

  /** Asks an asynchronous store (etcd) for a block ahead of need, at start, so that the first InitProducerId finds one. */
  reserveAhead(): void {
    if (this.allocate === undefined || this.nextBlock !== undefined || this.nextBlockStart !== undefined || this.next < this.blockEnd) return;
    const allocated = this.allocate(BLOCK_SIZE);
    if (allocated instanceof Promise) this.prefetch(allocated);
    else this.nextBlockStart = allocated;
  }

  private prefetch(allocated: Promise<bigint>): void {
    this.nextBlock = allocated.then(
      (start) => {
        this.nextBlockStart = start;
        this.nextBlock = undefined;
      },
      (error: unknown) => {
        this.nextBlock = undefined;
        this.logger.warn(`Reserving producer IDs failed: ${(error as Error).message}`);
      },
    );
  }
}
