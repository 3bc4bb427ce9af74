// The compression worker pool (piscina): produced batches that must be decompressed or
// recompressed go through it, so the event loop never inflates or deflates records. One
// pool per broker, created on first use; its threads exit when idle.

import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import type { TransformResult, TransformTask } from './transform.js';

// src/compression/pool.ts runs worker.ts under the TypeScript loader, dist/ runs worker.js.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export class CompressionPool {
  private pool: Piscina | undefined;
  /** The pool being created: every task that arrives meanwhile waits for this one. */
  private creating: Promise<Piscina> | undefined;

  constructor(private readonly maxThreads = Math.max(1, Math.min(4, availableParallelism()))) {}

  /** Runs the produce-time transformation of `task.records` (copied, never detached) in a worker. */
  async transform(task: TransformTask): Promise<TransformResult> {
    const pool = this.pool ?? (await this.create());
    // The records usually share their ArrayBuffer with the rest of the request: copy them
    // into one of their own and move that to the worker instead of cloning the whole frame.
    const records = new Uint8Array(task.records);
    const result = (await pool.run({ ...task, records }, { transferList: [records.buffer] })) as TransformResult;
    if (result.ok && !result.changed) return { ok: true, records: task.records, changed: false };
    return result;
  }

  /**
   * piscina is loaded on first use (a broker that never recompresses never pays for it), once:
   * the tasks that arrive while it loads share the one pool, rather than each making its own.
   */
  private create(): Promise<Piscina> {
    this.creating ??= import('piscina').then(({ Piscina }) => {
      this.pool = new Piscina({ filename: WORKER.href, minThreads: 0, maxThreads: this.maxThreads, idleTimeout: 10_000 });
      this.creating = undefined;
      return this.pool;
    });
    return this.creating;
  }

  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    const pool = this.pool ?? (await this.creating);
    this.pool = undefined;
    if (pool !== undefined) await pool.destroy();
  }
}
