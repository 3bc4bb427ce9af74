// Assembles size-prefixed Kafka frames from socket chunks. A frame that arrives inside one
// chunk is handed out as a view of it (no copy); a frame split across chunks is copied
// exactly once, into a buffer of its final size. Nothing is re-concatenated per chunk, so
// the cost stays linear however the bytes are split.

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being assembled, or -1 while its 4-byte prefix is incomplete. */
  private expected = -1;

  constructor(private readonly maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk and returns the frames it completed (without their size prefix). */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        const size = this.readSize();
        if (size < 0 || size > this.maxFrameBytes) {
          throw new FrameTooLargeError(`Frame size ${size} is outside 0..${this.maxFrameBytes} (socket.request.max.bytes)`);
        }
        this.consume(4);
        this.expected = size;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  private readSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const header = Buffer.allocUnsafe(4);
    let filled = 0;
    for (const chunk of this.chunks) {
      const n = Math.min(4 - filled, chunk.length);
      chunk.copy(header, filled, 0, n);
      filled += n;
      if (filled === 4) break;
    }
    return header.readInt32BE(0);
  }

  private consume(bytes: number): void {
    this.take(bytes);
  }

  private take(bytes: number): Buffer {
    this.buffered -= bytes;
    const first = this.chunks[0];
    if (bytes === 0) return Buffer.alloc(0);
    if (first!.length >= bytes) {
      const view = first!.subarray(0, bytes);
      if (first!.length === bytes) this.chunks.shift();
      else this.chunks[0] = first!.subarray(bytes);
      return view;
    }
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const n = Math.min(bytes - filled, chunk.length);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    return out;
  }
}
