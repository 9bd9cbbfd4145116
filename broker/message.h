/*
 * message.h - a published message: exchange, routing key, the properties
 * block exactly as the publisher encoded it, and the body. One allocation per
 * message, reference-counted and shared by every queue it was routed to and
 * every delivery of it still in flight (DESIGN.md §4).
 */
#ifndef WRN_MESSAGE_H
#define WRN_MESSAGE_H

#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_msg {
    /* ordered widest first: a backlog holds a million of these */
    uint32_t refs;
    uint32_t props_len;
    uint64_t body_size;
    uint64_t body_filled; /* bytes of body received so far while assembling */
    int64_t expiration;   /* expiration property in ms, -1 if absent */
    uint64_t store_id;    /* id of its stored body, 0 if not stored */
    uint64_t page_id;     /* a transient body paged out to the store (key N), 0 if not */
    uint64_t put_gen;     /* the body's put: operation put_op of generation put_gen's */
    uint8_t *bcc;         /* owned: BCC keys removed from the headers (array contents);
                           * they still route the message when it is dead-lettered */
    uint8_t *props;       /* points into data */
    uint8_t *body;        /* points into data, or its own allocation (body_apart), or
                           * NULL while paged out to the store */
    uint32_t bcc_len;
    uint32_t store_refs;  /* stored queue entries that reference the body */
    uint32_t put_op;      /* batch, cancelled if its last entry goes first (persist.c) */
    uint8_t exchange_len;
    uint8_t routing_key_len;
    uint8_t delivery_mode;
    uint8_t priority;     /* priority property, 0 if absent */
    bool cc_bcc;          /* headers carry CC or BCC routing keys */
    bool body_apart;
    uint8_t data[];       /* exchange, routing key, props, body */
};

/*
 * A message for body_size bytes of body with the given routing facts and
 * properties block copied in; the body is filled by the caller. One ref.
 */
struct wrn_msg *wrn_msg_new(struct wrn_slice exchange, struct wrn_slice routing_key,
                            struct wrn_slice props, uint64_t body_size);

static inline struct wrn_msg *
wrn_msg_ref(struct wrn_msg *m)
{
    m->refs++;
    return m;
}

void wrn_msg_unref(struct wrn_msg *m);

static inline struct wrn_slice
wrn_msg_exchange(const struct wrn_msg *m)
{
    struct wrn_slice s = {m->data, m->exchange_len};
    return s;
}

static inline struct wrn_slice
wrn_msg_routing_key(const struct wrn_msg *m)
{
    struct wrn_slice s = {m->data + m->exchange_len, m->routing_key_len};
    return s;
}

static inline struct wrn_slice
wrn_msg_props(const struct wrn_msg *m)
{
    struct wrn_slice s = {m->props, m->props_len};
    return s;
}

/*
 * A message whose body stays in the store (recovery, paging): header and
 * properties in memory, body NULL until wrn_msg_set_body(). One ref.
 */
struct wrn_msg *wrn_msg_new_paged(struct wrn_slice exchange, struct wrn_slice routing_key,
                                  struct wrn_slice props, uint64_t body_size);
/* Give a paged message its body back: len bytes at p are copied. */
void wrn_msg_set_body(struct wrn_msg *m, const void *p, size_t len);
static inline bool
wrn_msg_paged(const struct wrn_msg *m)
{
    return m->body == NULL && m->body_size > 0;
}

/* Bytes held by live messages: what the memory budget (memory.c) watches. */
uint64_t wrn_msg_bytes(void);

/* The headers table of the message (contents), or an empty slice. */
struct wrn_slice wrn_msg_headers(const struct wrn_msg *m);

#ifdef __cplusplus
}
#endif

#endif /* WRN_MESSAGE_H */
