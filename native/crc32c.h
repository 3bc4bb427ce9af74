// CRC-32C (Castagnoli), the checksum of Kafka record batches (magic 2).
#pragma once

#include <cstddef>
#include <cstdint>

namespace spate {

// Chainable: Crc32c(Crc32c(0, a), b) == Crc32c(0, a || b). Uses the SSE4.2 crc32
// instruction (three interleaved streams) when the CPU has it, else the portable code.
uint32_t Crc32c(uint32_t crc, const void* data, size_t length);

// Table-driven (slicing-by-8) implementation, exported for tests and the benchmark.
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t length);

// Whether Crc32c uses the hardware instruction on this machine.
bool Crc32cHardwareAccelerated();

}  // namespace spate
