// Retention on a partition log: segments go by age (retention.ms, by their newest record)
// and by size (retention.bytes), the log start offset follows, the active segment is
// rolled when everything expired, and a reader holding a deleted segment keeps reading it.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerConfig } from '../../src/config/broker-config.js';
import { resolveLogConfig } from '../../src/config/topic-config.js';
import { PartitionLog } from '../../src/log/partition-log.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';

function openLog(t: Test, configs: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'spate-retention-'));
  const log = new PartitionLog('retained', 0, dir, resolveLogConfig({ 'internal.segment.bytes': '500', ...configs }, loadBrokerConfig()));
  t.teardown(() => {
    log.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return log;
}

const batch = (i: number, timestamp: number) => encodeRecordBatch({ records: [{ key: null, value: `record ${i} ${'x'.repeat(150)}`, timestamp }] });

t.test('retention.ms deletes the oldest segments by their newest timestamp', async (t) => {
  const log = openLog(t, { 'retention.ms': '60000' });
  const now = Date.now();
  for (let i = 0; i < 12; i++) log.append(batch(i, i < 6 ? now - 120_000 : now), now);
  const segments = log.segmentInfo().length;
  const reader = await log.read(0n, 1 << 20, true);
  const result = log.applyRetention(now);
  t.ok(result.deletedSegments > 0, `${result.deletedSegments} of ${segments} segments deleted`);
  t.ok(log.logStartOffset > 0n && log.logStartOffset <= 6n, `log start offset ${log.logStartOffset}`);
  const first = await log.read(log.logStartOffset, 1 << 20, true);
  t.ok(first !== null && first.baseOffset >= log.logStartOffset - 1n);
  first?.release();
  await t.rejects(log.read(0n, 1 << 20, true), { message: /[\s\S]*/, kafkaCode: 1 }, 'below the log start: OFFSET_OUT_OF_RANGE');
  t.equal(decodeRecordBatches(reader!.buffer)[0]!.records[0]!.value!.toString().slice(0, 8), 'record 0', 'a slice of a deleted segment still reads (no SIGBUS)');
  reader!.release();
  t.equal(log.applyRetention(now).deletedSegments, 0, 'nothing else has expired');
});

t.test('when every record expired, the active segment is rolled and deleted too', async (t) => {
  const log = openLog(t, { 'retention.ms': '1000' });
  const now = Date.now();
  for (let i = 0; i < 5; i++) log.append(batch(i, now - 10_000), now);
  log.applyRetention(now);
  t.equal(log.logStartOffset, 5n);
  t.equal(log.logEndOffset, 5n);
  t.equal(log.sizeInBytes, 0, 'no data left on disk');
  t.equal(await log.read(5n, 1000, true), null, 'a reader at the log end waits for new data');
});

t.test('retention.bytes keeps the newest segments within the size', async (t) => {
  const log = openLog(t, { 'retention.bytes': '1000' });
  const now = Date.now();
  for (let i = 0; i < 20; i++) log.append(batch(i, now), now);
  const before = log.sizeInBytes;
  log.applyRetention(now);
  t.ok(log.sizeInBytes < before);
  const activeSize = log.segmentInfo().at(-1)!.size;
  t.ok(
    log.sizeInBytes - log.segmentInfo()[0]!.size < 1000 || log.segmentInfo().length === 1,
    `within retention.bytes once the oldest is gone (${log.sizeInBytes} bytes, active ${activeSize})`,
  );
  t.ok(log.logStartOffset > 0n);
});

t.test('compact-only topics keep their segments; -1 keeps everything', async (t) => {
  const compacted = openLog(t, { 'retention.ms': '1', 'cleanup.policy': 'compact' });
  const forever = openLog(t, { 'retention.ms': '-1', 'retention.bytes': '-1' });
  const now = Date.now();
  for (let i = 0; i < 6; i++) {
    compacted.append(encodeRecordBatch({ records: [{ key: `k${i}`, value: 'v'.repeat(150), timestamp: now - 100_000 }] }), now);
    forever.append(batch(i, now - 100_000_000), now);
  }
  t.equal(compacted.applyRetention(now).deletedSegments, 0);
  t.equal(forever.applyRetention(now).deletedSegments, 0);
});
