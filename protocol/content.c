/*
 * content.c - content header frame payloads: class id, weight, body size
 * and the properties block. The block is validated once here and then
 * handed back as the publisher's bytes, so it can be stored and forwarded
 * without re-encoding (DESIGN.md section 3).
 */
#include "content.h"

#include <limits.h>

#define CONTENT_HEADER_FIXED 12 /* class-id, weight, body-size; then a flag word */

/*
 * Decode a content header payload. For basic, the only class with content
 * in 0-9-1, the properties are decoded to check them (tables included).
 * Other classes have no properties defined, so only the flag word is
 * required; the broker refuses a class that does not match its method.
 */
int
wrn_content_header_decode(const uint8_t *p, size_t len, struct wrn_content_header *h)
{
    struct wrn_cursor c;

    if (len < CONTENT_HEADER_FIXED + 2 || len - CONTENT_HEADER_FIXED > UINT32_MAX)
        return WRN_EPROTO;
    wrn_cursor_init(&c, p, len);
    wrn_get_u16(&c, &h->class_id);
    wrn_get_u16(&c, &h->weight);
    wrn_get_u64(&c, &h->body_size);
    h->properties.p = c.p;
    h->properties.len = (uint32_t)wrn_cursor_left(&c);
    if (h->class_id == WRN_CLASS_BASIC &&
        wrn_basic_properties_decode(h->properties.p, h->properties.len, &h->basic) != WRN_OK)
        return WRN_EPROTO;
    return WRN_OK;
}

/* Weight is unused in 0-9-1 and always written as 0. */
int
wrn_content_header_encode(uint16_t class_id, uint64_t body_size, struct wrn_slice properties,
                          uint8_t *out, size_t cap)
{
    struct wrn_wbuf w;

    wrn_wbuf_init(&w, out, cap);
    wrn_put_u16(&w, class_id);
    wrn_put_u16(&w, 0);
    wrn_put_u64(&w, body_size);
    wrn_put_bytes(&w, properties.p, properties.len);
    if (w.overflow || w.len > INT_MAX)
        return WRN_ENOSPC;
    return (int)w.len;
}
