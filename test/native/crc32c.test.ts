import { randomBytes } from 'node:crypto';
import t from 'tap';
import { crc32c, crc32cHardware, crc32cPortable } from '../../src/log/native.js';

t.test('known CRC-32C vectors (RFC 3720 appendix B.4)', async (t) => {
  for (const fn of [crc32c, crc32cPortable]) {
    t.equal(fn(Buffer.from('123456789')), 0xe3069283);
    t.equal(fn(Buffer.alloc(32, 0)), 0x8a9136aa);
    t.equal(fn(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    t.equal(fn(ascending), 0x46dd794e);
    t.equal(fn(Buffer.alloc(0)), 0);
  }
});

t.test('chaining with an initial value', async (t) => {
  const data = randomBytes(10_000);
  for (const cut of [0, 1, 7, 4096, 9999]) {
    t.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data));
    t.equal(crc32cPortable(data.subarray(cut), crc32cPortable(data.subarray(0, cut))), crc32c(data));
  }
});

t.test('hardware and portable agree on random sizes and alignments', async (t) => {
  t.comment(`hardware CRC: ${crc32cHardware}`);
  const data = randomBytes(100_000);
  // Sizes around the 3-way block boundaries (3 x 256 and 3 x 8192) and random ones.
  const sizes = [0, 1, 7, 8, 9, 767, 768, 769, 1535, 24_575, 24_576, 24_577, 49_152 + 800];
  for (let i = 0; i < 200; i++) sizes.push(Math.floor(Math.random() * 60_000));
  let mismatches = 0;
  for (const size of sizes) {
    for (const offset of [0, 1, 3, 5, 8]) {
      const slice = data.subarray(offset, offset + size);
      if (crc32c(slice) !== crc32cPortable(slice)) mismatches++;
    }
  }
  t.equal(mismatches, 0);
});

t.test('accepts Uint8Array views, rejects other types', async (t) => {
  const backing = new Uint8Array(12);
  backing.set(Buffer.from('xx123456789'));
  t.equal(crc32c(backing.subarray(2, 11)), 0xe3069283);
  t.throws(() => crc32c('123456789' as unknown as Uint8Array), { code: 'ERR_INVALID_ARG_TYPE' });
});
