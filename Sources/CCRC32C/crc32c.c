#include "ccrc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int ccrc32c_hardware_available(void) {
    static int available = -1;
    if (available < 0) {
        __builtin_cpu_init();
        available = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return available;
}

__attribute__((target("sse4.2")))
uint32_t ccrc32c_hardware_update(uint32_t state, const void *bytes, size_t length) {
    const unsigned char *cursor = (const unsigned char *)bytes;
    uint64_t crc = state;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, cursor, sizeof word);
        crc = _mm_crc32_u64(crc, word);
        cursor += 8;
        length -= 8;
    }
    uint32_t crc32 = (uint32_t)crc;
    while (length > 0) {
        crc32 = _mm_crc32_u8(crc32, *cursor);
        cursor += 1;
        length -= 1;
    }
    return crc32;
}

#else

int ccrc32c_hardware_available(void) { return 0; }

uint32_t ccrc32c_hardware_update(uint32_t state, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return state;
}

#endif
