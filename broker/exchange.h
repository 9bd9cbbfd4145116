/*
 * exchange.h - exchanges and bindings, and routing a message to the set of
 * queues it reaches (each once), following exchange-to-exchange bindings and
 * alternate exchanges.
 */
#ifndef WRN_EXCHANGE_H
#define WRN_EXCHANGE_H

#include "wire.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_vhost;
struct wrn_queue;
struct wrn_msg;
struct wrn_dict;
struct wrn_topic_trie;

enum wrn_exchange_type {
    WRN_EXCHANGE_DIRECT,
    WRN_EXCHANGE_FANOUT,
    WRN_EXCHANGE_TOPIC,
    WRN_EXCHANGE_HEADERS,
};

struct wrn_exchange;

/* A binding from an exchange to a queue or to another exchange. */
struct wrn_binding {
    struct wrn_exchange *source;    /* borrowed */
    struct wrn_queue *dest_queue;   /* borrowed; NULL for an exchange binding */
    struct wrn_exchange *dest_exch; /* borrowed; NULL for a queue binding */
    uint8_t key_len;
    uint8_t key[255];
    uint32_t args_len;
    uint8_t *args; /* owned, table contents */
    struct wrn_binding *src_next, *src_prev; /* in source->bindings */
    struct wrn_binding *dst_next, *dst_prev; /* in the destination's incoming list */
    struct wrn_binding *key_next;            /* direct index chain */
};

struct wrn_exchange {
    char *name; /* owned */
    uint8_t name_len;
    struct wrn_vhost *vhost; /* borrowed */
    enum wrn_exchange_type type;
    bool durable, auto_delete, internal;
    bool builtin; /* the default exchange and amq.*: cannot be deleted */
    bool deleting; /* being deleted: do not auto-delete it again */
    uint32_t args_len;
    uint8_t *args; /* owned */
    struct wrn_slice alternate; /* alternate-exchange name, points into args */
    struct wrn_binding *bindings; /* owned: bindings with this exchange as source */
    uint32_t nbindings;
    struct wrn_binding *incoming; /* borrowed: bindings with this exchange as destination */
    struct wrn_dict *direct_index;     /* owned, direct: routing key -> binding chain */
    struct wrn_topic_trie *topic_trie; /* owned, topic: pattern -> binding */
    uint64_t epoch;                    /* routing pass that last visited it */
};

/* "direct" ... -> type; false for an unknown type name. */
bool wrn_exchange_type_parse(struct wrn_slice name, enum wrn_exchange_type *type);
const char *wrn_exchange_type_name(enum wrn_exchange_type type);

struct wrn_exchange *wrn_exchange_new(struct wrn_vhost *v, struct wrn_slice name,
                                      enum wrn_exchange_type type, bool durable,
                                      bool auto_delete, bool internal, struct wrn_slice args);
/* Remove all bindings to and from it, unlink it from its vhost and free it. */
void wrn_exchange_delete(struct wrn_exchange *x);

/* The binding (source, dest, key, args) if it exists. */
struct wrn_binding *wrn_binding_find(struct wrn_exchange *src, struct wrn_queue *q,
                                     struct wrn_exchange *dx, struct wrn_slice key,
                                     struct wrn_slice args);
/* Add a binding; the caller checked it does not exist yet. */
struct wrn_binding *wrn_binding_add(struct wrn_exchange *src, struct wrn_queue *q,
                                    struct wrn_exchange *dx, struct wrn_slice key,
                                    struct wrn_slice args);
/* Remove and free a binding; an auto-delete source that loses its last one goes too. */
void wrn_binding_remove(struct wrn_binding *b);

/* The routing result: the queues a message reaches, each once. */
struct wrn_route {
    struct wrn_queue **queues; /* owned array, reused between messages */
    uint32_t count;
    uint32_t cap;
};

void wrn_route_fini(struct wrn_route *r);

/*
 * Route msg from exchange x into r (cleared first) by its nkeys routing
 * keys (the publish key, then any CC/BCC keys). Follows exchange-to-exchange
 * bindings with all the keys, and alternate exchanges when an exchange
 * matches nothing; each queue is added once, each exchange visited once.
 */
void wrn_exchange_route(struct wrn_exchange *x, struct wrn_msg *msg, const struct wrn_slice *keys,
                        uint32_t nkeys, struct wrn_route *r);

#ifdef __cplusplus
}
#endif

#endif /* WRN_EXCHANGE_H */
