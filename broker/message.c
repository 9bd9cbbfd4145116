/*
 * message.c - message allocation and reference counting.
 */
#include "message.h"

#include "alloc.h"
#include "log.h"
#include "memory.h"
#include "methods.h"

static uint64_t bytes_in_use;

uint64_t
wrn_msg_bytes(void)
{
    return bytes_in_use;
}

static size_t
alloc_size(const struct wrn_msg *m)
{
    return sizeof(*m) + m->exchange_len + m->routing_key_len + m->props_len + m->body_size;
}

struct wrn_msg *
wrn_msg_new(struct wrn_slice exchange, struct wrn_slice routing_key, struct wrn_slice props,
            uint64_t body_size)
{
    size_t head = (size_t)exchange.len + routing_key.len + props.len;
    struct wrn_msg *m;

    WRN_ASSERT(exchange.len <= 255 && routing_key.len <= 255);
    m = wrn_xmalloc(sizeof(*m) + head + body_size);
    m->refs = 1;
    m->exchange_len = (uint8_t)exchange.len;
    m->routing_key_len = (uint8_t)routing_key.len;
    m->props_len = props.len;
    m->body_size = body_size;
    m->body_filled = 0;
    m->props = m->data + exchange.len + routing_key.len;
    m->body = m->props + props.len;
    if (exchange.len)
        memcpy(m->data, exchange.p, exchange.len);
    if (routing_key.len)
        memcpy(m->data + exchange.len, routing_key.p, routing_key.len);
    if (props.len)
        memcpy(m->props, props.p, props.len);
    m->delivery_mode = 0;
    m->priority = 0;
    m->expiration = -1;
    m->cc_bcc = false;
    m->store_id = 0;
    m->store_refs = 0;
    m->bcc = NULL;
    m->bcc_len = 0;
    bytes_in_use += alloc_size(m);
    wrn_memory_check();
    return m;
}

void
wrn_msg_unref(struct wrn_msg *m)
{
    WRN_ASSERT(m->refs > 0);
    if (--m->refs == 0) {
        bytes_in_use -= alloc_size(m);
        wrn_free(m->bcc);
        wrn_free(m);
        wrn_memory_check();
    }
}

struct wrn_slice
wrn_msg_headers(const struct wrn_msg *m)
{
    struct wrn_basic_properties bp;
    struct wrn_slice none = {NULL, 0};

    if (wrn_basic_properties_decode(m->props, m->props_len, &bp) != WRN_OK ||
        !(bp.flags & WRN_BASIC_HEADERS_FLAG))
        return none;
    return bp.headers;
}
