// CRC-32C with runtime dispatch. The hardware path is compiled for SSE4.2 with a function
// attribute only, so the rest of the addon runs on any x86-64 and the choice is made once,
// at load, with __builtin_cpu_supports.
#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define SPATE_CRC32C_X86 1
#endif

namespace spate {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // Castagnoli, bit-reflected

// Slicing-by-8 tables: table[k][b] is the CRC register after byte b followed by k zero bytes.
struct SlicingTables {
  uint32_t table[8][256];
  SlicingTables() {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t crc = b;
      for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (kPolynomial & (0u - (crc & 1)));
      table[0][b] = crc;
    }
    for (uint32_t b = 0; b < 256; b++) {
      for (int k = 1; k < 8; k++) {
        uint32_t prev = table[k - 1][b];
        table[k][b] = (prev >> 8) ^ table[0][prev & 0xff];
      }
    }
  }
};

const SlicingTables& Tables() {
  static const SlicingTables tables;
  return tables;
}

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

// The raw register update (no pre/post inversion).
uint32_t RawPortable(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = Tables().table;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    n--;
  }
  while (n >= 8) {
    uint64_t word = LoadLe64(p) ^ crc;
    crc = t[7][word & 0xff] ^ t[6][(word >> 8) & 0xff] ^ t[5][(word >> 16) & 0xff] ^
          t[4][(word >> 24) & 0xff] ^ t[3][(word >> 32) & 0xff] ^ t[2][(word >> 40) & 0xff] ^
          t[1][(word >> 48) & 0xff] ^ t[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#ifdef SPATE_CRC32C_X86

// Block sizes of the three interleaved streams. The long block amortises the combine step
// over big buffers; the short one still gives the 3x instruction-level parallelism to
// buffers of a few KiB (a typical record batch).
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;

// Shifting a register over `length` zero bytes is linear over GF(2), so it is a table
// lookup per register byte: shift(x) = T0[x0] ^ T1[x1] ^ T2[x2] ^ T3[x3].
struct ZeroShift {
  uint32_t table[4][256];
  explicit ZeroShift(size_t length) {
    static const uint8_t zeros[kLongBlock] = {};
    uint32_t basis[32];
    for (int bit = 0; bit < 32; bit++) basis[bit] = RawPortable(1u << bit, zeros, length);
    for (int k = 0; k < 4; k++) {
      for (uint32_t b = 0; b < 256; b++) {
        uint32_t v = 0;
        for (int bit = 0; bit < 8; bit++)
          if (b & (1u << bit)) v ^= basis[8 * k + bit];
        table[k][b] = v;
      }
    }
  }
  uint32_t operator()(uint32_t x) const {
    return table[0][x & 0xff] ^ table[1][(x >> 8) & 0xff] ^ table[2][(x >> 16) & 0xff] ^
           table[3][x >> 24];
  }
};

const ZeroShift& LongShift() {
  static const ZeroShift shift(kLongBlock);
  return shift;
}
const ZeroShift& ShortShift() {
  static const ZeroShift shift(kShortBlock);
  return shift;
}

template <size_t kBlock>
__attribute__((target("sse4.2"))) inline uint64_t ThreeWay(uint64_t crc0, const uint8_t*& p,
                                                            size_t& n, const ZeroShift& shift) {
  while (n >= 3 * kBlock) {
    uint64_t crc1 = 0, crc2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      crc0 = _mm_crc32_u64(crc0, LoadLe64(p + i));
      crc1 = _mm_crc32_u64(crc1, LoadLe64(p + kBlock + i));
      crc2 = _mm_crc32_u64(crc2, LoadLe64(p + 2 * kBlock + i));
    }
    // raw(c, A||B||C) = shift(shift(raw(c, A)) ^ raw(0, B)) ^ raw(0, C)
    crc0 = shift(static_cast<uint32_t>(crc0)) ^ static_cast<uint32_t>(crc1);
    crc0 = shift(static_cast<uint32_t>(crc0)) ^ static_cast<uint32_t>(crc2);
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return crc0;
}

__attribute__((target("sse4.2"))) uint32_t RawSse42(uint32_t crc, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    n--;
  }
  uint64_t crc64 = crc;
  crc64 = ThreeWay<kLongBlock>(crc64, p, n, LongShift());
  crc64 = ThreeWay<kShortBlock>(crc64, p, n, ShortShift());
  while (n >= 8) {
    crc64 = _mm_crc32_u64(crc64, LoadLe64(p));
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(crc64);
  while (n-- > 0) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

#endif  // SPATE_CRC32C_X86

using RawFunction = uint32_t (*)(uint32_t, const uint8_t*, size_t);

RawFunction ChooseRaw() {
#ifdef SPATE_CRC32C_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) {
    LongShift();  // build the combine tables now, not on the first big buffer
    ShortShift();
    return RawSse42;
  }
#endif
  return RawPortable;
}

const RawFunction g_raw = ChooseRaw();

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t length) {
  return ~g_raw(~crc, static_cast<const uint8_t*>(data), length);
}

uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t length) {
  return ~RawPortable(~crc, static_cast<const uint8_t*>(data), length);
}

bool Crc32cHardwareAccelerated() { return g_raw != RawPortable; }

}  // namespace spate
