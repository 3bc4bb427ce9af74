// The produce-time work that needs the records of compressed batches, run in a worker
// (pool.ts): recompression to the topic's compression.type, and the check that every
// record of a compacted topic has a key. Batch headers (offsets, producer fields,
// timestamps) are kept; only the records section and its codec change.

import { batchesOf, buildBatch, recordsOf, recordsSection } from './batches.js';
import { CodecError, initCodecs, type CodecId, type CompressionLevels } from './codecs.js';

export interface TransformTask {
  readonly records: Uint8Array;
  /** The codec every batch must have, or -1 to keep each batch's own (compression.type=producer). */
  readonly targetCodec: CodecId | -1;
  /** cleanup.policy=compact: refuse a record without a key. */
  readonly requireKeys: boolean;
  readonly levels: CompressionLevels;
}

export type TransformResult =
  | { readonly ok: true; readonly records: Uint8Array; readonly changed: boolean }
  | { readonly ok: false; readonly errorCode: number; readonly message: string; readonly keylessRecords?: number[] };

const CORRUPT_MESSAGE = 2;
const INVALID_RECORD = 87;

export async function transformBatches(task: TransformTask): Promise<TransformResult> {
  await initCodecs();
  const input = Buffer.from(task.records.buffer, task.records.byteOffset, task.records.byteLength);
  const output: Buffer[] = [];
  let changed = false;
  try {
    for (const batch of batchesOf(input)) {
      const recompress = task.targetCodec !== -1 && task.targetCodec !== batch.codec;
      const inspect = task.requireKeys && batch.codec !== 0;
      if (!recompress && !inspect) {
        output.push(batch.bytes);
        continue;
      }
      const section = recordsSection(batch);
      let count = 0;
      // Every keyless record is listed, so that Produce can name them (KIP-467 record_errors).
      const keyless: number[] = [];
      for (const record of recordsOf(section, batch.recordCount)) {
        if (task.requireKeys && record.key === null) keyless.push(count);
        count++;
      }
      if (count !== batch.recordCount) throw new CodecError('record count mismatch');
      if (keyless.length > 0) {
        return { ok: false, errorCode: INVALID_RECORD, message: 'Compacted topic cannot accept message without key in topic partition', keylessRecords: keyless };
      }
      if (recompress) {
        output.push(buildBatch(batch, section, { codec: task.targetCodec as CodecId }, task.levels));
        changed = true;
      } else {
        output.push(batch.bytes);
      }
    }
  } catch (error) {
    if (error instanceof CodecError) return { ok: false, errorCode: CORRUPT_MESSAGE, message: error.message };
    throw error;
  }
  if (!changed) return { ok: true, records: task.records, changed };
  return { ok: true, records: Buffer.concat(output), changed };
}
