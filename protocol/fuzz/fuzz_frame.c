/*
 * fuzz_frame.c - libFuzzer target for frame parsing. The first input byte
 * picks a frame_max, the rest is a byte stream cut into frames the way the
 * broker does it; method and content-header payloads are decoded too.
 */
#include <stdlib.h>

#include "content.h"
#include "frame.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t frame_maxes[] = {0, 8, 4096, WRN_FRAME_MIN_SIZE, 131072};
    struct wrn_frame f;
    struct wrn_method m;
    struct wrn_content_header h;
    uint32_t frame_max;
    size_t off = 0;
    int n;

    if (size < 1)
        return 0;
    frame_max = frame_maxes[data[0] % (sizeof(frame_maxes) / sizeof(frame_maxes[0]))];
    data++;
    size--;

    n = wrn_protocol_header_check(data, size);
    CHECK(n == WRN_OK || n == WRN_AGAIN || n == WRN_EPROTO);

    while (off < size) {
        n = wrn_frame_parse(data + off, size - off, frame_max, &f);
        if (n <= 0) {
            CHECK(n == WRN_AGAIN || n == WRN_EPROTO || n == WRN_ETOOBIG);
            break;
        }
        /* The frame lies inside the input and respects frame_max. */
        CHECK((size_t)n <= size - off);
        CHECK(f.payload.p == data + off + WRN_FRAME_HEADER_SIZE);
        CHECK((size_t)f.payload.len + WRN_FRAME_OVERHEAD == (size_t)n);
        CHECK(frame_max == 0 || (uint32_t)n <= frame_max);
        CHECK(data[off + (size_t)n - 1] == WRN_FRAME_END);
        /* Any shorter prefix of a good frame is "need more bytes". */
        CHECK(wrn_frame_parse(data + off, (size_t)n - 1, frame_max, &f) == WRN_AGAIN);
        n = wrn_frame_parse(data + off, size - off, frame_max, &f);

        if (f.type == WRN_FRAME_METHOD) {
            int rc = wrn_method_decode(f.payload.p, f.payload.len, &m);
            CHECK(rc == WRN_OK || rc == WRN_EPROTO || rc == WRN_EUNKNOWN);
        } else if (f.type == WRN_FRAME_HEADER) {
            int rc = wrn_content_header_decode(f.payload.p, f.payload.len, &h);
            CHECK(rc == WRN_OK || rc == WRN_EPROTO);
        }
        off += (size_t)n;
    }
    return 0;
}
