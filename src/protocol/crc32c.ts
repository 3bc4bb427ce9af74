// CRC-32C (Castagnoli), the checksum of record batch v2, in plain JS: slicing-by-8 over eight
// 256-entry tables. The native data plane has an SSE4.2 version; this one is its reference and the
// baseline of its benchmark.

const POLY = 0x82f63b78; // reflected 0x1EDC6F41

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
    tables.push(t);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = buildTables() as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/**
 * CRC-32C of `data`. Pass the result of a previous call as `previous` to continue a checksum over
 * several pieces: crc32cTable(b, crc32cTable(a)) === crc32cTable(a + b).
 */
export function crc32cTable(data: Uint8Array, previous = 0): number {
  let crc = ~previous;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    const one = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc = T7[one & 0xff]! ^ T6[(one >>> 8) & 0xff]! ^ T5[(one >>> 16) & 0xff]! ^ T4[one >>> 24]! ^ T3[data[i + 4]!]! ^ T2[data[i + 5]!]! ^ T1[data[i + 6]!]! ^ T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) crc = T0[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Alias for code that does not care which implementation it gets. */
export const crc32c = crc32cTable;
