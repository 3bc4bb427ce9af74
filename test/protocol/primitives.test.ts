import t from 'tap';
import { INLINE_RECORDS_LIMIT, ProtocolDecodeError, ProtocolEncodeError, Reader, Writer, type RecordsChunk } from '../../src/protocol/primitives.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const written = (fn: (w: Writer) => void): Buffer => {
  const w = new Writer();
  fn(w);
  return w.toBuffer();
};
const reader = (s: string): Reader => new Reader(hex(s));

t.test('unsigned varint', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 31 - 1, 'ffffffff07'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ];
  for (const [value, bytes] of cases) {
    t.equal(written((w) => w.uvarint(value)).toString('hex'), bytes, `encode ${value}`);
    const r = reader(bytes);
    t.equal(r.uvarint(), value, `decode ${bytes}`);
    t.equal(r.remaining(), 0);
  }
  t.throws(() => reader('ffffffff10').uvarint(), ProtocolDecodeError, 'fifth byte over 4 bits');
  t.throws(() => reader('ffffffff8f01').uvarint(), ProtocolDecodeError, 'six bytes are overlong');
  t.throws(() => reader('8080808080808001').uvarint(), ProtocolDecodeError, 'eight bytes are overlong');
  t.throws(() => reader('80').uvarint(), ProtocolDecodeError, 'truncated');
  t.throws(() => reader('').uvarint(), ProtocolDecodeError, 'empty');
});

t.test('zig-zag varint (int32)', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [value, bytes] of cases) {
    t.equal(written((w) => w.varint(value)).toString('hex'), bytes, `encode ${value}`);
    t.equal(reader(bytes).varint(), value, `decode ${bytes}`);
  }
  t.throws(() => reader('ffffffffff01').varint(), ProtocolDecodeError);
});

t.test('zig-zag varlong (int64)', async (t) => {
  const cases: Array<[bigint, string]> = [
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [-64n, '7f'],
    [64n, '8001'],
    [2147483647n, 'feffffff0f'],
    [-2147483648n, 'ffffffff0f'],
    [2n ** 48n, '8080808080808001'],
    [2n ** 52n - 1n, 'feffffffffffff0f'],
    [-(2n ** 52n), 'ffffffffffffff0f'],
    [2n ** 52n, '8080808080808010'],
    [9223372036854775807n, 'feffffffffffffffff01'],
    [-9223372036854775808n, 'ffffffffffffffffff01'],
  ];
  for (const [value, bytes] of cases) {
    t.equal(written((w) => w.varlong(value)).toString('hex'), bytes, `encode ${value}`);
    const r = reader(bytes);
    t.equal(r.varlong(), value, `decode ${bytes}`);
    t.equal(r.remaining(), 0);
  }
  t.throws(() => reader('ffffffffffffffffff02').varlong(), ProtocolDecodeError, 'tenth byte over 1 bit');
  t.throws(() => reader('ffffffffffffffffff8101').varlong(), ProtocolDecodeError, 'eleven bytes');
  t.throws(() => reader('ffffffffffffffff').varlong(), ProtocolDecodeError, 'truncated');
});

t.test('fixed-width integers', async (t) => {
  const w = new Writer(16);
  w.int8(-1);
  w.int16(-2);
  w.uint16(65535);
  w.int32(-3);
  w.uint32(4294967295);
  w.int64(-9223372036854775808n);
  w.int64(9223372036854775807n);
  w.float64(1.5);
  w.bool(true);
  w.bool(false);
  const b = w.toBuffer();
  t.equal(b.toString('hex'), 'ff' + 'fffe' + 'ffff' + 'fffffffd' + 'ffffffff' + '8000000000000000' + '7fffffffffffffff' + '3ff8000000000000' + '01' + '00');
  const r = new Reader(b);
  t.equal(r.int8(), -1);
  t.equal(r.int16(), -2);
  t.equal(r.uint16(), 65535);
  t.equal(r.int32(), -3);
  t.equal(r.uint32(), 4294967295);
  t.equal(r.int64(), -9223372036854775808n);
  t.equal(r.int64(), 9223372036854775807n);
  t.equal(r.float64(), 1.5);
  t.equal(r.bool(), true);
  t.equal(r.bool(), false);
  t.equal(r.remaining(), 0);
  t.equal(reader('02').bool(), true, 'any non-zero byte is true');
});

t.test('strings and bytes', async (t) => {
  t.equal(written((w) => w.string('abc')).toString('hex'), '0003616263');
  t.equal(written((w) => w.string(null)).toString('hex'), 'ffff');
  t.equal(written((w) => w.string('')).toString('hex'), '0000');
  t.equal(written((w) => w.compactString('abc')).toString('hex'), '04616263');
  t.equal(written((w) => w.compactString(null)).toString('hex'), '00');
  t.equal(written((w) => w.compactString('')).toString('hex'), '01');
  t.equal(written((w) => w.string('é€')).toString('hex'), '0005c3a9e282ac', 'length in UTF-8 bytes');
  t.equal(written((w) => w.compactString('é€')).toString('hex'), '06c3a9e282ac');
  const long = 'x'.repeat(200);
  t.equal(
    written((w) => w.compactString(long))
      .subarray(0, 2)
      .toString('hex'),
    'c901',
    'two-byte prefix',
  );
  t.equal(new Reader(written((w) => w.compactString(long))).compactString(), long);
  t.equal(new Reader(written((w) => w.string('ünïcödé'.repeat(1000)))).string(), 'ünïcödé'.repeat(1000));
  t.throws(() => written((w) => w.string('x'.repeat(40000))), ProtocolEncodeError);

  t.equal(reader('0003616263').string(), 'abc');
  t.equal(reader('ffff').string(), null);
  t.equal(reader('04616263').compactString(), 'abc');
  t.equal(reader('00').compactString(), null);
  t.throws(() => reader('ffff').nonNullString(), ProtocolDecodeError);
  t.throws(() => reader('00').nonNullCompactString(), ProtocolDecodeError);
  t.throws(() => reader('fffe').string(), ProtocolDecodeError, 'negative length other than -1');
  t.throws(() => reader('0005616263').string(), ProtocolDecodeError, 'length past the end');
  t.throws(() => reader('0661626364').compactString(), ProtocolDecodeError);

  const source = hex('00000003 010203 ff');
  const b = new Reader(source).bytes()!;
  t.same([...b], [1, 2, 3]);
  t.equal(b.buffer, source.buffer, 'bytes are a view of the input, not a copy');
  t.equal(reader('ffffffff').bytes(), null);
  t.equal(reader('00').compactBytes(), null);
  t.same([...reader('0301 02').compactBytes()!], [1, 2]);
  t.throws(() => reader('fffffffe').bytes(), ProtocolDecodeError);
  t.throws(() => reader('7fffffff00').bytes(), ProtocolDecodeError);
  t.throws(() => reader('ffffffff').nonNullBytes(), ProtocolDecodeError);
  t.equal(written((w) => w.bytes(Buffer.from([9]))).toString('hex'), '0000000109');
  t.equal(written((w) => w.compactBytes(null)).toString('hex'), '00');

  const uuidSource = hex('000102030405060708090a0b0c0d0e0f10');
  const u = new Reader(uuidSource).uuid();
  t.equal(u.length, 16);
  t.equal(u.buffer, uuidSource.buffer, 'uuid is a view');
  t.throws(() => reader('0001020304').uuid(), ProtocolDecodeError);
  t.throws(() => written((w) => w.uuid(Buffer.alloc(15))), ProtocolEncodeError);
});

t.test('array lengths are checked before anything is allocated', async (t) => {
  t.equal(reader('ffffffff').arrayLength(), -1);
  t.equal(reader('00').compactArrayLength(), -1);
  t.throws(() => reader('ffffffff').nonNullArrayLength(), ProtocolDecodeError);
  t.throws(() => reader('00').nonNullCompactArrayLength(), ProtocolDecodeError);
  t.throws(() => reader('fffffffe').arrayLength(), ProtocolDecodeError, 'negative count');
  t.throws(() => reader('80000000').arrayLength(), ProtocolDecodeError, 'min int32 count');
  const start = process.hrtime.bigint();
  t.throws(() => reader('7fffffff 00000000').arrayLength(4), ProtocolDecodeError, '2^31-1 elements');
  t.throws(() => reader('ffffffff0f 00').compactArrayLength(1), ProtocolDecodeError, '2^32-2 elements');
  t.ok(process.hrtime.bigint() - start < 50_000_000n, 'fails fast');
  t.equal(reader('00000002 0000000100000002').arrayLength(4), 2);
  t.throws(() => reader('00000002 00000001000000').arrayLength(4), ProtocolDecodeError, 'two int32s need 8 bytes');
});

t.test('truncation of every fixed-width read', async (t) => {
  const empty = () => new Reader(Buffer.alloc(0));
  for (const read of [
    (r: Reader) => r.int8(),
    (r: Reader) => r.int16(),
    (r: Reader) => r.uint16(),
    (r: Reader) => r.int32(),
    (r: Reader) => r.uint32(),
    (r: Reader) => r.int64(),
    (r: Reader) => r.float64(),
    (r: Reader) => r.bool(),
    (r: Reader) => r.uuid(),
    (r: Reader) => r.string(),
    (r: Reader) => r.bytes(),
  ]) {
    t.throws(() => read(empty()), ProtocolDecodeError);
  }
  const r = new Reader(hex('0102030405'), 1, 3);
  t.equal(r.int16(), 0x0203);
  t.throws(() => r.int8(), ProtocolDecodeError, 'the window end is respected');
  t.throws(() => new Reader(Buffer.alloc(2), 3), RangeError);
});

t.test('ProtocolDecodeError carries codes', async (t) => {
  try {
    reader('').int32();
    t.fail('should throw');
  } catch (error) {
    t.ok(error instanceof ProtocolDecodeError);
    t.ok(error instanceof KafkaError);
    t.equal((error as ProtocolDecodeError).kafkaCode, ErrorCode.INVALID_REQUEST);
    t.equal((error as ProtocolDecodeError).code, 'ERR_PROTOCOL_DECODE');
  }
});

t.test('tagged fields', async (t) => {
  const r = reader('02 00 02 aaaa 05 01 bb 7f');
  t.same(
    r.readTaggedFields().map((f) => [f.tag, f.data.toString('hex')]),
    [
      [0, 'aaaa'],
      [5, 'bb'],
    ],
  );
  t.equal(r.int8(), 0x7f);
  const s = reader('02 00 02 aaaa 05 01 bb 7f');
  s.skipTaggedFields();
  t.equal(s.int8(), 0x7f);
  t.throws(() => reader('01 00 05 aa').skipTaggedFields(), ProtocolDecodeError);
  t.throws(() => reader('01 00').taggedFieldEnd(5), ProtocolDecodeError);
  const body = new Writer();
  body.int32(7);
  const w = new Writer();
  w.uvarint(1);
  w.taggedField(3, body);
  t.equal(w.toBuffer().toString('hex'), '01030400000007');
});

t.test('writer growth and records chunks', async (t) => {
  const w = new Writer(16);
  for (let i = 0; i < 1000; i++) w.int32(i);
  const b = w.toBuffer();
  t.equal(b.length, 4000);
  t.equal(b.readInt32BE(3996), 999);

  const small = Buffer.alloc(100, 1);
  const big = Buffer.alloc(INLINE_RECORDS_LIMIT, 2);
  const region: RecordsChunk = { byteLength: 5000 };
  const v = new Writer(16);
  v.int32(0);
  v.records(small, false);
  v.int8(9);
  v.records(big, true);
  v.int16(7);
  v.records(region, false);
  v.records(null, false);
  v.records(null, true);
  v.patchInt32(0, v.byteLength - 4);
  const chunks = v.finish();
  t.equal(chunks.length, 5, 'inline, big buffer, inline, region, inline');
  t.equal(chunks[1], big, 'a 64 KiB buffer is passed through, not copied');
  t.equal(chunks[3], region, 'a non-Buffer chunk is passed through');
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  t.equal(v.byteLength, total);
  t.equal(v.byteLength, 4 + 4 + 100 + 1 + 3 + INLINE_RECORDS_LIMIT + 2 + 4 + 5000 + 4 + 1);
  const first = chunks[0] as Buffer;
  t.equal(first.readInt32BE(0), total - 4, 'patched size prefix');
  t.equal(first.readInt32BE(4), 100);
  t.ok(first.subarray(8, 108).equals(small), 'small buffer copied inline');
  t.equal(first[108], 9);
  t.equal(first.subarray(109).toString('hex'), '818004', 'compact length of 65536 + 1');
  t.equal((chunks[2] as Buffer).toString('hex'), '0007' + '00001388');
  t.equal((chunks[4] as Buffer).toString('hex'), 'ffffffff00');
  t.throws(() => v.toBuffer(), ProtocolEncodeError, 'toBuffer refuses non-Buffer chunks');

  const only = new Writer();
  only.records(big, false);
  const all = only.toBuffer();
  t.equal(all.length, 4 + big.length);
  t.equal(all.readInt32BE(0), big.length);
});

t.test('writing after a chunk keeps earlier bytes intact', async (t) => {
  const w = new Writer(16);
  w.int32(1);
  w.records({ byteLength: 1 }, false);
  for (let i = 0; i < 100; i++) w.int32(i); // forces growth after the flush
  w.patchInt32(0, 42);
  const chunks = w.finish();
  t.equal((chunks[0] as Buffer).readInt32BE(0), 42);
  t.equal((chunks[0] as Buffer).readInt32BE(4), 1);
  t.equal((chunks[2] as Buffer).length, 400);
  t.equal((chunks[2] as Buffer).readInt32BE(396), 99);
});
