// Assembles size-prefixed Kafka frames from socket bytes, two ways.
//
// push(chunk): for sockets that hand over chunks of their own (TLS). A frame that arrives
// inside one chunk is handed out as a view of it (no copy); a frame split across chunks is
// copied exactly once, into a buffer of its final size. Per request it allocates the frame's
// view and nothing else (bench/micro/hot-path.mjs measures it).
//
// readBuffer() / received(n): for plain TCP sockets that read into buffers the reader hands
// out (Node's onread.buffer, see connection.ts). Small frames land back to back in a slab
// (8-64 KiB) and are handed out as views of it; once the size prefix of a frame that does not fit
// the slab has arrived, the reader allocates the frame's own buffer and the kernel reads the
// rest of it straight there. A 1 MiB Produce request is then read in a few large reads with
// at most one slab's worth copied, instead of sixteen 64 KiB reads copied into place.

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

/** What push() returns when a chunk completed no frame; never to be mutated. */
const NO_FRAMES: Buffer[] = [];
Object.freeze(NO_FRAMES);

/**
 * The slab small frames are read into, back to back: 8 KiB at first, doubled up to 64 KiB
 * each time a read fills all the room it was given (the client has more to send). An idle
 * connection so holds 8 KiB (a thousand connections that had each sent one request grew
 * the broker by 25 MiB with 64 KiB slabs, 15 MiB before them).
 */
const FIRST_SLAB_BYTES = 8 * 1024;
const MAX_SLAB_BYTES = 64 * 1024;
/** A slab with less room than this left is replaced before the next read. */
const MIN_READ_BYTES = 2 * 1024;
/** A frame at least this large that does not fit the slab is read into its own buffer. */
const OWN_BUFFER_BYTES = 16 * 1024;

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private buffered = 0;
  /** Size of the frame being assembled, or -1 while its 4-byte prefix is incomplete. */
  private expected = -1;

  // received() state: the slab, its unconsumed bytes [slabStart, slabEnd), and a frame
  // being read straight into its own buffer.
  private slab: Buffer | undefined;
  private slabStart = 0;
  private slabEnd = 0;
  private frame: Buffer | undefined;
  private frameFilled = 0;
  private slabBytes = FIRST_SLAB_BYTES;
  /** The room the last readBuffer() offered (a read that fills it makes the next slab bigger). */
  private offered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes of an unfinished frame (size prefix included) held so far. */
  get bufferedBytes(): number {
    if (this.frame !== undefined) return 4 + this.frameFilled;
    return this.buffered + this.slabEnd - this.slabStart;
  }

  /** Where the next socket read should put its bytes (then call received()). */
  readBuffer(): Buffer {
    if (this.frame !== undefined) return this.frame.subarray(this.frameFilled);
    if (this.slab === undefined || this.slab.length - this.slabEnd < MIN_READ_BYTES) this.newSlab(0);
    this.offered = this.slab!.length - this.slabEnd;
    return this.slab!.subarray(this.slabEnd);
  }

  /** The last readBuffer() got `bytes` bytes; returns the frames they completed (without their size prefix). */
  received(bytes: number): Buffer[] {
    const frame = this.frame;
    if (frame !== undefined) {
      this.frameFilled += bytes;
      if (this.frameFilled < frame.length) return NO_FRAMES;
      this.frame = undefined;
      return [frame];
    }
    if (bytes === this.offered && this.slabBytes < MAX_SLAB_BYTES) this.slabBytes *= 2;
    this.slabEnd += bytes;
    const slab = this.slab!;
    let frames = NO_FRAMES;
    let start = this.slabStart;
    while (this.slabEnd - start >= 4) {
      const size = slab.readInt32BE(start);
      if (size < 0 || size > this.maxFrameBytes) {
        throw new FrameTooLargeError(`Frame size ${size} is outside 0..${this.maxFrameBytes} (socket.request.max.bytes)`);
      }
      const end = start + 4 + size;
      if (end <= this.slabEnd) {
        if (frames === NO_FRAMES) frames = [];
        frames.push(slab.subarray(start + 4, end));
        start = end;
        continue;
      }
      if (end > slab.length) {
        // The frame does not fit what is left of the slab: a large one gets a buffer of its
        // own (the rest is read straight into it), a small one moves to a new slab.
        this.slabStart = start;
        if (size >= OWN_BUFFER_BYTES) {
          const own = Buffer.allocUnsafeSlow(size);
          this.frameFilled = slab.copy(own, 0, start + 4, this.slabEnd);
          this.frame = own;
          start = this.slabEnd;
        } else {
          this.newSlab(size + 4);
          return frames;
        }
      }
      break;
    }
    this.slabStart = start;
    return frames;
  }

  /** Starts a new slab (of at least `atLeast` bytes), moving the unconsumed bytes over. */
  private newSlab(atLeast: number): void {
    const carry = this.slabEnd - this.slabStart;
    const next = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, atLeast + MIN_READ_BYTES));
    if (carry > 0) this.slab!.copy(next, 0, this.slabStart, this.slabEnd);
    this.slab = next;
    this.slabStart = 0;
    this.slabEnd = carry;
  }

  /** Adds a chunk and returns the frames it completed (without their size prefix). */
  push(chunk: Buffer): Buffer[] {
    let frames = NO_FRAMES;
    if (chunk.length === 0) return frames;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        const size = this.readSize();
        if (size < 0 || size > this.maxFrameBytes) {
          throw new FrameTooLargeError(`Frame size ${size} is outside 0..${this.maxFrameBytes} (socket.request.max.bytes)`);
        }
        this.skip(4);
        this.expected = size;
      }
      if (this.buffered < this.expected) break;
      if (frames === NO_FRAMES) frames = [];
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  private readSize(): number {
    const first = this.chunks[0]!;
    const head = this.head;
    if (first.length - head >= 4) return first.readInt32BE(head);
    let size = 0;
    let filled = 0;
    let at = head;
    for (const chunk of this.chunks) {
      for (; at < chunk.length && filled < 4; at++, filled++) size = (size << 8) | chunk[at]!;
      if (filled === 4) break;
      at = 0;
    }
    return size;
  }

  /** Drops `bytes` from the front (they are buffered). */
  private skip(bytes: number): void {
    this.buffered -= bytes;
    let left = bytes;
    while (left > 0) {
      const first = this.chunks[0]!;
      const available = first.length - this.head;
      if (left < available) {
        this.head += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** The next `bytes` bytes (they are buffered): a view when they lie in one chunk. */
  private take(bytes: number): Buffer {
    if (bytes === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    const head = this.head;
    if (first.length - head >= bytes) {
      this.buffered -= bytes;
      const view = first.subarray(head, head + bytes);
      if (first.length - head === bytes) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head = head + bytes;
      }
      return view;
    }
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const n = Math.min(bytes - filled, chunk.length - this.head);
      chunk.copy(out, filled, this.head, this.head + n);
      filled += n;
      this.skip(n);
    }
    return out;
  }
}
