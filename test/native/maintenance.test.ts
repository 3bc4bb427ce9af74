// The SegmentLog calls retention, config changes and the cleaner use: segments(), roll(),
// configure(), and validateBatches' key check and minimum timestamps.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentLog, validateBatches } from '../../src/log/native.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

function openLog(t: Test, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'spate-maintenance-'));
  const log = new SegmentLog(dir, options);
  t.teardown(() => {
    log.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return log;
}

const batch = (value: string, timestamp: number) => encodeRecordBatch({ records: [{ key: 'k', value, timestamp }] });

t.test('segments() describes every segment; roll() starts a new one', async (t) => {
  const log = openLog(t, { segmentBytes: 4096 });
  t.equal(log.roll(1000), false, 'an empty active segment is not rolled');
  log.append(batch('a', 1000), { batchCount: 1 }, 1000);
  log.append(batch('b', 2000), { batchCount: 1 }, 2000);
  t.equal(log.roll(3000), true);
  log.append(batch('c', 5000), { batchCount: 1 }, 5000);
  const segments = log.segments();
  t.same(
    segments.map((s) => [s.baseOffset, s.nextOffset, s.maxTimestamp, s.firstBatchTimestamp]),
    [
      [0n, 2n, 2000, 1000],
      [2n, 3n, 5000, 5000],
    ],
  );
  t.ok(segments.every((s) => s.size > 0));
});

t.test('configure() applies new roll settings to the running log', async (t) => {
  const log = openLog(t, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) log.append(batch('x'.repeat(200), i), { batchCount: 1 }, 1000);
  t.equal(log.segmentCount, 1);
  log.configure({ segmentBytes: 512 });
  for (let i = 0; i < 5; i++) log.append(batch('x'.repeat(200), i), { batchCount: 1 }, 1000);
  t.ok(log.segmentCount > 2, `${log.segmentCount} segments after segment.bytes shrank`);
  t.throws(() => log.configure({ segmentBytes: -5 }), { code: 'ERR_INVALID_ARG_TYPE' });
});

t.test('validateBatches: the key check and the smallest record timestamp', async (t) => {
  const keyless = encodeRecordBatch({
    records: [
      { key: 'k', value: 'v' },
      { key: null, value: 'v' },
    ],
  });
  t.doesNotThrow(() => validateBatches(keyless));
  t.throws(() => validateBatches(keyless, { requireKeys: true }), { kafkaCode: 87, code: 'KEYLESS_RECORD' });
  const info = validateBatches(
    encodeRecordBatch({
      baseTimestamp: 500,
      records: [
        { value: 'a', timestamp: 500 },
        { value: 'b', timestamp: 200 },
        { value: 'c', timestamp: 900 },
      ],
    }),
  );
  t.equal(info.batches[0]!.minTimestamp, 200n);
  t.equal(info.batches[0]!.maxTimestamp, 900n);
});
