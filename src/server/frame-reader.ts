// Assembles size-prefixed Kafka frames from socket chunks. A frame that arrives inside one
// chunk is handed out as a view of it (no copy); a frame split across chunks is copied
// exactly once, into a buffer of its final size. Nothing is re-concatenated per chunk, so
// the cost stays linear however the bytes are split.
//
// Per request it allocates the frame's view and nothing else: consumed bytes of the first
// chunk are skipped with an offset rather than re-sliced, and a chunk that completes no
// frame returns a shared empty list (bench/micro/hot-path.mjs measures both).

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

/** What push() returns when a chunk completed no frame; never to be mutated. */
const NO_FRAMES: Buffer[] = [];
Object.freeze(NO_FRAMES);

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private buffered = 0;
  /** Size of the frame being assembled, or -1 while its 4-byte prefix is incomplete. */
  private expected = -1;

  constructor(private readonly maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buffered;
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
