/*
 * fuzz_method.c - libFuzzer target for the generated method codec. What
 * decodes must re-encode into no more bytes than it came from, decode
 * again, and encode to the same bytes a second time; it must also survive
 * a trip through a method frame.
 */
#include <stdlib.h>

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
    struct wrn_method m, m2;
    struct wrn_frame f;
    uint8_t *a, *b, *frame;
    int rc, na, nb, nf;

    rc = wrn_method_decode(data, size, &m);
    (void)wrn_method_name(m.id);
    (void)wrn_method_synchronous(m.id);
    (void)wrn_method_has_content(m.id);
    (void)wrn_method_server_receives(m.id);
    if (rc != WRN_OK) {
        CHECK(rc == WRN_EPROTO || rc == WRN_EUNKNOWN);
        CHECK(rc != WRN_EUNKNOWN || !wrn_method_known(m.id));
        return 0;
    }
    CHECK(wrn_method_known(m.id));

    a = malloc(size);
    b = malloc(size);
    frame = malloc(size + WRN_FRAME_OVERHEAD);
    CHECK(a != NULL && b != NULL && frame != NULL);
    /* Unused bits and trailing bytes are dropped, so never longer. */
    na = wrn_method_encode(&m, a, size);
    CHECK(na >= 4 && (size_t)na <= size);
    CHECK(wrn_method_decode(a, (size_t)na, &m2) == WRN_OK && m2.id == m.id);
    nb = wrn_method_encode(&m2, b, (size_t)na);
    CHECK(nb == na && memcmp(a, b, (size_t)na) == 0);
    /* Too little room is reported, never overrun. */
    CHECK(wrn_method_encode(&m2, b, (size_t)na - 1) == WRN_ENOSPC);

    nf = wrn_frame_encode_method(7, &m, frame, size + WRN_FRAME_OVERHEAD);
    CHECK(nf == na + WRN_FRAME_OVERHEAD);
    CHECK(wrn_frame_parse(frame, (size_t)nf, 0, &f) == nf);
    CHECK(f.type == WRN_FRAME_METHOD && f.channel == 7 && f.payload.len == (uint32_t)na);
    CHECK(memcmp(f.payload.p, a, (size_t)na) == 0);

    free(a);
    free(b);
    free(frame);
    return 0;
}
