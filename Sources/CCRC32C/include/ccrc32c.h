#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SSE4.2 crc32 instruction (checked once), else 0.
int ccrc32c_hardware_available(void);

/// Continues a CRC32C (Castagnoli) over `length` bytes with the crc32 instruction. `state` is the
/// running, inverted value (start with 0xFFFFFFFF, invert at the end). Call only when
/// `ccrc32c_hardware_available()` returned 1.
uint32_t ccrc32c_hardware_update(uint32_t state, const void *bytes, size_t length);

#endif
