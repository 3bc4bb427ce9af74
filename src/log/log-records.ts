// Records read from a segment, ready for the socket: a view of the memory-mapped segment
// file (no copy through the JS heap), kept mapped until the socket has sent it.

import { type ReadSlice } from './native.js';

export class LogRecords {
  readonly byteLength: number;
  readonly buffer: Buffer;

  constructor(private readonly slice: ReadSlice) {
    if (slice.buffer === undefined) throw new Error('LogRecords needs an mmap slice');
    this.buffer = slice.buffer;
    this.byteLength = slice.length;
  }

  get baseOffset(): bigint {
    return this.slice.baseOffset;
  }

  get lastOffset(): bigint {
    return this.slice.lastOffset;
  }

  release(): void {
    this.slice.release();
  }
}
