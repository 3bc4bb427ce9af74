// Records read from a segment, ready for the socket: a view of the memory-mapped segment
// file (no copy through the JS heap), kept mapped until the socket has sent it.

import { type ReadSlice } from './native.js';

export class LogRecords {
  private view: Buffer;
  private last: bigint;

  constructor(private readonly slice: ReadSlice) {
    if (slice.buffer === undefined) throw new Error('LogRecords needs an mmap slice');
    this.view = slice.buffer.subarray(0, slice.length);
    this.last = slice.lastOffset;
  }

  get buffer(): Buffer {
    return this.view;
  }

  get byteLength(): number {
    return this.view.length;
  }

  get baseOffset(): bigint {
    return this.slice.baseOffset;
  }

  get lastOffset(): bigint {
    return this.last;
  }

  /**
   * Keeps only the whole batches that end before `limit` (read_committed stops at the last
   * stable offset). The view shrinks; nothing is copied. Returns false when nothing is left.
   */
  truncateBefore(limit: bigint): boolean {
    if (this.last < limit) return true;
    const buffer = this.view;
    let position = 0;
    let last = -1n;
    while (position + 27 <= buffer.length) {
      const batchLast = buffer.readBigInt64BE(position) + BigInt(buffer.readInt32BE(position + 23));
      if (batchLast >= limit) break;
      last = batchLast;
      position += 12 + buffer.readInt32BE(position + 8);
    }
    this.view = buffer.subarray(0, position);
    this.last = last;
    return position > 0;
  }

  release(): void {
    this.slice.release();
  }
}
