// The entry of the compression worker threads (pool.ts). Runs off the event loop: every
// decompression and recompression of produced batches happens here.

import { transformBatches, type TransformTask, type TransformResult } from './transform.js';

export default async function run(task: TransformTask): Promise<TransformResult> {
  const result = await transformBatches(task);
  if (!result.ok || !result.changed) return { ...result, ...(result.ok ? { records: new Uint8Array(0) } : {}) };
  // A Uint8Array of its own, so the structured clone back copies just these bytes.
  return { ok: true, records: new Uint8Array(result.records), changed: true };
}
