/*
 * exchange.c - exchanges, bindings and routing. Direct exchanges index their
 * bindings by routing key, topic exchanges keep a trie (router.c), fanout and
 * headers exchanges walk their bindings. A routing pass marks every exchange
 * and queue it visits with a fresh epoch, so each queue is added once and
 * exchange-to-exchange cycles end.
 */
#include "exchange.h"

#include "alloc.h"
#include "dict.h"
#include "log.h"
#include "message.h"
#include "persist.h"
#include "queue.h"
#include "router.h"
#include "server.h"
#include "table.h"
#include "vhost.h"

static const char *type_names[] = {"direct", "fanout", "topic", "headers"};

bool
wrn_exchange_type_parse(struct wrn_slice name, enum wrn_exchange_type *type)
{
    for (int i = 0; i < 4; i++) {
        if (wrn_slice_eq_str(name, type_names[i])) {
            *type = (enum wrn_exchange_type)i;
            return true;
        }
    }
    return false;
}

const char *
wrn_exchange_type_name(enum wrn_exchange_type type)
{
    return type_names[type];
}

struct wrn_exchange *
wrn_exchange_new(struct wrn_vhost *v, struct wrn_slice name, enum wrn_exchange_type type,
                 bool durable, bool auto_delete, bool internal, struct wrn_slice args)
{
    struct wrn_exchange *x = wrn_xcalloc(1, sizeof(*x));
    struct wrn_field ae;

    x->name = wrn_xstrndup(name.p, name.len);
    x->name_len = (uint8_t)name.len;
    x->vhost = v;
    x->type = type;
    x->durable = durable;
    x->auto_delete = auto_delete;
    x->internal = internal;
    x->args_len = args.len;
    x->args = wrn_xmalloc(args.len);
    if (args.len)
        memcpy(x->args, args.p, args.len);
    /* the alternate exchange is looked up by name at routing time: it may come later */
    if (wrn_table_get((struct wrn_slice){x->args, x->args_len}, "alternate-exchange", &ae) &&
        (ae.type == 'S' || ae.type == 'x'))
        x->alternate = ae.v.s;
    if (type == WRN_EXCHANGE_DIRECT)
        x->direct_index = wrn_dict_new();
    else if (type == WRN_EXCHANGE_TOPIC)
        x->topic_trie = wrn_topic_trie_new();
    wrn_dict_set(v->exchanges, name, x);
    return x;
}

void
wrn_exchange_delete(struct wrn_exchange *x)
{
    if (x->deleting)
        return;
    x->deleting = true;
    wrn_persist_exchange(x, false);
    while (x->bindings != NULL)
        wrn_binding_remove(x->bindings);
    while (x->incoming != NULL)
        wrn_binding_remove(x->incoming);
    wrn_dict_remove(x->vhost->exchanges, (struct wrn_slice){(const uint8_t *)x->name, x->name_len});
    wrn_dict_free(x->direct_index);
    wrn_topic_trie_free(x->topic_trie);
    wrn_free(x->args);
    wrn_free(x->name);
    wrn_free(x);
}

/* ---- bindings ------------------------------------------------------------- */

static bool
binding_is(const struct wrn_binding *b, struct wrn_exchange *src, struct wrn_slice key,
           struct wrn_slice args)
{
    return b->source == src && b->key_len == key.len &&
           (key.len == 0 || memcmp(b->key, key.p, key.len) == 0) &&
           wrn_table_equivalent((struct wrn_slice){b->args, b->args_len}, args);
}

struct wrn_binding *
wrn_binding_find(struct wrn_exchange *src, struct wrn_queue *q, struct wrn_exchange *dx,
                 struct wrn_slice key, struct wrn_slice args)
{
    /* the destination's incoming list is usually the shorter one */
    struct wrn_binding *b = q != NULL ? q->incoming : dx->incoming;

    for (; b != NULL; b = b->dst_next)
        if (binding_is(b, src, key, args))
            return b;
    return NULL;
}

struct wrn_binding *
wrn_binding_add(struct wrn_exchange *src, struct wrn_queue *q, struct wrn_exchange *dx,
                struct wrn_slice key, struct wrn_slice args)
{
    struct wrn_binding *b = wrn_xcalloc(1, sizeof(*b));
    struct wrn_binding **incoming = q != NULL ? &q->incoming : &dx->incoming;
    struct wrn_slice k = {b->key, (uint32_t)key.len};

    b->source = src;
    b->dest_queue = q;
    b->dest_exch = dx;
    b->key_len = (uint8_t)key.len;
    if (key.len)
        memcpy(b->key, key.p, key.len);
    b->args_len = args.len;
    b->args = wrn_xmalloc(args.len);
    if (args.len)
        memcpy(b->args, args.p, args.len);

    b->src_next = src->bindings;
    if (src->bindings)
        src->bindings->src_prev = b;
    src->bindings = b;
    src->nbindings++;
    b->dst_next = *incoming;
    if (*incoming)
        (*incoming)->dst_prev = b;
    *incoming = b;

    if (src->type == WRN_EXCHANGE_DIRECT) {
        b->key_next = wrn_dict_get(src->direct_index, k);
        wrn_dict_set(src->direct_index, k, b);
    } else if (src->type == WRN_EXCHANGE_TOPIC) {
        wrn_topic_trie_add(src->topic_trie, k, b);
    }
    return b;
}

void
wrn_binding_remove(struct wrn_binding *b)
{
    struct wrn_exchange *src = b->source;
    struct wrn_binding **incoming = b->dest_queue ? &b->dest_queue->incoming
                                                  : &b->dest_exch->incoming;
    struct wrn_slice k = {b->key, b->key_len};

    wrn_persist_binding(b, false);
    if (src->type == WRN_EXCHANGE_DIRECT) {
        struct wrn_binding *head = wrn_dict_get(src->direct_index, k), **pp = &head;
        while (*pp != b)
            pp = &(*pp)->key_next;
        *pp = b->key_next;
        if (head == NULL)
            wrn_dict_remove(src->direct_index, k);
        else
            wrn_dict_set(src->direct_index, k, head);
    } else if (src->type == WRN_EXCHANGE_TOPIC) {
        wrn_topic_trie_remove(src->topic_trie, k, b);
    }

    if (b->src_prev)
        b->src_prev->src_next = b->src_next;
    else
        src->bindings = b->src_next;
    if (b->src_next)
        b->src_next->src_prev = b->src_prev;
    src->nbindings--;
    if (b->dst_prev)
        b->dst_prev->dst_next = b->dst_next;
    else
        *incoming = b->dst_next;
    if (b->dst_next)
        b->dst_next->dst_prev = b->dst_prev;
    wrn_free(b->args);
    wrn_free(b);

    /* auto-delete: an exchange goes when its last binding (as source) goes */
    if (src->auto_delete && src->nbindings == 0 && !src->builtin)
        wrn_exchange_delete(src);
}

/* ---- routing -------------------------------------------------------------- */

void
wrn_route_fini(struct wrn_route *r)
{
    wrn_free(r->queues);
    r->queues = NULL;
    r->count = r->cap = 0;
}

struct route_pass {
    struct wrn_route *r;
    struct wrn_msg *msg;
    const struct wrn_slice *keys;
    uint32_t nkeys;
    uint64_t epoch; /* marks the queues and exchanges this pass reached */
    bool have_headers;
    struct wrn_slice headers;
};

static void route_from(struct route_pass *p, struct wrn_exchange *x);

static void
add_queue(struct route_pass *p, struct wrn_queue *q)
{
    struct wrn_route *r = p->r;

    if (q->epoch == p->epoch)
        return;
    q->epoch = p->epoch;
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->queues = wrn_xrealloc(r->queues, r->cap * sizeof(*r->queues));
    }
    r->queues[r->count++] = q;
}

static void
follow(struct route_pass *p, struct wrn_binding *b)
{
    if (b->dest_queue != NULL)
        add_queue(p, b->dest_queue);
    else
        route_from(p, b->dest_exch);
}

struct topic_visit {
    struct route_pass *p;
    uint32_t matched;
};

static void
topic_match_cb(void *dest, void *arg)
{
    struct topic_visit *tv = arg;
    tv->matched++;
    follow(tv->p, dest);
}

/* Follow the bindings of x that match routing key rk; returns how many matched. */
static uint32_t
route_key(struct route_pass *p, struct wrn_exchange *x, struct wrn_slice rk)
{
    uint32_t matched = 0;
    struct wrn_binding *b;

    switch (x->type) {
    case WRN_EXCHANGE_DIRECT:
        if (x->name_len == 0) {
            /* the default exchange: every queue is bound by its own name */
            struct wrn_queue *q = wrn_vhost_queue(x->vhost, rk);
            if (q != NULL) {
                add_queue(p, q);
                matched++;
            }
            break;
        }
        for (b = wrn_dict_get(x->direct_index, rk); b != NULL; b = b->key_next, matched++)
            follow(p, b);
        break;
    case WRN_EXCHANGE_FANOUT:
        for (b = x->bindings; b != NULL; b = b->src_next, matched++)
            follow(p, b);
        break;
    case WRN_EXCHANGE_TOPIC: {
        struct topic_visit tv = {p, 0};
        wrn_topic_trie_match(x->topic_trie, rk, topic_match_cb, &tv);
        matched = tv.matched;
        break;
    }
    case WRN_EXCHANGE_HEADERS:
        if (!p->have_headers) {
            p->headers = wrn_msg_headers(p->msg);
            p->have_headers = true;
        }
        for (b = x->bindings; b != NULL; b = b->src_next) {
            if (wrn_headers_match((struct wrn_slice){b->args, b->args_len}, p->headers)) {
                matched++;
                follow(p, b);
            }
        }
        break;
    }
    return matched;
}

static void
route_from(struct route_pass *p, struct wrn_exchange *x)
{
    uint32_t matched = 0;

    if (x->epoch == p->epoch)
        return;
    x->epoch = p->epoch;
    /* fanout and headers exchanges ignore the key: one look is enough */
    if (x->type == WRN_EXCHANGE_FANOUT || x->type == WRN_EXCHANGE_HEADERS)
        matched = route_key(p, x, p->keys[0]);
    else
        for (uint32_t i = 0; i < p->nkeys; i++)
            matched += route_key(p, x, p->keys[i]);
    /* RabbitMQ: an exchange that routes nowhere, by any key, hands the message on
     * to its alternate exchange, keys and all */
    if (matched == 0 && x->alternate.len > 0) {
        struct wrn_exchange *ae = wrn_vhost_exchange(x->vhost, x->alternate);
        if (ae != NULL)
            route_from(p, ae);
    }
}

void
wrn_exchange_route(struct wrn_exchange *x, struct wrn_msg *msg, const struct wrn_slice *keys,
                   uint32_t nkeys, struct wrn_route *r)
{
    struct route_pass p = {.r = r, .msg = msg, .keys = keys, .nkeys = nkeys,
                           .epoch = ++server.epoch};

    r->count = 0;
    route_from(&p, x);
}
