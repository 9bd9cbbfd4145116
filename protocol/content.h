/*
 * content.h - content header frames: class id, weight, body size and the
 * basic properties. The properties block is kept exactly as the publisher
 * sent it, so the broker can forward it byte for byte (DESIGN.md §3).
 */
#ifndef WRN_CONTENT_H
#define WRN_CONTENT_H

#include "methods.h"
#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_content_header {
    uint16_t class_id;
    uint16_t weight;
    uint64_t body_size;
    struct wrn_slice properties; /* flag word(s) + property list, as received */
    struct wrn_basic_properties basic; /* the same, decoded (class basic only) */
};

/*
 * Decode a content header frame payload. The properties block is returned
 * raw and, for class basic, decoded into h->basic (tables validated), so
 * callers need not decode it again.
 * Returns WRN_OK or WRN_EPROTO.
 */
int wrn_content_header_decode(const uint8_t *p, size_t len, struct wrn_content_header *h);

/*
 * Encode a content header frame payload (not the frame header) for class_id
 * with the given raw properties block. Returns its length or WRN_ENOSPC.
 */
int wrn_content_header_encode(uint16_t class_id, uint64_t body_size, struct wrn_slice properties,
                              uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* WRN_CONTENT_H */
