// One timer for every deadline of the group coordinator: session expiry, rebalance and
// join deadlines. Deadlines live in a binary min-heap; a single setTimeout is armed for the
// earliest one, so thousands of members cost one timer, not thousands.

interface Entry {
  readonly key: string;
  readonly deadline: number;
  readonly callback: () => void;
  /** Position in the heap, -1 once removed. */
  index: number;
}

export class Scheduler {
  private readonly heap: Entry[] = [];
  private readonly byKey = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    private readonly now: () => number = Date.now,
    /** A task that throws (a write its coordinator could not make) is reported here, and the others still run. */
    private readonly onError: (error: unknown, key: string) => void = (error) => {
      throw error;
    },
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Runs `callback` at `deadline` (ms since epoch), replacing any task with the same key. */
  schedule(key: string, deadline: number, callback: () => void): void {
    this.cancel(key);
    if (this.stopped) return;
    const entry: Entry = { key, deadline, callback, index: this.heap.length };
    this.heap.push(entry);
    this.byKey.set(key, entry);
    this.siftUp(entry.index);
    this.arm();
  }

  cancel(key: string): void {
    const entry = this.byKey.get(key);
    if (entry === undefined) return;
    this.byKey.delete(key);
    this.removeAt(entry.index);
  }

  /** Cancels every task whose key matches (a coordinator dropping the groups of a shard). */
  cancelWhere(matches: (key: string) => boolean): void {
    for (const key of [...this.byKey.keys()]) if (matches(key)) this.cancel(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
    this.byKey.clear();
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    if (this.timer !== undefined && first.deadline >= this.armedFor) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = first.deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.deadline - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const entry = this.heap[0]!;
      this.byKey.delete(entry.key);
      this.removeAt(0);
      try {
        entry.callback();
      } catch (error) {
        this.onError(error, entry.key);
      }
    }
    this.arm();
  }

  private removeAt(index: number): void {
    const last = this.heap.pop()!;
    last.index = -1;
    if (index < this.heap.length) {
      const removed = this.heap[index]!;
      removed.index = -1;
      this.heap[index] = last;
      last.index = index;
      this.siftDown(index);
      this.siftUp(last.index);
    }
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.deadline <= heap[index]!.deadline) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && heap[left]!.deadline < heap[smallest]!.deadline) smallest = left;
      if (right < heap.length && heap[right]!.deadline < heap[smallest]!.deadline) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const entryA = heap[a]!;
    const entryB = heap[b]!;
    heap[a] = entryB;
    heap[b] = entryA;
    entryA.index = b;
    entryB.index = a;
  }
}
