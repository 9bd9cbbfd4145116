/*
 * deadletter.c - dead-lettering with RabbitMQ's x-death header, and the
 * property rewriting it needs. A dead-lettered message is a new message: its
 * headers table is rebuilt (x-death updated, x-first-death-* set once),
 * its expiration moves to x-death's original-expiration, and it is routed
 * from the dead-letter exchange with the dead-letter routing key or its
 * original routing keys. Cycles that involve no rejection are cut, as
 * RabbitMQ cuts them.
 */
#include "deadletter.h"

#include "alloc.h"
#include "exchange.h"
#include "log.h"
#include "message.h"
#include "methods.h"
#include "persist.h"
#include "queue.h"
#include "table.h"
#include "vhost.h"

#include <time.h>

static const char *reason_names[] = {"rejected", "expired", "maxlen", "delivery_limit"};

/* A growable write buffer: try, and on overflow retry with twice the room. */
struct growbuf {
    uint8_t *p;
    size_t cap;
};

static void
growbuf_reset(struct growbuf *g, struct wrn_wbuf *w, size_t need)
{
    if (g->cap < need) {
        g->cap = need;
        g->p = wrn_xrealloc(g->p, g->cap);
    }
    wrn_wbuf_init(w, g->p, g->cap);
}

/* Write the array of routing keys a death records: the publish key, then the CC keys. */
static void
put_routing_keys(struct wrn_wbuf *w, const struct wrn_msg *msg, struct wrn_slice headers)
{
    struct wrn_field cc, v;
    struct wrn_table_iter it;
    size_t begin = wrn_table_begin(w);

    wrn_put_u8(w, 'S');
    wrn_put_longstr(w, wrn_msg_routing_key(msg));
    if (wrn_table_get(headers, "CC", &cc) && cc.type == 'A') {
        wrn_array_iter_init(&it, cc.v.s);
        while (wrn_array_next(&it, &v) == 1)
            if (v.type == 'S')
                wrn_field_put(w, &v);
    }
    wrn_table_end(w, begin);
}

static bool
field_is(const struct wrn_field *f, struct wrn_slice s)
{
    return (f->type == 'S' || f->type == 'x') && wrn_slice_eq(f->v.s, s);
}

/*
 * Write the new headers table contents for a death in q: every old header
 * but x-death (and CC, when the dead-letter routing key replaces the keys),
 * then x-death with this death first (an earlier death in the same queue,
 * for the same reason, from the same exchange, is counted up and moved to
 * the front, as RabbitMQ does), then x-first-death-* on the first death.
 * The earlier death matches on queue and reason.
 */
static void
build_headers(struct wrn_wbuf *w, struct wrn_queue *q, const struct wrn_msg *msg,
              const struct wrn_basic_properties *bp, enum wrn_dl_reason reason)
{
    struct wrn_slice headers = (bp->flags & WRN_BASIC_HEADERS_FLAG) ? bp->headers
                                                                    : (struct wrn_slice){NULL, 0};
    struct wrn_slice qname = {(const uint8_t *)q->name, q->name_len};
    struct wrn_slice rname = wrn_slice_str(reason_names[reason]);
    struct wrn_slice xname = wrn_msg_exchange(msg);
    struct wrn_field deaths = {0}, v, d;
    struct wrn_table_iter it, di;
    struct wrn_slice key, dkey;
    bool had_deaths = wrn_table_get(headers, "x-death", &deaths) && deaths.type == 'A';
    bool found = false;
    size_t arr, entry;

    wrn_table_iter_init(&it, headers);
    while (wrn_table_next(&it, &key, &v) == 1) {
        if (wrn_slice_eq_str(key, "x-death") || (q->qa.has_dlrk && wrn_slice_eq_str(key, "CC")))
            continue;
        wrn_table_put_field(w, key, &v);
    }

    wrn_table_put_key(w, "x-death", 'A');
    arr = wrn_table_begin(w);
    /* an earlier matching death first, counted up */
    if (had_deaths) {
        wrn_array_iter_init(&it, deaths.v.s);
        while (!found && wrn_array_next(&it, &v) == 1) {
            struct wrn_field fq, fr;
            if (v.type != 'F' || !wrn_table_get(v.v.s, "queue", &fq) ||
                !wrn_table_get(v.v.s, "reason", &fr) || !field_is(&fq, qname) ||
                !field_is(&fr, rname))
                continue;
            found = true;
            wrn_put_u8(w, 'F');
            entry = wrn_table_begin(w);
            wrn_table_iter_init(&di, v.v.s);
            while (wrn_table_next(&di, &dkey, &d) == 1) {
                int64_t n;
                if (wrn_slice_eq_str(dkey, "count") && wrn_field_as_int(&d, &n))
                    wrn_table_put_long(w, "count", n + 1);
                else
                    wrn_table_put_field(w, dkey, &d);
            }
            wrn_table_end(w, entry);
        }
    }
    if (!found) {
        wrn_put_u8(w, 'F');
        entry = wrn_table_begin(w);
        wrn_table_put_long(w, "count", 1);
        wrn_table_put_longstr(w, "reason", rname);
        wrn_table_put_longstr(w, "queue", qname);
        wrn_table_put_timestamp(w, "time", (uint64_t)time(NULL));
        wrn_table_put_longstr(w, "exchange", xname);
        wrn_table_put_key(w, "routing-keys", 'A');
        put_routing_keys(w, msg, headers);
        if (bp->flags & WRN_BASIC_EXPIRATION_FLAG)
            wrn_table_put_longstr(w, "original-expiration", bp->expiration);
        wrn_table_end(w, entry);
    }
    /* then every other earlier death, in order */
    if (had_deaths) {
        bool skipped = false;
        wrn_array_iter_init(&it, deaths.v.s);
        while (wrn_array_next(&it, &v) == 1) {
            struct wrn_field fq, fr;
            if (found && !skipped && v.type == 'F' && wrn_table_get(v.v.s, "queue", &fq) &&
                wrn_table_get(v.v.s, "reason", &fr) && field_is(&fq, qname) &&
                field_is(&fr, rname)) {
                skipped = true;
                continue;
            }
            wrn_field_put(w, &v);
        }
    }
    wrn_table_end(w, arr);

    if (!had_deaths && !wrn_table_get(headers, "x-first-death-reason", &v)) {
        wrn_table_put_longstr(w, "x-first-death-exchange", xname);
        wrn_table_put_longstr(w, "x-first-death-queue", qname);
        wrn_table_put_longstr(w, "x-first-death-reason", rname);
    }
}

/*
 * A copy of msg with its properties rebuilt: headers from build (called
 * with the decoded properties), expiration dropped if asked, new exchange
 * and routing key. Returns a new message (one ref) or NULL if the original
 * properties cannot be decoded.
 */
typedef void (*headers_fn)(struct wrn_wbuf *w, const struct wrn_basic_properties *bp,
                           void *arg);

static struct wrn_msg *
rewrite(const struct wrn_msg *msg, struct wrn_slice exchange, struct wrn_slice rk,
        bool drop_expiration, headers_fn build, void *arg)
{
    struct wrn_basic_properties bp;
    struct growbuf hb = {0}, pb = {0};
    struct wrn_wbuf w;
    struct wrn_msg *out;
    size_t need = msg->props_len + 1024, begin;
    int n;

    if (wrn_basic_properties_decode(msg->props, msg->props_len, &bp) != WRN_OK)
        return NULL;
    for (;;) {
        growbuf_reset(&hb, &w, need);
        begin = wrn_table_begin(&w);
        build(&w, &bp, arg);
        wrn_table_end(&w, begin);
        if (!w.overflow)
            break;
        need *= 2;
    }
    bp.headers.p = hb.p + 4; /* the property wants the contents, not the length */
    bp.headers.len = (uint32_t)(w.len - 4);
    bp.flags |= WRN_BASIC_HEADERS_FLAG;
    if (drop_expiration)
        bp.flags &= (uint16_t)~WRN_BASIC_EXPIRATION_FLAG;
    need = msg->props_len + w.len + 64;
    growbuf_reset(&pb, &w, need);
    n = wrn_basic_properties_encode(&bp, pb.p, pb.cap);
    WRN_ASSERT(n >= 0);
    out = wrn_msg_new(exchange, rk, (struct wrn_slice){pb.p, (uint32_t)n}, msg->body_size);
    if (msg->body_size)
        memcpy(out->body, msg->body, msg->body_size);
    out->body_filled = msg->body_size;
    out->delivery_mode = msg->delivery_mode;
    out->priority = msg->priority;
    out->expiration = drop_expiration ? -1 : msg->expiration;
    if (msg->bcc_len) {
        out->bcc = wrn_xmalloc(msg->bcc_len);
        memcpy(out->bcc, msg->bcc, msg->bcc_len);
        out->bcc_len = msg->bcc_len;
    }
    wrn_free(hb.p);
    wrn_free(pb.p);
    return out;
}

/* ---- x-delivery-count ----------------------------------------------------- */

struct count_arg {
    uint32_t count;
};

static void
put_delivery_count(struct wrn_wbuf *w, const struct wrn_basic_properties *bp, void *arg)
{
    struct count_arg *a = arg;
    struct wrn_table_iter it;
    struct wrn_slice key;
    struct wrn_field v;

    if (bp->flags & WRN_BASIC_HEADERS_FLAG) {
        wrn_table_iter_init(&it, bp->headers);
        while (wrn_table_next(&it, &key, &v) == 1)
            if (!wrn_slice_eq_str(key, "x-delivery-count"))
                wrn_table_put_field(w, key, &v);
    }
    wrn_table_put_long(w, "x-delivery-count", a->count);
}

struct wrn_msg *
wrn_msg_with_delivery_count(struct wrn_msg *msg, uint32_t count)
{
    struct count_arg a = {count};
    struct wrn_msg *out = rewrite(msg, wrn_msg_exchange(msg), wrn_msg_routing_key(msg), false,
                                  put_delivery_count, &a);
    return out != NULL ? out : wrn_msg_ref(msg);
}

/* ---- sender-selected distribution ----------------------------------------- */

static void
put_without_bcc(struct wrn_wbuf *w, const struct wrn_basic_properties *bp, void *arg)
{
    struct wrn_table_iter it;
    struct wrn_slice key;
    struct wrn_field v;

    (void)arg;
    wrn_table_iter_init(&it, bp->headers);
    while (wrn_table_next(&it, &key, &v) == 1)
        if (!wrn_slice_eq_str(key, "BCC"))
            wrn_table_put_field(w, key, &v);
}

struct wrn_msg *
wrn_msg_without_bcc(struct wrn_msg *msg)
{
    struct wrn_msg *out = rewrite(msg, wrn_msg_exchange(msg), wrn_msg_routing_key(msg), false,
                                  put_without_bcc, NULL);
    struct wrn_basic_properties bp;
    struct wrn_field bcc;

    if (out == NULL)
        return wrn_msg_ref(msg);
    /* the keys stay with the message, out of sight, for dead-lettering */
    if (wrn_basic_properties_decode(msg->props, msg->props_len, &bp) == WRN_OK &&
        wrn_table_get(bp.headers, "BCC", &bcc) && bcc.type == 'A' && bcc.v.s.len > 0) {
        wrn_free(out->bcc);
        out->bcc = wrn_xmalloc(bcc.v.s.len);
        memcpy(out->bcc, bcc.v.s.p, bcc.v.s.len);
        out->bcc_len = bcc.v.s.len;
    }
    return out;
}

/* ---- dead-lettering ------------------------------------------------------- */

struct death_arg {
    struct wrn_queue *q;
    const struct wrn_msg *msg;
    enum wrn_dl_reason reason;
};

static void
put_death(struct wrn_wbuf *w, const struct wrn_basic_properties *bp, void *arg)
{
    struct death_arg *a = arg;
    build_headers(w, a->q, a->msg, bp, a->reason);
}

/*
 * RabbitMQ's cycle rule: delivering to target would close a cycle if target
 * already appears in x-death and no death since then (that one included) was
 * a rejection. deaths is the new message's x-death array.
 */
static bool
is_cycle(struct wrn_slice deaths, const struct wrn_queue *target)
{
    struct wrn_slice tname = {(const uint8_t *)target->name, target->name_len};
    struct wrn_table_iter it;
    struct wrn_field v, fq, fr;
    bool rejected = false;

    wrn_array_iter_init(&it, deaths);
    while (wrn_array_next(&it, &v) == 1) {
        if (v.type != 'F')
            continue;
        if (wrn_table_get(v.v.s, "reason", &fr) && field_is(&fr, wrn_slice_str("rejected")))
            rejected = true;
        if (wrn_table_get(v.v.s, "queue", &fq) && field_is(&fq, tname))
            return !rejected;
    }
    return false;
}

void
wrn_deadletter(struct wrn_queue *q, struct wrn_msg *msg, enum wrn_dl_reason reason)
{
    struct death_arg a = {q, msg, reason};
    struct wrn_exchange *dlx;
    struct wrn_msg *dead;
    struct wrn_route r = {0};
    struct wrn_basic_properties bp;
    struct wrn_field deaths, cc, v;
    struct wrn_slice keys[64], headers = {NULL, 0};
    struct wrn_table_iter it;
    uint32_t nkeys = 0;

    if (!q->qa.has_dlx || (dlx = wrn_vhost_exchange(q->vhost, q->qa.dlx)) == NULL ||
        !wrn_persist_load(msg)) {
        wrn_msg_unref(msg);
        return;
    }
    /* the dead-letter routing key, or the keys the message was published with */
    keys[nkeys++] = q->qa.has_dlrk ? q->qa.dlrk : wrn_msg_routing_key(msg);
    dead = rewrite(msg, q->qa.dlx, keys[0], true, put_death, &a);
    wrn_msg_unref(msg);
    if (dead == NULL)
        return;
    keys[0] = wrn_msg_routing_key(dead); /* msg, which the key pointed into, may be gone */
    if (wrn_basic_properties_decode(dead->props, dead->props_len, &bp) == WRN_OK &&
        (bp.flags & WRN_BASIC_HEADERS_FLAG))
        headers = bp.headers;
    if (!q->qa.has_dlrk && wrn_table_get(headers, "CC", &cc) && cc.type == 'A') {
        wrn_array_iter_init(&it, cc.v.s);
        while (nkeys < 64 && wrn_array_next(&it, &v) == 1)
            if (v.type == 'S')
                keys[nkeys++] = v.v.s;
    }
    if (!q->qa.has_dlrk && dead->bcc_len) {
        wrn_array_iter_init(&it, (struct wrn_slice){dead->bcc, dead->bcc_len});
        while (nkeys < 64 && wrn_array_next(&it, &v) == 1)
            if (v.type == 'S')
                keys[nkeys++] = v.v.s;
    }
    wrn_exchange_route(dlx, dead, keys, nkeys, &r);
    if (!wrn_table_get(headers, "x-death", &deaths))
        deaths.v.s = (struct wrn_slice){NULL, 0};
    for (uint32_t i = 0; i < r.count; i++) {
        if (reason != WRN_DL_REJECTED && is_cycle(deaths.v.s, r.queues[i])) {
            wrn_log_debug("dead-letter cycle: message from queue '%s' not delivered to '%s'",
                          q->name, r.queues[i]->name);
            continue;
        }
        wrn_queue_publish(r.queues[i], dead);
    }
    wrn_route_fini(&r);
    wrn_msg_unref(dead);
}
