// PartitionLog's produce-time rules that depend on topic configs: LogAppendTime stamps the
// batch (timestamps and CRC), message.timestamp.before/after.max.ms refuse out-of-range
// CreateTime timestamps, compression.type recompresses through the worker pool while
// appends keep their order, and a config change applies to the running log.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerConfig } from '../../src/config/broker-config.js';
import { resolveLogConfig } from '../../src/config/topic-config.js';
import { PartitionLog } from '../../src/log/partition-log.js';
import { CompressionPool } from '../../src/compression/pool.js';
import { batchesOf } from '../../src/compression/batches.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';

function openLog(t: Test, configs: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'spate-partition-'));
  const pool = new CompressionPool(1);
  const broker = loadBrokerConfig();
  const log = new PartitionLog('topic', 0, dir, resolveLogConfig(configs, broker), () => pool);
  t.teardown(async () => {
    log.close();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { log, broker };
}

async function stored(log: PartitionLog) {
  const slice = await log.read(log.logStartOffset, 1 << 20, true);
  const bytes = Buffer.from(slice!.buffer);
  slice!.release();
  return bytes;
}

t.test('LogAppendTime rewrites the batch timestamps and its CRC', async (t) => {
  const { log } = openLog(t, { 'message.timestamp.type': 'LogAppendTime' });
  const now = 1_800_000_000_000;
  const result = await log.append(
    encodeRecordBatch({
      records: [
        { value: 'a', timestamp: 5 },
        { value: 'b', timestamp: 6 },
      ],
    }),
    now,
  );
  t.equal(result.logAppendTime, BigInt(now), 'the produce answer carries the append time');
  const [batch] = decodeRecordBatches(await stored(log)); // verifies the CRC
  t.equal(batch!.timestampType, 'log-append');
  t.equal(batch!.maxTimestamp, BigInt(now));
});

t.test('CreateTime timestamps outside before/after.max.ms are INVALID_TIMESTAMP', async (t) => {
  const { log } = openLog(t, { 'message.timestamp.before.max.ms': '60000', 'message.timestamp.after.max.ms': '1000' });
  const now = Date.now();
  t.throws(() => log.append(encodeRecordBatch({ records: [{ value: 'future', timestamp: now + 5000 }] }), now), { message: /[\s\S]*/, kafkaCode: 32 });
  t.throws(
    () =>
      log.append(
        encodeRecordBatch({
          records: [
            { value: 'ok', timestamp: now },
            { value: 'old', timestamp: now - 120_000 },
          ],
        }),
        now,
      ),
    { kafkaCode: 32, message: /out of range/ },
  );
  t.match(log.append(encodeRecordBatch({ records: [{ value: 'fine', timestamp: now - 30_000 }] }), now), { baseOffset: 0n });
});

t.test('compression.type recompresses in the workers; appends keep their order', async (t) => {
  const { log, broker } = openLog(t, { 'compression.type': 'zstd' });
  const now = Date.now();
  const results = [];
  for (let i = 0; i < 20; i++) results.push(log.append(encodeRecordBatch({ records: [{ key: `k${i}`, value: `value ${i} ${'x'.repeat(100)}` }] }), now));
  const offsets = (await Promise.all(results)).map((r) => r.baseOffset);
  t.same(
    offsets,
    Array.from({ length: 20 }, (_, i) => BigInt(i)),
    'offsets in call order',
  );
  const codecs = [...batchesOf(await stored(log))].map((b) => b.codec);
  t.ok(codecs.length > 0 && codecs.every((codec) => codec === 4), 'stored as zstd');

  log.updateConfig(resolveLogConfig({ 'compression.type': 'producer', 'max.message.bytes': '100' }, broker));
  t.throws(() => log.append(encodeRecordBatch({ records: [{ value: 'y'.repeat(200) }] }), now), { message: /[\s\S]*/, kafkaCode: 10 }, 'the new max.message.bytes applies at once');
  const plain = log.append(encodeRecordBatch({ records: [{ value: 'tiny' }] }), now);
  t.notOk(plain instanceof Promise, 'compression.type=producer appends synchronously');
});

t.test('a deleted partition refuses reads and writes', async (t) => {
  const { log } = openLog(t, {});
  log.markDeleted();
  t.throws(() => log.append(encodeRecordBatch({ records: [{ value: 'x' }] }), Date.now()), { message: /[\s\S]*/, kafkaCode: 3 });
  await t.rejects(log.read(0n, 100, true), { message: /[\s\S]*/, kafkaCode: 3 });
  t.same(log.segmentInfo(), []);
  t.equal(await log.replaceSegment(0n, 0), false);
});
