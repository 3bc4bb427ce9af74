// queued.max.request.bytes: the request bytes all connections together may hold (frames
// being read and requests not yet answered). Over the limit, a connection stops reading
// (its socket is paused, as Kafka mutes the channel) until memory is given back; without
// this, eight 100 MiB frames from eight clients would hold 800 MiB. -1 is unlimited.

export class RequestMemory {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Counts bytes as held; returns false when the pool is now over its limit. */
  hold(bytes: number): boolean {
    this.used += bytes;
    return this.limit < 0 || this.used <= this.limit;
  }

  release(bytes: number): void {
    if (bytes === 0) return;
    this.used = Math.max(0, this.used - bytes);
    if (this.limit >= 0 && this.used >= this.limit) return;
    const resumes = [...this.waiting];
    this.waiting.clear();
    for (const resume of resumes) resume();
  }

  /** Calls `resume` once memory has been given back. */
  whenAvailable(resume: () => void): void {
    this.waiting.add(resume);
  }

  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }
}
