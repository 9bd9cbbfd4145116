/*
 * queue.c - queues. Ready messages wait in one ring per priority level (a
 * single level for ordinary queues), each ring in sequence order; a bitmap
 * of non-empty levels finds the highest one in constant time, whatever the
 * number of levels. Consumers are served round-robin within the highest
 * consumer priority that can take a message, or one at a time for a
 * single-active-consumer queue. TTLs drop (or dead-letter) messages from the
 * heads as RabbitMQ does, driven by a timer so that nothing waits for a
 * reader; length limits drop the head or refuse the publish.
 */
#include "queue.h"

#include "alloc.h"
#include "channel.h"
#include "connection.h"
#include "deadletter.h"
#include "dict.h"
#include "exchange.h"
#include "log.h"
#include "message.h"
#include "persist.h"
#include "server.h"
#include "vhost.h"

#include <event2/event.h>
#include <time.h>

static void ttl_timer_cb(evutil_socket_t fd, short what, void *arg);
static void expiry_timer_cb(evutil_socket_t fd, short what, void *arg);
static void expire_heads(struct wrn_queue *q, uint64_t now, bool inclusive);

uint64_t
wrn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct wrn_queue *
wrn_queue_new(struct wrn_vhost *v, struct wrn_slice name, bool durable, bool exclusive,
              bool auto_delete, struct wrn_conn *owner, struct wrn_slice args,
              const struct wrn_queue_args *qa)
{
    struct wrn_queue *q = wrn_xcalloc(1, sizeof(*q));

    q->name = wrn_xstrndup(name.p, name.len);
    q->name_len = (uint8_t)name.len;
    q->vhost = v;
    q->durable = durable;
    q->exclusive = exclusive;
    q->auto_delete = auto_delete;
    q->owner = exclusive ? owner : NULL;
    q->args_len = args.len;
    q->args = wrn_xmalloc(args.len);
    if (args.len)
        memcpy(q->args, args.p, args.len);
    q->qa = *qa;
    /* the dead-letter names point into our own copy of the arguments */
    if (qa->has_dlx)
        q->qa.dlx.p = q->args + (qa->dlx.p - args.p);
    if (qa->has_dlrk)
        q->qa.dlrk.p = q->args + (qa->dlrk.p - args.p);
    q->nlevels = (uint16_t)(qa->max_priority + 1);
    q->levels = wrn_xcalloc(q->nlevels, sizeof(*q->levels));
    q->refs = 1; /* the vhost's */
    if (server.base != NULL) {
        q->ttl_timer = evtimer_new(server.base, ttl_timer_cb, q);
        if (qa->expires >= 0)
            q->expiry_timer = evtimer_new(server.base, expiry_timer_cb, q);
    }
    wrn_dict_set(v->queues, name, q);
    wrn_queue_touch(q);
    return q;
}

void
wrn_queue_ref(struct wrn_queue *q)
{
    q->refs++;
}

void
wrn_queue_unref(struct wrn_queue *q)
{
    WRN_ASSERT(q->refs > 0);
    if (--q->refs > 0)
        return;
    WRN_ASSERT(q->deleted && q->ready == 0 && q->nconsumers == 0);
    for (uint16_t i = 0; i < q->nlevels; i++)
        wrn_free(q->levels[i].ring);
    wrn_free(q->levels);
    wrn_free(q->consumers);
    wrn_free(q->args);
    wrn_free(q->name);
    wrn_free(q);
}

/* ---- priority levels ------------------------------------------------------ */

static struct wrn_qentry *
level_at(struct wrn_qlevel *lv, uint32_t i)
{
    return &lv->ring[(lv->head + i) & (lv->cap - 1)];
}

static void
level_grow(struct wrn_qlevel *lv)
{
    uint32_t n = lv->cap ? lv->cap * 2 : 16;
    struct wrn_qentry *r = wrn_xmalloc(n * sizeof(*r));

    for (uint32_t i = 0; i < lv->count; i++)
        r[i] = *level_at(lv, i);
    wrn_free(lv->ring);
    lv->ring = r;
    lv->cap = n;
    lv->head = 0;
}

/*
 * Insert e by sequence number. New messages and the usual requeue (of the
 * oldest messages) land at the back or the front in O(1); anything else is a
 * binary search and a shift.
 */
static void
level_insert(struct wrn_qlevel *lv, const struct wrn_qentry *e)
{
    uint32_t lo = 0, hi = lv->count, pos;

    if (lv->count == lv->cap)
        level_grow(lv);
    if (lv->count == 0 || e->seq > level_at(lv, lv->count - 1)->seq) {
        pos = lv->count;
    } else if (e->seq < level_at(lv, 0)->seq) {
        lv->head = (lv->head + lv->cap - 1) & (lv->cap - 1);
        pos = 0;
    } else {
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (level_at(lv, mid)->seq < e->seq)
                lo = mid + 1;
            else
                hi = mid;
        }
        pos = lo;
        for (uint32_t i = lv->count; i > pos; i--)
            *level_at(lv, i) = *level_at(lv, i - 1);
    }
    lv->count++;
    *level_at(lv, pos) = *e;
}

static unsigned
level_of(const struct wrn_queue *q, const struct wrn_msg *msg)
{
    /* RabbitMQ: above the maximum counts as the maximum, no priority as 0 */
    return msg->priority < q->nlevels ? msg->priority : q->nlevels - 1u;
}

/* The highest non-empty level, or -1. */
static int
top_level(const struct wrn_queue *q)
{
    for (int w = 3; w >= 0; w--)
        if (q->nonempty[w])
            return w * 64 + 63 - __builtin_clzll(q->nonempty[w]);
    return -1;
}

static void
add_entry(struct wrn_queue *q, const struct wrn_qentry *e)
{
    unsigned l = level_of(q, e->msg);

    level_insert(&q->levels[l], e);
    q->nonempty[l / 64] |= 1ull << (l % 64);
    q->ready++;
    q->ready_bytes += e->msg->body_size;
    if (e->expires_at)
        q->has_expiring = true;
}

static void
take_front(struct wrn_queue *q, unsigned l, struct wrn_qentry *out)
{
    struct wrn_qlevel *lv = &q->levels[l];

    *out = *level_at(lv, 0);
    lv->head = (lv->head + 1) & (lv->cap - 1);
    if (--lv->count == 0)
        q->nonempty[l / 64] &= ~(1ull << (l % 64));
    q->ready--;
    q->ready_bytes -= out->msg->body_size;
}

/*
 * Take the next message, its body read back from the store if it was paged
 * out. A body the store cannot give back is an error logged once; that
 * message is dropped rather than delivered empty.
 */
/* Take the next message as it is (a paged body stays in the store). */
static bool
take_head(struct wrn_queue *q, struct wrn_qentry *out)
{
    int l = top_level(q);

    if (l < 0)
        return false;
    take_front(q, (unsigned)l, out);
    return true;
}

/* How much a queue reads back at once when it reaches paged bodies. */
#define READ_AHEAD_MSGS 256
#define READ_AHEAD_BYTES (1u << 20)

/* The head is paged: read back the bodies of the paged messages right behind it too. */
static void
read_ahead(struct wrn_qlevel *lv)
{
    struct wrn_msg *msgs[READ_AHEAD_MSGS];
    uint64_t bytes = 0;
    uint32_t n = 0;

    for (uint32_t i = 0; i < lv->count && n < READ_AHEAD_MSGS && bytes < READ_AHEAD_BYTES; i++) {
        struct wrn_msg *m = level_at(lv, i)->msg;
        if (wrn_msg_paged(m)) {
            msgs[n++] = m;
            bytes += m->body_size;
        }
    }
    wrn_persist_load_many(msgs, n);
}

/* How much of the backlog ahead of the head a background read keeps in
 * memory, and how many entries one such read looks at. */
#define PREFETCH_BYTES (2u << 20)
#define PREFETCH_DISTANCE_MAX 512
#define PREFETCH_SPAN 1024

/*
 * Paged bodies close behind the head: have them read back on the prefetch
 * thread (prefetch.c) before the head gets there, so the loop does not wait
 * on the store. Costs one look per pop until it fires.
 */
static void
prefetch_ahead(struct wrn_queue *q, struct wrn_qlevel *lv)
{
    struct wrn_msg *msgs[READ_AHEAD_MSGS];
    uint64_t bytes = 0, size;
    uint32_t n = 0, at, distance;

    if (q->prefetching || lv->count == 0)
        return;
    /* how far ahead, in entries, is about PREFETCH_BYTES of bodies like the head's:
     * what is read ahead stays in memory until consumed */
    size = level_at(lv, 0)->msg->body_size;
    distance = size == 0 || PREFETCH_BYTES / size > PREFETCH_DISTANCE_MAX
                   ? PREFETCH_DISTANCE_MAX
                   : (uint32_t)(PREFETCH_BYTES / size);
    if (distance < 2)
        distance = 2;
    at = lv->count > distance ? distance : lv->count - 1;
    if (!wrn_msg_paged(level_at(lv, at)->msg))
        return;
    for (uint32_t i = 0;
         i < lv->count && i < PREFETCH_SPAN && n < READ_AHEAD_MSGS && bytes < READ_AHEAD_BYTES;
         i++) {
        struct wrn_msg *m = level_at(lv, i)->msg;
        if (wrn_msg_paged(m)) {
            msgs[n++] = m;
            bytes += m->body_size;
        }
    }
    wrn_persist_prefetch(q, msgs, n);
}

static bool
pop_head(struct wrn_queue *q, struct wrn_qentry *out)
{
    int l;

    while ((l = top_level(q)) >= 0) {
        /* normally the prefetch thread got here first; if not, read here */
        if (wrn_msg_paged(level_at(&q->levels[l], 0)->msg))
            read_ahead(&q->levels[l]);
        take_front(q, (unsigned)l, out);
        prefetch_ahead(q, &q->levels[l]);
        if (wrn_persist_load(out->msg))
            return true;
        wrn_persist_dequeue(q, out);
        wrn_msg_unref(out->msg);
    }
    return false;
}

void
wrn_queue_page_out(struct wrn_queue *q, uint64_t *excess, uint64_t *write_allowance,
                   bool thorough)
{
    for (int l = top_level(q); l >= 0 && *excess > 0; l--) {
        struct wrn_qlevel *lv = &q->levels[l];
        for (uint32_t i = lv->count; i-- > 0 && *excess > 0;) {
            struct wrn_qentry *e = level_at(lv, i);
            struct wrn_msg *m = e->msg, *stub;
            uint64_t size = m->body_size; /* read first: paging may free m */
            /* Runs page newest first, so what is older than a paged body was
             * mostly paged by an earlier run: a quick run stops here, and only
             * a thorough one walks on to what an earlier run left. */
            if (wrn_msg_paged(m)) {
                if (!thorough)
                    break;
                continue;
            }
            if ((stub = wrn_persist_page_out(m, write_allowance)) == NULL)
                return; /* out of write allowance: the next run goes on */
            if ((e->msg = stub) != m)
                *excess = *excess > size ? *excess - size : 0;
        }
    }
}

/*
 * An entry leaves q for good and is dead-lettered (or dropped) for reason.
 * A paged body is read back first, while the store still has it: leaving
 * the queue may delete it there.
 */
static void
retire(struct wrn_queue *q, struct wrn_qentry *e, enum wrn_dl_reason reason)
{
    if (q->qa.has_dlx)
        wrn_persist_load(e->msg);
    wrn_persist_dequeue(q, e);
    wrn_deadletter(q, e->msg, reason);
}

/* ---- TTL ------------------------------------------------------------------ */

static void
arm_ttl_timer(struct wrn_queue *q)
{
    uint64_t next = 0, now;
    struct timeval tv;

    if (q->ttl_timer == NULL || !q->has_expiring || q->deleted)
        return;
    for (int l = top_level(q); l >= 0; l--) {
        struct wrn_qlevel *lv = &q->levels[l];
        uint64_t at = lv->count ? level_at(lv, 0)->expires_at : 0;
        if (at && (next == 0 || at < next))
            next = at;
    }
    if (next == 0) {
        event_del(q->ttl_timer);
        return;
    }
    now = wrn_now_ms();
    next = next > now ? next - now : 0;
    tv.tv_sec = (time_t)(next / 1000);
    tv.tv_usec = (suseconds_t)(next % 1000) * 1000 + 500; /* land just after the deadline */
    evtimer_add(q->ttl_timer, &tv);
}

/*
 * Drop (dead-letter) expired messages at the head of every level, as
 * RabbitMQ does: a message behind a longer-lived one waits for its turn.
 * inclusive also drops messages expiring this very millisecond, which is how
 * x-message-ttl 0 drops what no consumer took at once.
 */
static void
expire_heads(struct wrn_queue *q, uint64_t now, bool inclusive)
{
    bool any = false;

    if (!q->has_expiring || q->deleted)
        return;
    for (int l = top_level(q); l >= 0; l--) {
        struct wrn_qlevel *lv = &q->levels[l];
        while (lv->count > 0) {
            struct wrn_qentry *f = level_at(lv, 0), e;
            if (f->expires_at == 0 || f->expires_at > now ||
                (!inclusive && f->expires_at == now))
                break;
            take_front(q, (unsigned)l, &e);
            retire(q, &e, WRN_DL_EXPIRED);
            any = true;
        }
    }
    if (any || q->ready == 0)
        q->has_expiring = q->ready > 0;
    arm_ttl_timer(q);
}

static void
ttl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wrn_queue *q = arg;

    (void)fd;
    (void)what;
    wrn_queue_ref(q); /* dead-lettering may route back here and delete it */
    expire_heads(q, wrn_now_ms(), true);
    wrn_queue_unref(q);
}

uint32_t
wrn_queue_ready(struct wrn_queue *q)
{
    expire_heads(q, wrn_now_ms(), true);
    return q->ready;
}

static uint64_t
expiry_of(const struct wrn_queue *q, const struct wrn_msg *msg, uint64_t now)
{
    int64_t ttl = q->qa.message_ttl;

    /* the lower of the queue's TTL and the message's own expiration applies */
    if (msg->expiration >= 0 && (ttl < 0 || msg->expiration < ttl))
        ttl = msg->expiration;
    return ttl < 0 ? 0 : now + (uint64_t)ttl;
}

/* ---- x-expires ------------------------------------------------------------ */

void
wrn_queue_touch(struct wrn_queue *q)
{
    struct timeval tv;

    if (q->expiry_timer == NULL || q->deleted)
        return;
    tv.tv_sec = (time_t)(q->qa.expires / 1000);
    tv.tv_usec = (suseconds_t)(q->qa.expires % 1000) * 1000;
    evtimer_add(q->expiry_timer, &tv);
}

static void
expiry_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wrn_queue *q = arg;

    (void)fd;
    (void)what;
    if (q->nconsumers > 0) {
        wrn_queue_touch(q); /* in use: look again later */
        return;
    }
    wrn_log_info("queue '%s' in vhost '%s' expired (x-expires)", q->name, q->vhost->name);
    wrn_queue_delete(q);
}

/* ---- publishing ----------------------------------------------------------- */

static bool
over_limit(const struct wrn_queue *q, uint32_t extra_msgs, uint64_t extra_bytes)
{
    return (q->qa.max_length >= 0 && q->ready + extra_msgs > (uint64_t)q->qa.max_length) ||
           (q->qa.max_length_bytes >= 0 &&
            q->ready_bytes + extra_bytes > (uint64_t)q->qa.max_length_bytes);
}

/* drop-head: the oldest messages make room (dead-lettered, reason maxlen). */
static void
drop_over_limit(struct wrn_queue *q)
{
    struct wrn_qentry old;

    while (q->ready > 0 && over_limit(q, 0, 0) && take_head(q, &old)) {
        retire(q, &old, WRN_DL_MAXLEN);
    }
}

bool
wrn_queue_publish(struct wrn_queue *q, struct wrn_msg *msg)
{
    struct wrn_qentry e = {0};
    uint64_t now = 0;

    if (q->has_expiring || q->qa.message_ttl >= 0 || msg->expiration >= 0)
        now = wrn_now_ms();
    if (q->has_expiring)
        expire_heads(q, now, false);
    if (q->qa.overflow != WRN_OVERFLOW_DROP_HEAD && over_limit(q, 1, msg->body_size)) {
        /* x-overflow reject-publish(-dlx): the newest message is refused */
        if (q->qa.overflow == WRN_OVERFLOW_REJECT_PUBLISH_DLX)
            wrn_deadletter(q, wrn_msg_ref(msg), WRN_DL_MAXLEN);
        return false;
    }
    e.msg = wrn_msg_ref(msg);
    e.seq = q->next_seq++;
    e.expires_at = now ? expiry_of(q, msg, now) : 0;
    wrn_persist_enqueue(q, &e);
    add_entry(q, &e);
    /* a waiting consumer takes it first (x-max-length 0 still delivers), then the limit */
    wrn_queue_dispatch(q);
    drop_over_limit(q);
    if (e.expires_at) {
        expire_heads(q, now, true); /* x-message-ttl 0: what nobody took is gone */
        arm_ttl_timer(q);
    }
    return true;
}

void
wrn_queue_requeue(struct wrn_queue *q, struct wrn_qentry *e)
{
    if (q->deleted) {
        wrn_msg_unref(e->msg);
        return;
    }
    e->redelivered = true;
    if (q->qa.quorum) {
        e->delivery_count++;
        /* quorum-queue semantics: returned more than the limit allows, it dies */
        if (q->qa.delivery_limit >= 0 && e->delivery_count > (uint64_t)q->qa.delivery_limit) {
            retire(q, e, WRN_DL_DELIVERY_LIMIT);
            return;
        }
    }
    add_entry(q, e);
    if (q->qa.overflow == WRN_OVERFLOW_DROP_HEAD)
        drop_over_limit(q);
    if (e->expires_at)
        arm_ttl_timer(q);
}

void
wrn_queue_reject(struct wrn_queue *q, struct wrn_qentry *e)
{
    retire(q, e, WRN_DL_REJECTED);
}

/*
 * A recovered entry: in place by sequence, no dispatch, no limits. TTLs
 * count again from the restart (the store keeps no deadlines).
 */
void
wrn_queue_restore(struct wrn_queue *q, const struct wrn_qentry *e)
{
    struct wrn_qentry r = *e;

    r.expires_at = expiry_of(q, r.msg, wrn_now_ms());
    add_entry(q, &r);
    if (r.seq >= q->next_seq)
        q->next_seq = r.seq + 1;
    if (r.expires_at)
        arm_ttl_timer(q);
}

bool
wrn_queue_pop(struct wrn_queue *q, struct wrn_qentry *out)
{
    if (q->has_expiring)
        expire_heads(q, wrn_now_ms(), true);
    return pop_head(q, out);
}

uint32_t
wrn_queue_purge(struct wrn_queue *q)
{
    uint32_t n = q->ready;
    struct wrn_qentry e;
    /* With nothing out for delivery (each delivery holds a ref), every stored
     * entry is a ready one: one range delete leaves one tombstone, not n. A
     * deleted queue's entries went with one range delete already. */
    bool whole_range = q->deleted || q->refs == 1;

    if (whole_range && !q->deleted && n > 0)
        wrn_persist_purge(q);
    while (take_head(q, &e)) {
        if (whole_range)
            wrn_persist_forget_entry(q, &e);
        else
            wrn_persist_dequeue(q, &e);
        wrn_msg_unref(e.msg);
    }
    q->has_expiring = false;
    if (q->ttl_timer != NULL)
        event_del(q->ttl_timer);
    return n;
}

/* ---- consumers ------------------------------------------------------------ */

void
wrn_queue_add_consumer(struct wrn_queue *q, struct wrn_consumer *c)
{
    uint32_t pos;

    if (q->nconsumers == q->consumers_cap) {
        q->consumers_cap = q->consumers_cap ? q->consumers_cap * 2 : 4;
        q->consumers = wrn_xrealloc(q->consumers, q->consumers_cap * sizeof(*q->consumers));
    }
    /* keep priority order (highest first), equal priorities in arrival order; a
     * single-active-consumer queue goes by arrival alone (RabbitMQ 3.10) */
    for (pos = q->nconsumers;
         !q->qa.single_active && pos > 0 && q->consumers[pos - 1]->priority < c->priority; pos--)
        q->consumers[pos] = q->consumers[pos - 1];
    q->consumers[pos] = c;
    q->nconsumers++;
    q->had_consumer = true;
    wrn_queue_dispatch(q);
}

static void
unlink_consumer(struct wrn_queue *q, struct wrn_consumer *c)
{
    for (uint32_t i = 0; i < q->nconsumers; i++) {
        if (q->consumers[i] == c) {
            memmove(q->consumers + i, q->consumers + i + 1,
                    (q->nconsumers - i - 1) * sizeof(*q->consumers));
            q->nconsumers--;
            if (q->rr > i)
                q->rr--;
            return;
        }
    }
}

void
wrn_queue_remove_consumer(struct wrn_queue *q, struct wrn_consumer *c)
{
    unlink_consumer(q, c);
    /* spec: auto-delete queues go when their last consumer is cancelled */
    if (q->auto_delete && q->had_consumer && q->nconsumers == 0 && !q->deleted) {
        wrn_queue_delete(q);
        return;
    }
    if (q->nconsumers == 0)
        wrn_queue_touch(q);
    else if (q->qa.single_active && c->unacked == 0)
        wrn_queue_dispatch(q); /* the next consumer takes over */
    /* A single active consumer cancelled while holding deliveries hands over
     * without pushing the backlog: its deliveries, when they come back, go to
     * the successor first (RabbitMQ 3.10 does the same); the next publish,
     * settle or requeue dispatches as usual. */
}

/*
 * The next consumer to receive a message: the highest priority level with a
 * consumer that has room, round-robin within that level. A single-active-
 * consumer queue only ever delivers to its first consumer. NULL if none can.
 */
static struct wrn_consumer *
pick_consumer(struct wrn_queue *q)
{
    uint32_t start = 0;

    if (q->qa.single_active)
        return wrn_channel_can_deliver(q->consumers[0]->ch, q->consumers[0]) ? q->consumers[0]
                                                                              : NULL;
    while (start < q->nconsumers) {
        int32_t prio = q->consumers[start]->priority;
        uint32_t end = start;
        while (end < q->nconsumers && q->consumers[end]->priority == prio)
            end++;
        for (uint32_t k = 0, n = end - start; k < n; k++) {
            uint32_t i = start + (q->rr + k) % n;
            struct wrn_consumer *c = q->consumers[i];
            if (wrn_channel_can_deliver(c->ch, c)) {
                q->rr = i - start + 1;
                return c;
            }
        }
        start = end;
    }
    return NULL;
}

void
wrn_queue_dispatch(struct wrn_queue *q)
{
    struct wrn_qentry e;
    struct wrn_consumer *c;
    uint64_t now = 0;

    /* A delivery can cause another dispatch of the same queue; one loop is enough. */
    if (q->dispatching || q->deleted)
        return;
    q->dispatching = true;
    if (q->has_expiring)
        now = wrn_now_ms();
    /* check for a message before picking: picking moves the round-robin on */
    while (q->ready > 0 && q->nconsumers > 0 && (c = pick_consumer(q)) != NULL &&
           pop_head(q, &e)) {
        if (e.expires_at && e.expires_at < now) {
            retire(q, &e, WRN_DL_EXPIRED);
            continue;
        }
        wrn_channel_deliver(c->ch, c, q, &e);
    }
    q->dispatching = false;
}

/* ---- deletion ------------------------------------------------------------- */

uint32_t
wrn_queue_delete(struct wrn_queue *q)
{
    uint32_t dropped;

    if (q->deleted)
        return 0;
    q->deleted = true;
    wrn_persist_queue(q, false);
    wrn_dict_remove(q->vhost->queues, (struct wrn_slice){(const uint8_t *)q->name, q->name_len});
    while (q->incoming != NULL)
        wrn_binding_remove(q->incoming);
    while (q->nconsumers > 0) {
        struct wrn_consumer *c = q->consumers[q->nconsumers - 1];
        q->nconsumers--;
        wrn_channel_consumer_gone(c->ch, c);
    }
    dropped = wrn_queue_purge(q);
    if (q->ttl_timer != NULL)
        event_free(q->ttl_timer);
    if (q->expiry_timer != NULL)
        event_free(q->expiry_timer);
    q->ttl_timer = q->expiry_timer = NULL;
    wrn_queue_unref(q);
    return dropped;
}
