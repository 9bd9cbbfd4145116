/*
 * persist.c - durability, loop side. Writes of one loop turn collect in one
 * store batch, submitted from a deferred event once the turn's callbacks
 * have run; completions come back through the store's eventfd. Message
 * bodies are written once (key M id, borrowed from the message, which the
 * batch holds a reference to) and each durable queue's entry (key E queue
 * seq) points at the body; the last entry to go deletes the body.
 *
 * Records (all integers big-endian):
 *   X vhost name -> version, type, flags (durable, auto-delete, internal), args
 *   Q vhost name -> version, queue id u64, flags (auto-delete), args
 *   B vhost source/dest/key/args -> (empty); the name composes the binding
 *   M id -> exchange, routing key, properties, body (the message's own bytes)
 *   E queue seq -> msg id u64, flags (delivered), delivery count u32,
 *                  exchange len u8, key len u8, props len u32, body size u64,
 *                  then the exchange, routing key and properties themselves
 *   V name -> version, max-connections u32
 *   U name -> version, hash algorithm u8, hash (shortstr), tags (longstr),
 *             max-connections u32
 *   P vhost user -> version, configure, write, read (longstrs)
 *   T vhost user (shortstr) exchange -> version, write, read (longstrs)
 *   Z "seeded" -> (empty): the default user and vhost were created once
 */
#include "persist.h"

#include "access.h"
#include "alloc.h"
#include "channel.h"
#include "dict.h"
#include "exchange.h"
#include "keys.h"
#include "log.h"
#include "memory.h"
#include "message.h"
#include "methods.h"
#include "prefetch.h"
#include "queue.h"
#include "queue_args.h"
#include "server.h"
#include "store.h"
#include "vhost.h"

#include <event2/event.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>

#define RECORD_VERSION 1
/* the fixed part of an entry's value; the message header follows */
#define ENTRY_VALUE_LEN 27
/* where its flags byte is (after the message id), for the delivered mark */
#define ENTRY_FLAGS_OFFSET 8

/* A transient body on its way to the store, readable from memory until written. */
struct page_write {
    uint64_t id;
    struct wrn_msg *m; /* holds a ref: the batch borrows its body */
};

/* A batch being filled or written: its generation and the messages whose
 * bytes it borrows. */
struct pending {
    uint64_t gen;
    struct wrn_store_batch *batch; /* owned by the store once submitted */
    struct wrn_msg **msgs;
    uint32_t nmsgs, cap;
    struct page_write *pages;
    uint32_t npages, pages_cap;
};

static struct {
    struct wrn_store *store;
    struct event *notify_ev; /* the store's eventfd */
    struct event *flush_ev;  /* submits the current batch after this loop turn */
    struct event *pager_ev;  /* pages bodies out under memory pressure */
    struct wrn_store_batch *batch;
    struct pending *pending; /* goes with batch */
    uint64_t gen;            /* generation of the batch being filled */
    uint64_t synced;
    uint64_t writes;
    uint64_t next_msg_id;
    uint64_t next_queue_id;
    uint64_t next_page_id;
    struct wrn_dict *pages_in_flight; /* page id -> message, until its page is written */
    uint64_t paging_bytes;            /* bodies in pages_in_flight */
    time_t last_thorough_page;        /* second of the pager's last thorough run */
    /* batches not yet written, oldest first: generations flight_gen, +1, ... */
    struct pending **flight;
    uint32_t flight_head, flight_count, flight_cap;
    struct wrn_channel **waiting; /* channels with confirms or commits waiting on a sync */
    uint32_t nwaiting, waiting_cap;
} P;

bool
wrn_persist_enabled(void)
{
    return P.store != NULL;
}

uint64_t
wrn_persist_generation(void)
{
    return P.gen;
}

uint64_t
wrn_persist_synced(void)
{
    return P.synced;
}

uint64_t
wrn_persist_writes(void)
{
    return P.writes;
}

/* ---- batches -------------------------------------------------------------- */

static void
flight_push(struct pending *pd)
{
    if (P.flight_count == P.flight_cap) {
        uint32_t cap = P.flight_cap ? P.flight_cap * 2 : 16;
        struct pending **f = wrn_xmalloc(cap * sizeof(*f));
        for (uint32_t i = 0; i < P.flight_count; i++)
            f[i] = P.flight[(P.flight_head + i) % P.flight_cap];
        wrn_free(P.flight);
        P.flight = f;
        P.flight_cap = cap;
        P.flight_head = 0;
    }
    P.flight[(P.flight_head + P.flight_count++) % P.flight_cap] = pd;
}

/* Batches are written, and reaped, in generation order. */
static void
flight_pop(struct pending *pd)
{
    WRN_ASSERT(P.flight_count > 0 && P.flight[P.flight_head] == pd);
    P.flight_head = (P.flight_head + 1) % P.flight_cap;
    P.flight_count--;
}

/* The batch of generation gen if it is not written yet (it may be taken), else NULL. */
static struct wrn_store_batch *
unwritten_batch(uint64_t gen)
{
    uint64_t first;

    if (P.flight_count == 0 || gen == 0)
        return NULL;
    first = P.flight[P.flight_head]->gen;
    if (gen < first || gen - first >= P.flight_count)
        return NULL;
    return P.flight[(P.flight_head + (gen - first)) % P.flight_cap]->batch;
}

/* Drop operation op of generation gen's batch if it is not being written yet. */
static bool
cancel_put(uint64_t gen, uint32_t op)
{
    struct wrn_store_batch *b = unwritten_batch(gen);

    return b != NULL && wrn_store_batch_cancel(P.store, b, op);
}

static struct wrn_store_batch *
batch(void)
{
    if (P.batch == NULL) {
        P.batch = wrn_store_batch_new();
        P.pending = wrn_xcalloc(1, sizeof(*P.pending));
        P.pending->gen = P.gen;
        P.pending->batch = P.batch;
        flight_push(P.pending);
        event_active(P.flush_ev, 0, 0);
    }
    P.writes++;
    return P.batch;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (P.batch == NULL)
        return;
    wrn_store_submit(P.store, P.batch, P.pending);
    P.batch = NULL;
    P.pending = NULL;
    P.gen++;
}

static struct wrn_slice
page_key(const uint64_t *id)
{
    return (struct wrn_slice){(const uint8_t *)id, sizeof(*id)};
}

static void
pending_free(struct pending *pd)
{
    for (uint32_t i = 0; i < pd->npages; i++) {
        wrn_dict_remove(P.pages_in_flight, page_key(&pd->pages[i].id));
        P.paging_bytes -= pd->pages[i].m->body_size;
        wrn_msg_unref(pd->pages[i].m);
    }
    wrn_free(pd->pages);
    for (uint32_t i = 0; i < pd->nmsgs; i++)
        wrn_msg_unref(pd->msgs[i]);
    wrn_free(pd->msgs);
    wrn_free(pd);
}

static void
batch_done(void *cookie, int status, void *arg)
{
    struct pending *pd = cookie;
    char why[256];

    (void)arg;
    if (status != 0) {
        /* nothing more can be confirmed honestly: stop rather than lie */
        wrn_store_last_error(P.store, why, sizeof(why));
        wrn_log_error("store write failed, stopping: %s", why);
        abort();
    }
    P.synced = pd->gen;
    flight_pop(pd);
    pending_free(pd);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
    uint32_t n;

    (void)fd;
    (void)what;
    (void)arg;
    if (wrn_store_reap(P.store, batch_done, NULL) == 0)
        return;
    /* tell the waiting channels; each re-registers if it still waits */
    n = P.nwaiting;
    P.nwaiting = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct wrn_channel *ch = P.waiting[i];
        if (ch != NULL) {
            ch->durable_waiting = false;
            wrn_channel_durable(ch);
        }
    }
}

void
wrn_persist_wait(struct wrn_channel *ch)
{
    if (ch->durable_waiting)
        return;
    if (P.nwaiting == P.waiting_cap) {
        P.waiting_cap = P.waiting_cap ? P.waiting_cap * 2 : 16;
        P.waiting = wrn_xrealloc(P.waiting, P.waiting_cap * sizeof(*P.waiting));
    }
    P.waiting[P.nwaiting++] = ch;
    ch->durable_waiting = true;
}

void
wrn_persist_forget(struct wrn_channel *ch)
{
    if (!ch->durable_waiting)
        return;
    for (uint32_t i = 0; i < P.nwaiting; i++)
        if (P.waiting[i] == ch)
            P.waiting[i] = NULL;
    ch->durable_waiting = false;
}

/* ---- definitions ---------------------------------------------------------- */

static size_t
scoped_key(uint8_t *out, size_t cap, uint8_t tag, struct wrn_vhost *v, const void *name,
           size_t nlen)
{
    size_t n = wrn_key_scoped(out, cap, tag, v->name, strlen(v->name), name, nlen);
    WRN_ASSERT(n > 0);
    return n;
}

void
wrn_persist_exchange(struct wrn_exchange *x, bool present)
{
    uint8_t key[600], val[16];
    struct wrn_wbuf w;
    size_t klen;

    if (P.store == NULL || !x->durable || x->builtin)
        return;
    klen = scoped_key(key, sizeof(key), WRN_KEY_EXCHANGE, x->vhost, x->name, x->name_len);
    if (!present) {
        wrn_store_batch_delete(batch(), key, klen);
        return;
    }
    wrn_wbuf_init(&w, val, sizeof(val));
    wrn_put_u8(&w, RECORD_VERSION);
    wrn_put_u8(&w, (uint8_t)x->type);
    wrn_put_u8(&w, (uint8_t)(1 | (x->auto_delete ? 2 : 0) | (x->internal ? 4 : 0)));
    wrn_put_u32(&w, x->args_len);
    {
        uint8_t *rec = wrn_xmalloc(w.len + x->args_len);
        memcpy(rec, val, w.len);
        if (x->args_len)
            memcpy(rec + w.len, x->args, x->args_len);
        wrn_store_batch_put(batch(), key, klen, rec, w.len + x->args_len);
        wrn_free(rec);
    }
}

static bool
queue_is_durable(const struct wrn_queue *q)
{
    /* a durable exclusive queue is treated as transient (spec README) */
    return q->durable && !q->exclusive;
}

void
wrn_persist_queue(struct wrn_queue *q, bool present)
{
    uint8_t key[600], lo[WRN_KEY_QUEUE_RANGE_LEN], hi[WRN_KEY_QUEUE_RANGE_LEN];
    struct wrn_wbuf w;
    uint8_t *rec;
    size_t klen;

    if (P.store == NULL || !queue_is_durable(q))
        return;
    klen = scoped_key(key, sizeof(key), WRN_KEY_QUEUE, q->vhost, q->name, q->name_len);
    if (!present) {
        wrn_key_queue_range(lo, hi, q->store_id);
        wrn_store_batch_delete(batch(), key, klen);
        wrn_store_batch_delete_range(batch(), lo, sizeof(lo), hi, sizeof(hi));
        return;
    }
    if (q->store_id == 0)
        q->store_id = P.next_queue_id++;
    rec = wrn_xmalloc(16 + q->args_len);
    wrn_wbuf_init(&w, rec, 16 + q->args_len);
    wrn_put_u8(&w, RECORD_VERSION);
    wrn_put_u64(&w, q->store_id);
    wrn_put_u8(&w, q->auto_delete ? 1 : 0);
    wrn_put_u32(&w, q->args_len);
    wrn_put_bytes(&w, q->args, q->args_len);
    wrn_store_batch_put(batch(), key, klen, rec, w.len);
    wrn_free(rec);
}

/* A binding's name: source, destination kind and name, routing key, arguments. */
static size_t
binding_name(const struct wrn_binding *b, uint8_t *out, size_t cap)
{
    struct wrn_wbuf w;
    const char *dest = b->dest_queue ? b->dest_queue->name : b->dest_exch->name;

    wrn_wbuf_init(&w, out, cap);
    wrn_put_shortstr(&w, (struct wrn_slice){(const uint8_t *)b->source->name,
                                            b->source->name_len});
    wrn_put_u8(&w, b->dest_queue ? 'q' : 'x');
    wrn_put_shortstr(&w, wrn_slice_str(dest));
    wrn_put_shortstr(&w, (struct wrn_slice){b->key, b->key_len});
    wrn_put_bytes(&w, b->args, b->args_len);
    return w.overflow ? 0 : w.len;
}

void
wrn_persist_binding(struct wrn_binding *b, bool present)
{
    struct wrn_vhost *v = b->source->vhost;
    size_t cap = 1024 + b->args_len, nlen, klen;
    uint8_t *name, *key;
    bool durable_dest = b->dest_queue ? queue_is_durable(b->dest_queue) : b->dest_exch->durable;

    if (P.store == NULL || !b->source->durable || !durable_dest)
        return;
    name = wrn_xmalloc(cap);
    key = wrn_xmalloc(cap + 600);
    nlen = binding_name(b, name, cap);
    klen = scoped_key(key, cap + 600, WRN_KEY_BINDING, v, name, nlen);
    if (present)
        wrn_store_batch_put(batch(), key, klen, "", 0);
    else
        wrn_store_batch_delete(batch(), key, klen);
    wrn_free(name);
    wrn_free(key);
}

/* ---- messages ------------------------------------------------------------- */

/*
 * An entry's value: the message id and the entry's state, then the
 * message's header (exchange, routing key, properties), so that recovery
 * rebuilds the index from the entries alone without reading a body.
 */
static void
put_entry(struct wrn_queue *q, struct wrn_qentry *e, bool delivered)
{
    uint8_t key[WRN_KEY_ENTRY_LEN], small[512], *val = small;
    const struct wrn_msg *m = e->msg;
    size_t head = (size_t)m->exchange_len + m->routing_key_len + m->props_len;
    size_t len = ENTRY_VALUE_LEN + head;
    struct wrn_wbuf w;

    if (len > sizeof(small))
        val = wrn_xmalloc(len);
    wrn_key_entry(key, q->store_id, e->seq);
    wrn_wbuf_init(&w, val, len);
    wrn_put_u64(&w, m->store_id);
    wrn_put_u8(&w, delivered ? 1 : 0);
    wrn_put_u32(&w, e->delivery_count);
    wrn_put_u8(&w, m->exchange_len);
    wrn_put_u8(&w, m->routing_key_len);
    wrn_put_u32(&w, m->props_len);
    wrn_put_u64(&w, m->body_size);
    wrn_put_bytes(&w, m->data, head); /* exchange, routing key, properties */
    WRN_ASSERT(!w.overflow && w.len == len);
    if (!delivered) {
        e->put_op = (uint32_t)wrn_store_batch_count(batch());
        e->put_gen = P.gen;
    }
    wrn_store_batch_put(batch(), key, sizeof(key), val, len);
    if (val != small)
        wrn_free(val);
}

void
wrn_persist_enqueue(struct wrn_queue *q, struct wrn_qentry *e)
{
    struct wrn_msg *m = e->msg;
    struct pending *pd;

    if (P.store == NULL || m->delivery_mode != 2 || !queue_is_durable(q))
        return;
    if (m->store_id == 0) {
        uint8_t key[WRN_KEY_MESSAGE_LEN];
        size_t len = (size_t)m->exchange_len + m->routing_key_len + m->props_len + m->body_size;
        m->store_id = P.next_msg_id++;
        wrn_key_message(key, m->store_id);
        m->put_op = (uint32_t)wrn_store_batch_count(batch());
        m->put_gen = P.gen;
        /* the body goes out by reference: the batch keeps the message alive */
        wrn_store_batch_put_ref(batch(), key, sizeof(key), m->data, len);
        pd = P.pending;
        if (pd->nmsgs == pd->cap) {
            pd->cap = pd->cap ? pd->cap * 2 : 16;
            pd->msgs = wrn_xrealloc(pd->msgs, pd->cap * sizeof(*pd->msgs));
        }
        pd->msgs[pd->nmsgs++] = wrn_msg_ref(m);
    }
    m->store_refs++;
    e->persisted = true;
    e->delivered_stored = false;
    put_entry(q, e, false);
}

void
wrn_persist_delivered(struct wrn_queue *q, struct wrn_qentry *e)
{
    struct wrn_store_batch *b;

    if (P.store == NULL || !e->persisted || e->delivered_stored || q->deleted)
        return;
    e->delivered_stored = true;
    /* while the entry's own put is still unwritten, flag it there */
    b = unwritten_batch(e->put_gen);
    if (b == NULL || !wrn_store_batch_patch(P.store, b, e->put_op, ENTRY_FLAGS_OFFSET, 1))
        put_entry(q, e, true);
}

/* One stored entry less for e's message; the last one deletes the body. */
static void
forget_entry(struct wrn_qentry *e)
{
    uint8_t mkey[WRN_KEY_MESSAGE_LEN];
    struct wrn_msg *m = e->msg;

    e->persisted = false;
    WRN_ASSERT(m->store_refs > 0);
    if (--m->store_refs == 0) {
        /* a body not written yet need never be */
        if (!cancel_put(m->put_gen, m->put_op)) {
            wrn_key_message(mkey, m->store_id);
            wrn_store_batch_delete(batch(), mkey, sizeof(mkey));
        }
        m->put_gen = 0;
        m->store_id = 0;
    }
}

void
wrn_persist_dequeue(struct wrn_queue *q, struct wrn_qentry *e)
{
    uint8_t key[WRN_KEY_ENTRY_LEN];

    if (P.store == NULL || !e->persisted)
        return;
    /* acknowledged before its write: drop the write instead of adding a delete */
    if (!cancel_put(e->put_gen, e->put_op)) {
        wrn_key_entry(key, q->store_id, e->seq);
        wrn_store_batch_delete(batch(), key, sizeof(key));
    }
    forget_entry(e);
}

void
wrn_persist_purge(struct wrn_queue *q)
{
    uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], hi[WRN_KEY_QUEUE_RANGE_LEN];

    if (P.store == NULL || q->store_id == 0)
        return;
    wrn_key_queue_range(lo, hi, q->store_id);
    wrn_store_batch_delete_range(batch(), lo, sizeof(lo), hi, sizeof(hi));
}

void
wrn_persist_forget_entry(struct wrn_queue *q, struct wrn_qentry *e)
{
    (void)q;
    if (P.store != NULL && e->persisted)
        forget_entry(e);
}

/* ---- paging --------------------------------------------------------------- */

/*
 * A transient body (or a persistent one in a transient queue) has no copy
 * on disk: write one under a page key, by reference. Until that write is
 * done the message stays in pages_in_flight, so a consumer that reaches the
 * stub first reads the body from memory rather than missing it on disk.
 */
static uint64_t
write_page(struct wrn_msg *m)
{
    uint8_t key[WRN_KEY_MESSAGE_LEN];
    uint64_t id = ++P.next_page_id;
    struct pending *pd;

    wrn_key_page(key, id);
    wrn_store_batch_put_ref(batch(), key, sizeof(key), m->body, m->body_size);
    pd = P.pending;
    if (pd->npages == pd->pages_cap) {
        pd->pages_cap = pd->pages_cap ? pd->pages_cap * 2 : 16;
        pd->pages = wrn_xrealloc(pd->pages, pd->pages_cap * sizeof(*pd->pages));
    }
    pd->pages[pd->npages].id = id;
    pd->pages[pd->npages].m = wrn_msg_ref(m);
    wrn_dict_set(P.pages_in_flight, page_key(&pd->pages[pd->npages].id), m);
    pd->npages++;
    P.paging_bytes += m->body_size;
    return id;
}

struct wrn_msg *
wrn_persist_page_out(struct wrn_msg *m, uint64_t *write_allowance)
{
    struct wrn_msg *stub;
    uint64_t page_id = 0;

    /* only a message no one else holds (no delivery in flight, no pending
     * batch) can leave memory; a body read back for delivery stays */
    if (P.store == NULL || m->refs != 1 || m->page_id != 0 || m->body == NULL ||
        m->body_apart || m->body_size < 256)
        return m;
    if (m->store_id == 0) {
        if (*write_allowance < m->body_size)
            return NULL;
        *write_allowance -= m->body_size;
        page_id = write_page(m);
    }
    stub = wrn_msg_new_paged(wrn_msg_exchange(m), wrn_msg_routing_key(m), wrn_msg_props(m),
                             m->body_size);
    stub->delivery_mode = m->delivery_mode;
    stub->priority = m->priority;
    stub->expiration = m->expiration;
    stub->cc_bcc = m->cc_bcc;
    stub->store_id = m->store_id;
    stub->store_refs = m->store_refs;
    stub->page_id = page_id;
    stub->bcc = m->bcc;
    stub->bcc_len = m->bcc_len;
    m->bcc = NULL;
    wrn_msg_unref(m);
    return stub;
}

void
wrn_persist_prefetch(struct wrn_queue *q, struct wrn_msg **msgs, uint32_t n)
{
    if (P.store != NULL)
        wrn_prefetch_submit(q, msgs, n);
}

void
wrn_persist_drop_page(struct wrn_msg *m)
{
    uint8_t key[WRN_KEY_MESSAGE_LEN];

    if (P.store != NULL && m->page_id != 0) {
        wrn_key_page(key, m->page_id);
        wrn_store_batch_delete(batch(), key, sizeof(key));
    }
    m->page_id = 0;
}

/* The paged body of a transient message: read it back and drop the page. */
static bool
load_page(struct wrn_msg *m)
{
    uint8_t key[WRN_KEY_MESSAGE_LEN];
    struct wrn_msg *src = wrn_dict_get(P.pages_in_flight, page_key(&m->page_id));
    void *data;
    size_t len;

    if (src != NULL) { /* not written yet: the body is still in memory */
        wrn_msg_set_body(m, src->body, m->body_size);
        wrn_persist_drop_page(m);
        return true;
    }
    wrn_key_page(key, m->page_id);
    if (P.store == NULL || wrn_store_get(P.store, key, sizeof(key), &data, &len) != 1 ||
        len != m->body_size) {
        wrn_log_error("paged message body %llu missing from the store",
                      (unsigned long long)m->page_id);
        return false;
    }
    wrn_msg_set_body(m, data, m->body_size);
    wrn_store_free(data);
    wrn_persist_drop_page(m);
    return true;
}

bool
wrn_persist_load(struct wrn_msg *m)
{
    uint8_t key[WRN_KEY_MESSAGE_LEN];
    size_t head = (size_t)m->exchange_len + m->routing_key_len + m->props_len, len;
    void *data;

    if (!wrn_msg_paged(m))
        return true;
    if (m->page_id != 0)
        return load_page(m);
    wrn_key_message(key, m->store_id);
    if (P.store == NULL || wrn_store_get(P.store, key, sizeof(key), &data, &len) != 1 ||
        len != head + m->body_size) {
        wrn_log_error("message %llu: body missing from the store",
                      (unsigned long long)m->store_id);
        return false;
    }
    wrn_msg_set_body(m, (uint8_t *)data + head, m->body_size);
    wrn_store_free(data);
    return true;
}

/* Message memory above which stored bodies are paged out, whatever the budget. */
#define PAGE_ABOVE_MAX (128ull << 20)
/* The most the pager writes to pages in one run (every 50 ms); dropping
 * stored bodies, which needs no write, is not limited. */
#define PAGE_BITE (2ull << 20)

/* Where a paged body is: its page, or its stored message. */
static uint64_t
body_id(const struct wrn_msg *m)
{
    return m->page_id != 0 ? m->page_id : m->store_id;
}

/* Stored bodies first, then pages, each in id order. */
static int
by_body_id(const void *a, const void *b)
{
    const struct wrn_msg *x = *(struct wrn_msg *const *)a, *y = *(struct wrn_msg *const *)b;

    if ((x->page_id != 0) != (y->page_id != 0))
        return x->page_id != 0 ? 1 : -1;
    return body_id(x) < body_id(y) ? -1 : body_id(x) > body_id(y);
}

void
wrn_persist_scan(bool pages, uint32_t n, uint64_t (*id_of)(uint32_t i, void *arg),
                 void (*found)(uint32_t i, const void *val, size_t vlen, void *arg), void *arg)
{
    uint8_t lo[WRN_KEY_MESSAGE_LEN], hi[WRN_KEY_MESSAGE_LEN];
    void (*make_key)(uint8_t *, uint64_t) = pages ? wrn_key_page : wrn_key_message;
    int (*decode)(const void *, size_t, uint64_t *) =
        pages ? wrn_key_page_decode : wrn_key_message_decode;
    struct wrn_store_iter *it;
    const void *key, *val;
    size_t klen, vlen;
    uint32_t i = 0;

    if (P.store == NULL || n == 0 || id_of(n - 1, arg) - id_of(0, arg) >= 4ull * n)
        return; /* sparse: lookups beat a long scan */
    make_key(lo, id_of(0, arg));
    make_key(hi, id_of(n - 1, arg) + 1);
    it = wrn_store_iter_new(P.store, lo, sizeof(lo), hi, sizeof(hi));
    while (i < n && wrn_store_iter_next(it, &key, &klen, &val, &vlen) == 1) {
        uint64_t id;
        if (decode(key, klen, &id) != 0)
            continue;
        while (i < n && id_of(i, arg) < id)
            i++;
        for (; i < n && id_of(i, arg) == id; i++)
            found(i, val, vlen, arg);
    }
    wrn_store_iter_free(it);
}

static uint64_t
msg_body_id(uint32_t i, void *arg)
{
    return body_id(((struct wrn_msg **)arg)[i]);
}

/* A scanned value for msgs[i]: its body, if still wanted. */
static void
msg_body_found(uint32_t i, const void *val, size_t vlen, void *arg)
{
    struct wrn_msg *m = ((struct wrn_msg **)arg)[i];
    bool page = m->page_id != 0;
    /* a stored message's value starts with its header; a page is the body */
    size_t head = page ? 0 : (size_t)m->exchange_len + m->routing_key_len + m->props_len;

    if (!wrn_msg_paged(m) || vlen != head + m->body_size)
        return;
    wrn_msg_set_body(m, (const uint8_t *)val + head, m->body_size);
    if (page)
        wrn_persist_drop_page(m);
}

/*
 * Read back the bodies of n paged messages with an ordered scan of the
 * store instead of n lookups: a backlog's messages were stored (or paged)
 * in order, so their ids are dense. Sparse ids, or any body the scan
 * missed, fall back to one lookup each.
 */
void
wrn_persist_load_many(struct wrn_msg **msgs, uint32_t n)
{
    uint32_t stored = 0;

    if (P.store == NULL || n == 0)
        return;
    qsort(msgs, n, sizeof(*msgs), by_body_id);
    while (stored < n && msgs[stored]->page_id == 0)
        stored++;
    wrn_persist_scan(false, stored, msg_body_id, msg_body_found, msgs);
    wrn_persist_scan(true, n - stored, msg_body_id, msg_body_found, msgs + stored);
    for (uint32_t i = 0; i < n; i++)
        if (wrn_msg_paged(msgs[i]))
            wrn_persist_load(msgs[i]);
}

/*
 * Over half the memory budget (or PAGE_ABOVE_MAX, if lower: a backlog is
 * better on disk than in a large heap), the pager drops bodies from memory,
 * newest first (they will be wanted last), until 20% under that: stored
 * ones at once, transient ones once written to a page.
 */
static void
pager_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t budget = wrn_memory_budget();
    uint64_t above = budget / 2 < PAGE_ABOVE_MAX ? budget / 2 : PAGE_ABOVE_MAX;
    uint64_t goal = above / 10 * 8;
    struct wrn_dict_iter it;
    struct wrn_slice key;
    void *value;

    /* bodies on their way to disk are as good as gone */
    uint64_t resident = wrn_msg_bytes() - P.paging_bytes, excess, allowance;
    struct timeval now = {0, 0};

    (void)fd;
    (void)what;
    (void)arg;
    if (budget == 0 || resident <= above)
        return;
    excess = resident - goal;
    /* pages are written in bounded bites: one batch holds them all until the
     * store has them, and the store copies them once more meanwhile */
    allowance = PAGE_BITE;
    /* quick runs take the newest bodies; a thorough one, at most once a
     * second (it walks whole backlogs), takes what quick runs left behind */
    for (int pass = 0; pass < 2 && excess > 0 && allowance > 0; pass++) {
        bool thorough = pass == 1;
        if (thorough && event_base_gettimeofday_cached(server.base, &now) == 0 &&
            now.tv_sec == P.last_thorough_page)
            break;
        if (thorough)
            P.last_thorough_page = now.tv_sec;
        for (struct wrn_vhost *v = server.vhosts; v != NULL && excess > 0; v = v->next) {
            wrn_dict_iter_init(&it, v->queues);
            while (excess > 0 && wrn_dict_iter_next(&it, &key, &value))
                wrn_queue_page_out(value, &excess, &allowance, thorough);
        }
    }
}

/* ---- recovery ------------------------------------------------------------- */

/* The records of one tag in one vhost, in key order. */
static struct wrn_store_iter *
scoped_iter(struct wrn_vhost *v, uint8_t tag)
{
    uint8_t lo[600], hi[600];
    size_t lolen, hilen;

    /* the store copies the bounds */
    wrn_key_scoped_range(lo, &lolen, hi, &hilen, sizeof(lo), tag, v->name, strlen(v->name));
    return wrn_store_iter_new(P.store, lo, lolen, hi, hilen);
}

/* The next record of it: its name (from the key) and a cursor over its value. */
static bool
next_scoped(struct wrn_store_iter *it, uint8_t tag, struct wrn_slice *name,
            struct wrn_cursor *val)
{
    const void *key, *value;
    const uint8_t *vname, *n;
    size_t klen, vlen, vnlen, nlen;

    while (wrn_store_iter_next(it, &key, &klen, &value, &vlen) == 1) {
        if (wrn_key_scoped_decode(key, klen, tag, &vname, &vnlen, &n, &nlen) != 0)
            continue;
        *name = (struct wrn_slice){n, (uint32_t)nlen};
        wrn_cursor_init(val, value, vlen);
        return true;
    }
    return false;
}

static void
recover_exchanges(struct wrn_vhost *v)
{
    struct wrn_store_iter *it = scoped_iter(v, WRN_KEY_EXCHANGE);
    struct wrn_slice name, args;
    struct wrn_cursor c;
    uint8_t version, type, flags;

    while (next_scoped(it, WRN_KEY_EXCHANGE, &name, &c)) {
        if (!wrn_get_u8(&c, &version) || version != RECORD_VERSION || !wrn_get_u8(&c, &type) ||
            type > WRN_EXCHANGE_HEADERS || !wrn_get_u8(&c, &flags) || !wrn_get_longstr(&c, &args)) {
            wrn_log_warning("skipping unreadable exchange record");
            continue;
        }
        if (wrn_vhost_exchange(v, name) == NULL)
            wrn_exchange_new(v, name, (enum wrn_exchange_type)type, true, flags & 2, flags & 4,
                             args);
    }
    wrn_store_iter_free(it);
}

static void
recover_queues(struct wrn_vhost *v)
{
    struct wrn_store_iter *it = scoped_iter(v, WRN_KEY_QUEUE);
    struct wrn_slice qname, args;
    struct wrn_queue_args qa;
    struct wrn_cursor c;
    uint8_t version, flags;
    uint64_t id;
    char err[256];

    while (next_scoped(it, WRN_KEY_QUEUE, &qname, &c)) {
        struct wrn_queue *q;
        if (!wrn_get_u8(&c, &version) || version != RECORD_VERSION || !wrn_get_u64(&c, &id) ||
            !wrn_get_u8(&c, &flags) || !wrn_get_longstr(&c, &args) ||
            !wrn_queue_args_parse(args, true, false, flags & 1, qname, v->name, &qa, err,
                                  sizeof(err))) {
            wrn_log_warning("skipping unreadable queue record");
            continue;
        }
        q = wrn_queue_new(v, qname, true, false, flags & 1, NULL, args, &qa);
        q->store_id = id;
        if (id >= P.next_queue_id)
            P.next_queue_id = id + 1;
    }
    wrn_store_iter_free(it);
}

static void
recover_bindings(struct wrn_vhost *v)
{
    struct wrn_store_iter *it = scoped_iter(v, WRN_KEY_BINDING);
    struct wrn_slice name, src, dest, rk, args;
    struct wrn_cursor c, val;
    uint8_t kind;

    while (next_scoped(it, WRN_KEY_BINDING, &name, &val)) {
        struct wrn_exchange *sx, *dx = NULL;
        struct wrn_queue *dq = NULL;

        /* the binding is all in the key's name part; the value is empty */
        wrn_cursor_init(&c, name.p, name.len);
        if (!wrn_get_shortstr(&c, &src) || !wrn_get_u8(&c, &kind) ||
            !wrn_get_shortstr(&c, &dest) || !wrn_get_shortstr(&c, &rk))
            continue;
        args.p = c.p;
        args.len = (uint32_t)wrn_cursor_left(&c);
        sx = wrn_vhost_exchange(v, src);
        if (kind == 'q')
            dq = wrn_vhost_queue(v, dest);
        else
            dx = wrn_vhost_exchange(v, dest);
        if (sx == NULL || (dq == NULL && dx == NULL) ||
            wrn_binding_find(sx, dq, dx, rk, args) != NULL)
            continue;
        wrn_binding_add(sx, dq, dx, rk, args);
    }
    wrn_store_iter_free(it);
}

/* ---- vhosts, users and permissions ---------------------------------------------- */

static void
put_record(const uint8_t *key, size_t klen, struct wrn_wbuf *w)
{
    WRN_ASSERT(!w->overflow);
    wrn_store_batch_put(batch(), key, klen, w->p, w->len);
}

void
wrn_persist_vhost(struct wrn_vhost *v, bool present)
{
    uint8_t key[300], val[8];
    size_t klen = wrn_key_named(key, sizeof(key), WRN_KEY_VHOST, v->name, strlen(v->name));
    struct wrn_wbuf w;

    if (P.store == NULL)
        return;
    WRN_ASSERT(klen > 0);
    if (!present) {
        wrn_store_batch_delete(batch(), key, klen);
        return;
    }
    wrn_wbuf_init(&w, val, sizeof(val));
    wrn_put_u8(&w, RECORD_VERSION);
    wrn_put_u32(&w, v->max_connections);
    put_record(key, klen, &w);
}

void
wrn_persist_user(struct wrn_user *u, bool present)
{
    uint8_t key[300], *val;
    size_t klen = wrn_key_named(key, sizeof(key), WRN_KEY_USER, u->name, strlen(u->name));
    size_t cap = 16 + WRN_PASSWORD_HASH_MAX + strlen(u->tags);
    struct wrn_wbuf w;

    if (P.store == NULL)
        return;
    WRN_ASSERT(klen > 0);
    if (!present) {
        wrn_store_batch_delete(batch(), key, klen);
        return;
    }
    val = wrn_xmalloc(cap);
    wrn_wbuf_init(&w, val, cap);
    wrn_put_u8(&w, RECORD_VERSION);
    wrn_put_u8(&w, (uint8_t)u->hash.algorithm);
    wrn_put_shortstr(&w, (struct wrn_slice){u->hash.bytes, u->hash.len});
    wrn_put_longstr(&w, wrn_slice_str(u->tags));
    wrn_put_u32(&w, u->max_connections);
    put_record(key, klen, &w);
    wrn_free(val);
}

/* The name part of a topic permission's key: the user, then the exchange. */
static size_t
topic_key(uint8_t *key, size_t cap, struct wrn_vhost *v, const char *user, const char *exchange)
{
    uint8_t name[600];
    struct wrn_wbuf w;

    wrn_wbuf_init(&w, name, sizeof(name));
    wrn_put_shortstr(&w, wrn_slice_str(user));
    wrn_put_bytes(&w, exchange, strlen(exchange));
    WRN_ASSERT(!w.overflow);
    return scoped_key(key, cap, WRN_KEY_TOPIC_PERMISSION, v, name, w.len);
}

void
wrn_persist_topic_permission(struct wrn_vhost *v, const char *user,
                             const struct wrn_topic_permission *t, const char *exchange)
{
    uint8_t key[1200], *val;
    size_t klen = topic_key(key, sizeof(key), v, user, t != NULL ? t->exchange : exchange);
    size_t cap;
    struct wrn_wbuf w;

    if (P.store == NULL)
        return;
    if (t == NULL) {
        wrn_store_batch_delete(batch(), key, klen);
        return;
    }
    cap = 16 + strlen(t->write.source) + strlen(t->read.source);
    val = wrn_xmalloc(cap);
    wrn_wbuf_init(&w, val, cap);
    wrn_put_u8(&w, RECORD_VERSION);
    wrn_put_longstr(&w, wrn_slice_str(t->write.source));
    wrn_put_longstr(&w, wrn_slice_str(t->read.source));
    put_record(key, klen, &w);
    wrn_free(val);
}

void
wrn_persist_permission(struct wrn_vhost *v, const char *user, const struct wrn_permission *p)
{
    uint8_t key[600], *val;
    size_t klen = scoped_key(key, sizeof(key), WRN_KEY_PERMISSION, v, user, strlen(user));
    size_t cap = 16;
    struct wrn_wbuf w;

    if (P.store == NULL)
        return;
    if (p == NULL) {
        wrn_store_batch_delete(batch(), key, klen);
        return;
    }
    for (int r = 0; r < 3; r++)
        cap += 4 + strlen(p->rights[r].source);
    val = wrn_xmalloc(cap);
    wrn_wbuf_init(&w, val, cap);
    wrn_put_u8(&w, RECORD_VERSION);
    for (int r = 0; r < 3; r++)
        wrn_put_longstr(&w, wrn_slice_str(p->rights[r].source));
    put_record(key, klen, &w);
    wrn_free(val);
}

/* A record's string as a C string (records hold no NUL bytes of their own). */
static char *
dup_slice(struct wrn_slice s)
{
    return wrn_xstrndup(s.p != NULL ? (const void *)s.p : "", s.len);
}

/* The records of one unscoped tag (V, U), in key order. */
static struct wrn_store_iter *
named_iter(uint8_t tag)
{
    uint8_t lo[1], hi[1];

    wrn_key_tag_range(lo, hi, tag);
    return wrn_store_iter_new(P.store, lo, 1, hi, 1);
}

/* The next record of it: its name, as a C string the caller frees, and its value. */
static bool
next_named(struct wrn_store_iter *it, uint8_t tag, char **name, struct wrn_cursor *val)
{
    const void *key, *value;
    const uint8_t *n;
    size_t klen, vlen, nlen;

    while (wrn_store_iter_next(it, &key, &klen, &value, &vlen) == 1) {
        if (wrn_key_named_decode(key, klen, tag, &n, &nlen) != 0)
            continue;
        *name = dup_slice((struct wrn_slice){n, (uint32_t)nlen});
        wrn_cursor_init(val, value, vlen);
        return true;
    }
    return false;
}

static void
recover_vhosts(void)
{
    struct wrn_store_iter *it = named_iter(WRN_KEY_VHOST);
    struct wrn_cursor c;
    uint8_t version;
    uint32_t max;
    char *name;

    while (next_named(it, WRN_KEY_VHOST, &name, &c)) {
        if (!wrn_get_u8(&c, &version) || version != RECORD_VERSION || !wrn_get_u32(&c, &max))
            wrn_log_warning("skipping unreadable vhost record");
        else if (wrn_vhost_find(wrn_slice_str(name)) == NULL)
            wrn_vhost_new(name)->max_connections = max;
        wrn_free(name);
    }
    wrn_store_iter_free(it);
}

static void
recover_users(void)
{
    struct wrn_store_iter *it = named_iter(WRN_KEY_USER);
    struct wrn_cursor c;
    char *name;

    while (next_named(it, WRN_KEY_USER, &name, &c)) {
        struct wrn_password_hash h = {0};
        struct wrn_slice hash, tags;
        uint8_t version, algorithm;
        uint32_t max;
        char *t;

        if (!wrn_get_u8(&c, &version) || version != RECORD_VERSION ||
            !wrn_get_u8(&c, &algorithm) || algorithm > WRN_HASH_MD5 ||
            !wrn_get_shortstr(&c, &hash) || hash.len > sizeof(h.bytes) ||
            !wrn_get_longstr(&c, &tags) || !wrn_get_u32(&c, &max)) {
            wrn_log_warning("skipping unreadable user record");
            wrn_free(name);
            continue;
        }
        h.algorithm = (enum wrn_hash_algorithm)algorithm;
        h.len = (uint8_t)hash.len;
        if (hash.len > 0)
            memcpy(h.bytes, hash.p, hash.len);
        t = dup_slice(tags);
        wrn_user_put(name, &h, t)->max_connections = max;
        wrn_free(name);
        wrn_free(t);
    }
    wrn_store_iter_free(it);
}

static void
recover_permissions(struct wrn_vhost *v)
{
    struct wrn_store_iter *it = scoped_iter(v, WRN_KEY_PERMISSION);
    struct wrn_slice user, rights[3];
    struct wrn_cursor c;
    uint8_t version;

    while (next_scoped(it, WRN_KEY_PERMISSION, &user, &c)) {
        char *u, *r[3];
        if (!wrn_get_u8(&c, &version) || version != RECORD_VERSION ||
            !wrn_get_longstr(&c, &rights[0]) || !wrn_get_longstr(&c, &rights[1]) ||
            !wrn_get_longstr(&c, &rights[2])) {
            wrn_log_warning("skipping unreadable permission record");
            continue;
        }
        u = dup_slice(user);
        for (int i = 0; i < 3; i++)
            r[i] = dup_slice(rights[i]);
        if (wrn_pattern_check(r[0], NULL, 0) == 0 && wrn_pattern_check(r[1], NULL, 0) == 0 &&
            wrn_pattern_check(r[2], NULL, 0) == 0)
            wrn_permission_set(v, u, r[0], r[1], r[2]);
        else
            wrn_log_warning("vhost '%s': permissions of user '%s' do not compile; skipped",
                            v->name, u);
        wrn_free(u);
        for (int i = 0; i < 3; i++)
            wrn_free(r[i]);
    }
    wrn_store_iter_free(it);
}

static void
recover_topic_permissions(struct wrn_vhost *v)
{
    struct wrn_store_iter *it = scoped_iter(v, WRN_KEY_TOPIC_PERMISSION);
    struct wrn_slice name, user, write, read;
    struct wrn_cursor c, nc;
    uint8_t version;

    while (next_scoped(it, WRN_KEY_TOPIC_PERMISSION, &name, &c)) {
        char *u, *x, *w, *r;
        wrn_cursor_init(&nc, name.p, name.len);
        if (!wrn_get_shortstr(&nc, &user) || !wrn_get_u8(&c, &version) ||
            version != RECORD_VERSION || !wrn_get_longstr(&c, &write) ||
            !wrn_get_longstr(&c, &read)) {
            wrn_log_warning("skipping unreadable topic permission record");
            continue;
        }
        u = dup_slice(user);
        x = dup_slice((struct wrn_slice){nc.p, (uint32_t)wrn_cursor_left(&nc)});
        w = dup_slice(write);
        r = dup_slice(read);
        if (wrn_pattern_check(w, NULL, 0) != 0 || wrn_pattern_check(r, NULL, 0) != 0 ||
            wrn_topic_permission_set(v, u, x, w, r) != 0)
            wrn_log_warning("vhost '%s': topic permission of user '%s' skipped", v->name, u);
        wrn_free(u);
        wrn_free(x);
        wrn_free(w);
        wrn_free(r);
    }
    wrn_store_iter_free(it);
}

/*
 * On a fresh store, create the configured default vhost and user with all
 * rights, as RabbitMQ does on its first start; the marker keeps an operator
 * who deleted them from getting them back at the next start.
 */
static void
seed_defaults(void)
{
    static const uint8_t seeded[] = {WRN_KEY_META, 's', 'e', 'e', 'd', 'e', 'd'};
    const struct wrn_config *cfg = &server.cfg;
    struct wrn_password_hash h;
    struct wrn_vhost *v;
    struct wrn_user *u;
    void *val;
    size_t vlen;

    if (wrn_store_get(P.store, seeded, sizeof(seeded), &val, &vlen) == 1) {
        wrn_store_free(val);
        return;
    }
    v = wrn_vhost_find(wrn_slice_str(cfg->default_vhost));
    if (v == NULL)
        v = wrn_vhost_new(cfg->default_vhost);
    wrn_persist_vhost(v, true);
    wrn_password_hash(cfg->default_pass, strlen(cfg->default_pass), &h);
    u = wrn_user_put(cfg->default_user, &h, "administrator");
    wrn_persist_user(u, true);
    wrn_persist_permission(v, u->name, wrn_permission_set(v, u->name, ".*", ".*", ".*"));
    wrn_store_batch_put(batch(), seeded, sizeof(seeded), "", 0);
    wrn_log_info("created the default user '%s' and vhost '%s'", u->name, v->name);
}

static void
recover_accounts(void)
{
    recover_vhosts();
    recover_users();
    for (struct wrn_vhost *v = server.vhosts; v != NULL; v = v->next) {
        recover_permissions(v);
        recover_topic_permissions(v);
    }
    seed_defaults();
}

/* What routing and queues read from the properties: priority and expiration. */
static void
restore_properties(struct wrn_msg *m)
{
    struct wrn_basic_properties bp;
    int64_t ms = 0;

    if (wrn_basic_properties_decode(m->props, m->props_len, &bp) != WRN_OK)
        return;
    if (bp.flags & WRN_BASIC_PRIORITY_FLAG)
        m->priority = bp.priority;
    if (bp.flags & WRN_BASIC_EXPIRATION_FLAG) {
        for (uint32_t i = 0; i < bp.expiration.len; i++)
            if (bp.expiration.p[i] >= '0' && bp.expiration.p[i] <= '9')
                ms = ms * 10 + (bp.expiration.p[i] - '0');
        m->expiration = ms;
    }
}

/* Load one queue's entries in order; bodies shared between queues are loaded once. */
static void
recover_entries(struct wrn_queue *q, struct wrn_dict *loaded)
{
    uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], hi[WRN_KEY_QUEUE_RANGE_LEN];
    size_t klen, vlen;
    const void *key, *val;
    struct wrn_store_iter *it;
    struct wrn_cursor c;

    wrn_key_queue_range(lo, hi, q->store_id);
    it = wrn_store_iter_new(P.store, lo, sizeof(lo), hi, sizeof(hi));
    while (wrn_store_iter_next(it, &key, &klen, &val, &vlen) == 1) {
        uint64_t qid, seq, msg_id, body_size;
        uint32_t dcount, props_len;
        uint8_t flags, xlen, rklen;
        struct wrn_qentry e = {0};
        struct wrn_msg *m;

        wrn_cursor_init(&c, val, vlen);
        if (wrn_key_entry_decode(key, klen, &qid, &seq) != 0 || !wrn_get_u64(&c, &msg_id) ||
            !wrn_get_u8(&c, &flags) || !wrn_get_u32(&c, &dcount) || !wrn_get_u8(&c, &xlen) ||
            !wrn_get_u8(&c, &rklen) || !wrn_get_u32(&c, &props_len) ||
            !wrn_get_u64(&c, &body_size))
            continue;
        m = wrn_dict_get(loaded, (struct wrn_slice){(const uint8_t *)&msg_id, sizeof(msg_id)});
        if (m == NULL) {
            /* the body stays on disk until a consumer wants it */
            if (wrn_cursor_left(&c) != (size_t)xlen + rklen + props_len) {
                wrn_log_warning("queue '%s': unreadable entry %llu skipped", q->name,
                                (unsigned long long)seq);
                continue;
            }
            m = wrn_msg_new_paged((struct wrn_slice){c.p, xlen},
                                  (struct wrn_slice){c.p + xlen, rklen},
                                  (struct wrn_slice){c.p + xlen + rklen, props_len}, body_size);
            m->delivery_mode = 2;
            m->store_id = msg_id;
            restore_properties(m);
            wrn_dict_set(loaded, (struct wrn_slice){(const uint8_t *)&msg_id, sizeof(msg_id)}, m);
        }
        if (msg_id >= P.next_msg_id)
            P.next_msg_id = msg_id + 1;
        e.msg = wrn_msg_ref(m);
        e.seq = seq;
        e.delivery_count = dcount;
        e.redelivered = flags & 1;
        e.persisted = true;
        e.delivered_stored = flags & 1;
        m->store_refs++;
        wrn_queue_restore(q, &e);
    }
    wrn_store_iter_free(it);
}

static void
recover(void)
{
    struct wrn_dict *loaded = wrn_dict_new();
    struct wrn_dict_iter it;
    struct wrn_slice key;
    void *value;
    uint64_t messages = 0, queues = 0;

    recover_accounts();
    for (struct wrn_vhost *v = server.vhosts; v != NULL; v = v->next) {
        recover_exchanges(v);
        recover_queues(v);
        recover_bindings(v);
        wrn_dict_iter_init(&it, v->queues);
        while (wrn_dict_iter_next(&it, &key, &value)) {
            struct wrn_queue *q = value;
            if (q->store_id == 0)
                continue;
            recover_entries(q, loaded);
            messages += q->ready;
            queues++;
        }
    }
    /* the queues hold their own references now */
    wrn_dict_iter_init(&it, loaded);
    while (wrn_dict_iter_next(&it, &key, &value))
        wrn_msg_unref(value);
    wrn_dict_free(loaded);
    wrn_log_info("recovered %llu durable queues with %llu messages",
                 (unsigned long long)queues, (unsigned long long)messages);
}

/* Pages hold transient bodies: none of them outlives the process that wrote it. */
static void
drop_stale_pages(void)
{
    uint8_t lo[1], hi[1];

    wrn_key_tag_range(lo, hi, WRN_KEY_PAGE);
    wrn_store_batch_delete_range(batch(), lo, sizeof(lo), hi, sizeof(hi));
}

int
wrn_persist_open(const char *dir)
{
    char err[1024];

    if (wrn_store_open(dir, &P.store, err, sizeof(err)) != 0) {
        wrn_log_error("%s", err);
        return -1;
    }
    P.gen = 1;
    P.next_msg_id = 1;
    P.next_queue_id = 1;
    P.next_page_id = 0;
    P.pages_in_flight = wrn_dict_new();
    P.flush_ev = event_new(server.base, -1, 0, flush_cb, NULL);
    P.notify_ev = event_new(server.base, wrn_store_notify_fd(P.store), EV_READ | EV_PERSIST,
                            notify_cb, NULL);
    event_add(P.notify_ev, NULL);
    P.pager_ev = event_new(server.base, -1, EV_PERSIST, pager_cb, NULL);
    event_add(P.pager_ev, &(struct timeval){0, 50000});
    drop_stale_pages();
    recover();
    if (wrn_prefetch_start(server.base, P.store) != 0)
        wrn_log_warning("no prefetch thread: paged bodies are read on the event loop");
    wrn_log_info("data folder %s", dir);
    return 0;
}

void
wrn_persist_close(void)
{
    if (P.store == NULL)
        return;
    wrn_prefetch_stop();
    flush_cb(-1, 0, NULL);
    wrn_store_drain(P.store);
    wrn_store_reap(P.store, batch_done, NULL);
    event_free(P.notify_ev);
    event_free(P.flush_ev);
    event_free(P.pager_ev);
    wrn_store_close(P.store);
    P.store = NULL;
    wrn_dict_free(P.pages_in_flight);
    P.pages_in_flight = NULL;
    wrn_free(P.waiting);
    wrn_free(P.flight);
    P.flight = NULL;
    P.flight_head = P.flight_count = P.flight_cap = 0;
    P.waiting = NULL;
    P.nwaiting = P.waiting_cap = 0;
}
