import t from 'tap';
import { crc32c, crc32cTable } from '../../src/protocol/crc32c.js';

// Check values from RFC 3720 (iSCSI), appendix B.4, and the usual "123456789" check value.
t.test('known vectors', async (t) => {
  t.equal(crc32cTable(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32cTable(Buffer.alloc(32, 0)), 0x8a9136aa);
  t.equal(crc32cTable(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  t.equal(crc32cTable(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  t.equal(crc32cTable(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  t.equal(crc32cTable(Buffer.alloc(0)), 0);
  t.equal(crc32c, crc32cTable);
});

t.test('every length and alignment agrees with a bitwise reference', async (t) => {
  const reference = (data: Uint8Array): number => {
    let crc = 0xffffffff;
    for (const byte of data) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
  let mismatches = 0;
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= data.length; end += 7) {
      if (crc32cTable(data.subarray(start, end)) !== reference(data.subarray(start, end))) mismatches++;
    }
  }
  t.equal(mismatches, 0);
});

t.test('continuing a checksum over pieces', async (t) => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  const whole = crc32cTable(data);
  for (const cut of [0, 1, 8, 13, data.length]) {
    t.equal(crc32cTable(data.subarray(cut), crc32cTable(data.subarray(0, cut))), whole, `cut at ${cut}`);
  }
});
