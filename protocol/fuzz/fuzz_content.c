/*
 * fuzz_content.c - libFuzzer target for content header payloads and basic
 * properties. Accepted properties must re-encode and decode to the same
 * fields, and the raw block must come back exactly as it went in.
 */
#include <stdlib.h>

#include "content.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_props(const struct wrn_basic_properties *x, const struct wrn_basic_properties *y)
{
    return x->flags == y->flags && wrn_slice_eq(x->content_type, y->content_type) &&
           wrn_slice_eq(x->content_encoding, y->content_encoding) &&
           wrn_slice_eq(x->headers, y->headers) && x->delivery_mode == y->delivery_mode &&
           x->priority == y->priority && wrn_slice_eq(x->correlation_id, y->correlation_id) &&
           wrn_slice_eq(x->reply_to, y->reply_to) && wrn_slice_eq(x->expiration, y->expiration) &&
           wrn_slice_eq(x->message_id, y->message_id) && x->timestamp == y->timestamp &&
           wrn_slice_eq(x->type, y->type) && wrn_slice_eq(x->user_id, y->user_id) &&
           wrn_slice_eq(x->app_id, y->app_id) && wrn_slice_eq(x->cluster_id, y->cluster_id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wrn_content_header h;
    struct wrn_basic_properties p, q;

    if (wrn_content_header_decode(data, size, &h) == WRN_OK) {
        uint8_t *out = malloc(size);
        int n;

        CHECK(out != NULL);
        CHECK(h.properties.p >= data && h.properties.p + h.properties.len == data + size);
        n = wrn_content_header_encode(h.class_id, h.body_size, h.properties, out, size);
        CHECK(n >= 0 && (size_t)n == size);
        /* Byte for byte, except the weight, which is always written as 0. */
        CHECK(memcmp(out, data, 2) == 0 && out[2] == 0 && out[3] == 0);
        CHECK(memcmp(out + 4, data + 4, size - 4) == 0);
        CHECK(wrn_content_header_encode(h.class_id, h.body_size, h.properties, out, size - 1) ==
              WRN_ENOSPC);
        if (h.class_id == WRN_CLASS_BASIC)
            CHECK(wrn_basic_properties_decode(h.properties.p, h.properties.len, &p) == WRN_OK);
        free(out);
    }

    if (wrn_basic_properties_decode(data, size, &p) == WRN_OK) {
        uint8_t *out = malloc(size + 2);
        int n;

        CHECK(out != NULL);
        /* Extra flag words are dropped, so the re-encoding is never longer. */
        n = wrn_basic_properties_encode(&p, out, size + 2);
        CHECK(n >= 2 && (size_t)n <= size);
        CHECK(wrn_basic_properties_decode(out, (size_t)n, &q) == WRN_OK);
        CHECK(same_props(&p, &q));
        free(out);
    }
    return 0;
}
