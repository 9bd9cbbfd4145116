/*
 * queue.c - queues: ready messages in a ring buffer ordered by sequence
 * number, consumers in priority order served round-robin, exclusive owners,
 * auto-delete, and deletion that tells consumers their queue is gone.
 */
#include "queue.h"

#include "alloc.h"
#include "channel.h"
#include "connection.h"
#include "dict.h"
#include "exchange.h"
#include "log.h"
#include "message.h"
#include "vhost.h"

struct wrn_queue *
wrn_queue_new(struct wrn_vhost *v, struct wrn_slice name, bool durable, bool exclusive,
              bool auto_delete, struct wrn_conn *owner, struct wrn_slice args)
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
    q->refs = 1; /* the vhost's */
    wrn_dict_set(v->queues, name, q);
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
    WRN_ASSERT(q->deleted && q->ring_count == 0 && q->nconsumers == 0);
    wrn_free(q->ring);
    wrn_free(q->consumers);
    wrn_free(q->args);
    wrn_free(q->name);
    wrn_free(q);
}

/* ---- the ready ring ------------------------------------------------------- */

static struct wrn_qentry *
entry_at(struct wrn_queue *q, uint32_t i)
{
    return &q->ring[(q->ring_head + i) & (q->ring_cap - 1)];
}

static void
ring_grow(struct wrn_queue *q)
{
    uint32_t n = q->ring_cap ? q->ring_cap * 2 : 16;
    struct wrn_qentry *r = wrn_xmalloc(n * sizeof(*r));

    for (uint32_t i = 0; i < q->ring_count; i++)
        r[i] = *entry_at(q, i);
    wrn_free(q->ring);
    q->ring = r;
    q->ring_cap = n;
    q->ring_head = 0;
}

void
wrn_queue_publish(struct wrn_queue *q, struct wrn_msg *msg)
{
    struct wrn_qentry *e;

    if (q->ring_count == q->ring_cap)
        ring_grow(q);
    e = entry_at(q, q->ring_count++);
    e->msg = wrn_msg_ref(msg);
    e->seq = q->next_seq++;
    e->redelivered = false;
    wrn_queue_dispatch(q);
}

/*
 * Put a delivered message back where it was, by sequence number. Requeues
 * usually concern the oldest messages, so the common case is the front.
 * Does not dispatch: the caller does, once all requeues are in place.
 */
void
wrn_queue_requeue(struct wrn_queue *q, struct wrn_msg *msg, uint64_t seq)
{
    uint32_t lo = 0, hi, pos;
    struct wrn_qentry *e;

    if (q->deleted) {
        wrn_msg_unref(msg);
        return;
    }
    if (q->ring_count == q->ring_cap)
        ring_grow(q);
    if (q->ring_count == 0 || seq < entry_at(q, 0)->seq) {
        q->ring_head = (q->ring_head + q->ring_cap - 1) & (q->ring_cap - 1);
        pos = 0;
    } else {
        /* binary search for the first entry with a larger seq, then shift the tail */
        hi = q->ring_count;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (entry_at(q, mid)->seq < seq)
                lo = mid + 1;
            else
                hi = mid;
        }
        pos = lo;
        for (uint32_t i = q->ring_count; i > pos; i--)
            *entry_at(q, i) = *entry_at(q, i - 1);
    }
    q->ring_count++;
    e = entry_at(q, pos);
    e->msg = msg;
    e->seq = seq;
    e->redelivered = true;
}

bool
wrn_queue_pop(struct wrn_queue *q, struct wrn_qentry *out)
{
    if (q->ring_count == 0)
        return false;
    *out = *entry_at(q, 0);
    q->ring_head = (q->ring_head + 1) & (q->ring_cap - 1);
    q->ring_count--;
    return true;
}

uint32_t
wrn_queue_purge(struct wrn_queue *q)
{
    uint32_t n = q->ring_count;
    struct wrn_qentry e;

    while (wrn_queue_pop(q, &e))
        wrn_msg_unref(e.msg);
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
    /* keep priority order (highest first); equal priorities in arrival order */
    for (pos = q->nconsumers; pos > 0 && q->consumers[pos - 1]->priority < c->priority; pos--)
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
    if (q->auto_delete && q->had_consumer && q->nconsumers == 0 && !q->deleted)
        wrn_queue_delete(q);
}

/*
 * The next consumer to receive a message: the highest priority level with a
 * consumer that has room, round-robin within that level. NULL if none can.
 */
static struct wrn_consumer *
pick_consumer(struct wrn_queue *q)
{
    uint32_t start = 0;

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

    /* A delivery can cause another dispatch of the same queue; one loop is enough. */
    if (q->dispatching || q->deleted)
        return;
    q->dispatching = true;
    /* check for a message before picking: picking moves the round-robin on */
    while (q->ring_count > 0 && (c = pick_consumer(q)) != NULL && wrn_queue_pop(q, &e))
        wrn_channel_deliver(c->ch, c, q, e.msg, e.seq, e.redelivered);
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
    wrn_dict_remove(q->vhost->queues, (struct wrn_slice){(const uint8_t *)q->name, q->name_len});
    while (q->incoming != NULL)
        wrn_binding_remove(q->incoming);
    while (q->nconsumers > 0) {
        struct wrn_consumer *c = q->consumers[q->nconsumers - 1];
        q->nconsumers--;
        wrn_channel_consumer_gone(c->ch, c);
    }
    dropped = wrn_queue_purge(q);
    wrn_queue_unref(q);
    return dropped;
}
