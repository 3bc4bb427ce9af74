// Records read from a segment, ready for the socket: sent straight from the page cache with
// sendfile(2) (sendTo), or a view of the memory-mapped segment file kept mapped until the
// socket has sent it, or, for a small chunk, copied into the answer's own buffer (copyTo);
// neither of the first and last makes a Buffer over the mapping.

import { type ReadSlice, sendFileNow } from './native.js';

export class LogRecords {
  private view: Buffer | undefined;
  private size: number;
  private last: bigint;

  /** `slice` comes from an 'mmap' read; its buffer is not touched until needed. */
  constructor(private readonly slice: ReadSlice) {
    this.size = slice.length;
    this.last = slice.lastOffset;
  }

  /** The bytes as a Buffer over the mapping (made on first use). */
  get buffer(): Buffer {
    if (this.view === undefined) {
      const whole = this.slice.buffer;
      if (whole === undefined || whole.length < this.size) throw new Error('LogRecords: the slice was released before its bytes were read');
      this.view = whole.subarray(0, this.size);
    }
    return this.view;
  }

  get byteLength(): number {
    return this.size;
  }

  get baseOffset(): bigint {
    return this.slice.baseOffset;
  }

  get lastOffset(): bigint {
    return this.last;
  }

  /**
   * Sends the bytes to a plain TCP socket's descriptor with sendfile(2), as many as it takes
   * now; returns how many went out (see sendFileNow).
   */
  sendTo(socketFd: number): number {
    return sendFileNow(socketFd, this.slice, 0, this.size);
  }

  /** Copies the bytes into `target` at `offset` (small chunks of an answer: see Writer.records). */
  copyTo(target: Uint8Array, offset: number): void {
    this.slice.copyTo(target, offset, this.size);
  }

  /**
   * Keeps only the whole batches that end before `limit` (read_committed stops at the last
   * stable offset). The view shrinks; nothing is copied. Returns false when nothing is left.
   */
  truncateBefore(limit: bigint): boolean {
    if (this.last < limit) return true;
    const buffer = this.buffer;
    let position = 0;
    let last = -1n;
    while (position + 27 <= buffer.length) {
      const batchLast = buffer.readBigInt64BE(position) + BigInt(buffer.readInt32BE(position + 23));
      if (batchLast >= limit) break;
      last = batchLast;
      position += 12 + buffer.readInt32BE(position + 8);
    }
    this.view = buffer.subarray(0, position);
    this.size = position;
    this.last = last;
    return position > 0;
  }

  release(): void {
    this.slice.release();
  }
}
