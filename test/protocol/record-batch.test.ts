import t from 'tap';
import { crc32cTable } from '../../src/protocol/crc32c.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src/protocol/primitives.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('golden: one record, null key, value "v"', async (t) => {
  const batch = encodeRecordBatch({ baseTimestamp: 1000n, records: [{ key: null, value: 'v' }] });
  // record: length 7, attributes 0, timestampDelta 0, offsetDelta 0, key -1, value length 1 'v', 0 headers
  const record = '0e 00 00 00 01 02 76 00';
  const expected = hex(
    '0000000000000000' + // baseOffset
      '00000039' + // batchLength = 69 - 12
      'ffffffff' + // partitionLeaderEpoch
      '02' + // magic
      '00000000' + // crc, filled in below
      '0000' + // attributes
      '00000000' + // lastOffsetDelta
      '00000000000003e8' + // baseTimestamp
      '00000000000003e8' + // maxTimestamp
      'ffffffffffffffff' + // producerId
      'ffff' + // producerEpoch
      'ffffffff' + // baseSequence
      '00000001' + // recordsCount
      record,
  );
  expected.writeUInt32BE(crc32cTable(expected.subarray(21)), 17);
  t.equal(batch.toString('hex'), expected.toString('hex'));

  const [decoded] = decodeRecordBatches(batch);
  t.ok(decoded);
  t.equal(decoded!.recordsCount, 1);
  t.equal(decoded!.records[0]!.key, null);
  t.equal(decoded!.records[0]!.value!.toString(), 'v');
  t.equal(decoded!.records[0]!.timestamp, 1000n);
  t.equal(decoded!.byteLength, 69);
});

t.test('round trip of header fields, headers, gaps and timestamps', async (t) => {
  const batch = encodeRecordBatch({
    baseOffset: 1234567890123n,
    partitionLeaderEpoch: 7,
    attributes: 0x10,
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: 100,
    baseTimestamp: 1_700_000_000_000n,
    records: [
      {
        key: 'k1',
        value: 'v1',
        headers: [
          { key: 'h', value: 'x' },
          { key: 'n', value: null },
        ],
        timestamp: 1_700_000_000_000n,
      },
      { key: Buffer.alloc(300, 1), value: null, timestamp: 1_699_999_999_000n, offsetDelta: 5 },
      { value: Buffer.alloc(70_000, 2), timestamp: 1_700_000_000_500n, offsetDelta: 9 },
    ],
  });
  const [b] = decodeRecordBatches(batch);
  t.ok(b);
  t.equal(b!.baseOffset, 1234567890123n);
  t.equal(b!.partitionLeaderEpoch, 7);
  t.equal(b!.producerId, 42n);
  t.equal(b!.producerEpoch, 3);
  t.equal(b!.baseSequence, 100);
  t.equal(b!.isTransactional, true);
  t.equal(b!.isControl, false);
  t.equal(b!.timestampType, 'create');
  t.equal(b!.lastOffsetDelta, 9);
  t.equal(b!.maxTimestamp, 1_700_000_000_500n);
  t.same(
    b!.records.map((r) => [r.offset, r.timestamp, r.timestampDelta]),
    [
      [1234567890123n, 1_700_000_000_000n, 0n],
      [1234567890128n, 1_699_999_999_000n, -1000n],
      [1234567890132n, 1_700_000_000_500n, 500n],
    ],
  );
  t.same(
    b!.records[0]!.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()]),
    [
      ['h', 'x'],
      ['n', null],
    ],
  );
  t.equal(b!.records[1]!.key!.length, 300);
  t.equal(b!.records[1]!.value, null);
  t.equal(b!.records[2]!.key, null);
  t.equal(b!.records[2]!.value!.length, 70_000);
});

t.test('several batches, with a truncated one at the end', async (t) => {
  const a = encodeRecordBatch({ baseOffset: 0n, baseTimestamp: 1n, records: [{ value: 'a' }] });
  const b = encodeRecordBatch({ baseOffset: 1n, baseTimestamp: 2n, records: [{ value: 'b' }, { value: 'c' }] });
  const all = Buffer.concat([a, b, b.subarray(0, 30)]);
  const batches = decodeRecordBatches(all);
  t.equal(batches.length, 2);
  t.same(
    batches.flatMap((x) => x.records.map((r) => r.value!.toString())),
    ['a', 'b', 'c'],
  );
  t.same(decodeRecordBatches(Buffer.alloc(0)), []);
});

t.test('corrupt batches are rejected with CORRUPT_MESSAGE', async (t) => {
  const good = encodeRecordBatch({ baseTimestamp: 1n, records: [{ value: 'hello' }] });
  const flipped = Buffer.from(good);
  flipped[flipped.length - 2]! ^= 1;
  const check = (buf: Buffer, what: string) => {
    try {
      decodeRecordBatches(buf);
      t.fail(`${what}: should throw`);
    } catch (error) {
      t.ok(error instanceof ProtocolDecodeError, what);
      t.equal((error as ProtocolDecodeError).kafkaCode, ErrorCode.CORRUPT_MESSAGE, what);
    }
  };
  check(flipped, 'crc mismatch');
  t.equal(decodeRecordBatches(flipped, { verifyCrc: false }).length, 1, 'crc check can be skipped');
  const magic1 = Buffer.from(good);
  magic1[16] = 1;
  check(magic1, 'magic 1');
  const gzip = Buffer.from(good);
  gzip.writeInt16BE(1, 21);
  gzip.writeUInt32BE(crc32cTable(gzip.subarray(21)), 17);
  check(gzip, 'compressed');
  const tiny = Buffer.from(good);
  tiny.writeInt32BE(10, 8);
  check(tiny, 'batchLength too small');
  const extra = Buffer.from(good);
  extra.writeInt32BE(2, 57);
  extra.writeUInt32BE(crc32cTable(extra.subarray(21)), 17);
  check(extra, 'more records than bytes');
  t.throws(() => encodeRecordBatch({ attributes: 2, records: [] }), ProtocolEncodeError);
});

t.test('mutated batches only ever throw ProtocolDecodeError', async (t) => {
  const good = encodeRecordBatch({
    baseTimestamp: 5n,
    records: [
      { key: 'a', value: 'b', headers: [{ key: 'h', value: 'v' }] },
      { key: null, value: Buffer.alloc(40, 3) },
    ],
  });
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const unexpected: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const mutated = Buffer.from(good);
    for (let k = 0; k <= i % 3; k++) mutated[61 + (next() % (good.length - 61))] = next() & 0xff;
    const cut = i % 4 === 0 ? next() % mutated.length : mutated.length;
    try {
      decodeRecordBatches(mutated.subarray(0, cut), { verifyCrc: false });
    } catch (error) {
      if (!(error instanceof ProtocolDecodeError) || error.kafkaCode !== ErrorCode.CORRUPT_MESSAGE) unexpected.push(String(error));
    }
  }
  t.same(unexpected.slice(0, 3), []);
});
