/*
 * message.c - message allocation and reference counting.
 */
#include "message.h"

#include "alloc.h"
#include "log.h"
#include "memory.h"
#include "methods.h"
#include "persist.h"

static uint64_t bytes_in_use;

uint64_t
wrn_msg_bytes(void)
{
    return bytes_in_use;
}

/* The memory a message holds: its block, and its body when that lives apart. */
static size_t
held_bytes(const struct wrn_msg *m)
{
    size_t head = sizeof(*m) + m->exchange_len + m->routing_key_len + m->props_len;

    if (m->body == NULL || m->body_apart)
        return head + (m->body != NULL ? m->body_size : 0);
    return head + m->body_size;
}

static struct wrn_msg *
msg_alloc(struct wrn_slice exchange, struct wrn_slice routing_key, struct wrn_slice props,
          uint64_t body_size, bool inline_body)
{
    size_t head = (size_t)exchange.len + routing_key.len + props.len;
    struct wrn_msg *m;

    WRN_ASSERT(exchange.len <= 255 && routing_key.len <= 255);
    m = wrn_xmalloc(sizeof(*m) + head + (inline_body ? body_size : 0));
    m->refs = 1;
    m->exchange_len = (uint8_t)exchange.len;
    m->routing_key_len = (uint8_t)routing_key.len;
    m->props_len = props.len;
    m->body_size = body_size;
    m->body_filled = 0;
    m->props = m->data + exchange.len + routing_key.len;
    m->body = inline_body ? m->props + props.len : NULL;
    m->body_apart = false;
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
    m->page_id = 0;
    m->put_gen = 0;
    m->put_op = 0;
    m->bcc = NULL;
    m->bcc_len = 0;
    bytes_in_use += held_bytes(m);
    wrn_memory_check();
    return m;
}

struct wrn_msg *
wrn_msg_new(struct wrn_slice exchange, struct wrn_slice routing_key, struct wrn_slice props,
            uint64_t body_size)
{
    return msg_alloc(exchange, routing_key, props, body_size, true);
}

struct wrn_msg *
wrn_msg_new_paged(struct wrn_slice exchange, struct wrn_slice routing_key, struct wrn_slice props,
                  uint64_t body_size)
{
    struct wrn_msg *m = msg_alloc(exchange, routing_key, props, body_size, false);

    m->body_filled = body_size;
    return m;
}

void
wrn_msg_set_body(struct wrn_msg *m, const void *p, size_t len)
{
    WRN_ASSERT(wrn_msg_paged(m) && len == m->body_size);
    m->body = wrn_xmalloc(len);
    memcpy(m->body, p, len);
    m->body_apart = true;
    bytes_in_use += len;
    wrn_memory_check();
}

void
wrn_msg_unref(struct wrn_msg *m)
{
    WRN_ASSERT(m->refs > 0);
    if (--m->refs == 0) {
        if (m->page_id != 0)
            wrn_persist_drop_page(m);
        bytes_in_use -= held_bytes(m);
        if (m->body_apart)
            wrn_free(m->body);
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
