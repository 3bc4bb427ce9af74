import t, { type Test } from 'tap';
import { LogError, validateBatches } from '../../src/log/native.js';
import { buildBatch, fixCrc, simpleRecords } from './fixtures/batch-builder.js';

const CORRUPT_MESSAGE = 2;
const INVALID_RECORD = 87;

function expectKafkaError(t: Test, fn: () => unknown, kafkaCode: number, message: RegExp) {
  try {
    fn();
    t.fail('expected a LogError');
  } catch (error) {
    t.type(error, LogError);
    t.equal((error as LogError).kafkaCode, kafkaCode);
    t.match((error as LogError).message, message);
  }
}

t.test('describes valid batches', async (t) => {
  const first = buildBatch({
    records: [
      {
        key: Buffer.from('k'),
        value: Buffer.from('v'),
        headers: [
          ['h', Buffer.from('x')],
          ['n', null],
        ],
      },
      { key: null, value: null, timestampDelta: 5 },
    ],
    baseTimestamp: 1000n,
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: 7,
    attributes: 0x10,
  });
  const second = buildBatch({ records: simpleRecords(3, 10), baseTimestamp: 2000n });
  const info = validateBatches(Buffer.concat([first, second]));
  t.equal(info.batchCount, 2);
  t.equal(info.recordCount, 5);
  t.equal(info.maxTimestamp, 2002n);
  t.match(info.batches[0], {
    position: 0,
    size: first.length,
    lastOffsetDelta: 1,
    attributes: 0x10,
    baseTimestamp: 1000n,
    maxTimestamp: 1005n,
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: 7,
    recordCount: 2,
    isTransactional: true,
    isControl: false,
    compression: 0,
  });
  t.match(info.batches[1], { position: first.length, size: second.length, recordCount: 3, isTransactional: false });
});

t.test('compressed batches are checked by header only', async (t) => {
  const batch = buildBatch({ records: [], rawRecords: Buffer.from('opaque zstd bytes'), attributes: 4, recordCount: 3, lastOffsetDelta: 2 });
  t.match(validateBatches(batch).batches[0], { compression: 4, recordCount: 3 });
  const mismatch = buildBatch({ records: [], rawRecords: Buffer.from('x'), attributes: 1, recordCount: 3, lastOffsetDelta: 1 });
  expectKafkaError(t, () => validateBatches(mismatch), INVALID_RECORD, /lastOffsetDelta 1 does not match record count 3/);
});

t.test('rejects bad magic', async (t) => {
  const old = buildBatch({ records: simpleRecords(1, 4) });
  old.writeInt8(1, 16);
  expectKafkaError(t, () => validateBatches(old), INVALID_RECORD, /magic 2/);
  const garbage = buildBatch({ records: simpleRecords(1, 4) });
  garbage.writeInt8(7, 16);
  expectKafkaError(t, () => validateBatches(garbage), CORRUPT_MESSAGE, /invalid magic 7/);
});

t.test('rejects a bad CRC anywhere in the covered bytes', async (t) => {
  const good = buildBatch({ records: simpleRecords(4, 20) });
  for (const at of [21, 30, 60, 61, good.length - 1]) {
    const bad = Buffer.from(good);
    bad[at] ^= 0x01;
    expectKafkaError(t, () => validateBatches(bad), CORRUPT_MESSAGE, /CRC32C mismatch/);
  }
  const crcByte = Buffer.from(good);
  crcByte[18] ^= 0xff;
  expectKafkaError(t, () => validateBatches(crcByte), CORRUPT_MESSAGE, /CRC32C mismatch/);
});

t.test('rejects truncated, negative and oversized lengths', async (t) => {
  const good = buildBatch({ records: simpleRecords(2, 30) });
  expectKafkaError(t, () => validateBatches(good.subarray(0, good.length - 1)), CORRUPT_MESSAGE, /exceeds/);
  expectKafkaError(t, () => validateBatches(good.subarray(0, 40)), CORRUPT_MESSAGE, /truncated batch header/);
  const trailing = Buffer.concat([good, good.subarray(0, 20)]);
  expectKafkaError(t, () => validateBatches(trailing), CORRUPT_MESSAGE, /batch 1 at byte \d+: truncated/);
  const negative = Buffer.from(good);
  negative.writeInt32BE(-5, 8);
  expectKafkaError(t, () => validateBatches(negative), CORRUPT_MESSAGE, /batch length -5/);
  const small = Buffer.from(good);
  small.writeInt32BE(48, 8);
  expectKafkaError(t, () => validateBatches(small), CORRUPT_MESSAGE, /below the minimum/);
  const huge = Buffer.from(good);
  huge.writeInt32BE(0x7fffffff, 8);
  expectKafkaError(t, () => validateBatches(huge), CORRUPT_MESSAGE, /exceeds/);
  expectKafkaError(t, () => validateBatches(Buffer.alloc(0)), INVALID_RECORD, /no record batches/);
});

t.test('rejects record count mismatches and malformed records', async (t) => {
  const records = simpleRecords(3, 8);
  const tooMany = buildBatch({ records, recordCount: 4, lastOffsetDelta: 3 });
  expectKafkaError(t, () => validateBatches(tooMany), INVALID_RECORD, /record 3/);
  const tooFew = buildBatch({ records, recordCount: 2, lastOffsetDelta: 1 });
  expectKafkaError(t, () => validateBatches(tooFew), INVALID_RECORD, /declares 2 records but \d+ bytes remain/);
  const deltaMismatch = buildBatch({ records, lastOffsetDelta: 5 });
  expectKafkaError(t, () => validateBatches(deltaMismatch), INVALID_RECORD, /lastOffsetDelta 5/);
  const negativeCount = buildBatch({ records, recordCount: -1 });
  expectKafkaError(t, () => validateBatches(negativeCount), INVALID_RECORD, /negative record count/);
  const empty = buildBatch({ records: [] });
  expectKafkaError(t, () => validateBatches(empty), INVALID_RECORD, /no records/);

  // A record length varint that runs past the batch.
  const overrun = buildBatch({ records: simpleRecords(1, 8) });
  overrun[61] = 0x7e; // zig-zag 63: longer than the record
  expectKafkaError(t, () => validateBatches(fixCrc(overrun)), INVALID_RECORD, /does not fit the batch/);
  // A key length that runs past its record.
  const keyOverrun = buildBatch({ records: [{ key: Buffer.from('abc'), value: Buffer.from('d') }] });
  keyOverrun[61 + 4] = 0x20; // key length 16
  expectKafkaError(t, () => validateBatches(fixCrc(keyOverrun)), INVALID_RECORD, /invalid record structure/);
});

t.test('many batches in one payload', async (t) => {
  const batches = Array.from({ length: 300 }, (_, i) => buildBatch({ records: simpleRecords(1 + (i % 3), 5, i), baseTimestamp: BigInt(i) }));
  const info = validateBatches(Buffer.concat(batches));
  t.equal(info.batchCount, 300);
  t.equal(
    info.batches[299]!.position,
    batches.slice(0, 299).reduce((n, b) => n + b.length, 0),
  );
  t.equal(info.batches[299]!.recordCount, 1 + (299 % 3));
  t.equal(info.maxTimestamp, 299n + BigInt(299 % 3));
  t.equal(validateBatches(batches[0]!).batchCount, 1, 'and a small one after it');
});
