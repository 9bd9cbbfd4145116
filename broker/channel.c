/*
 * channel.c - channels: dispatch of methods by class, content assembly for
 * basic.publish, the ring of unacknowledged deliveries (tag = base + index),
 * settling them (ack, nack, reject, requeue), publisher confirms and
 * transactions.
 */
#include "channel.h"

#include "access.h"
#include "alloc.h"
#include "connection.h"
#include "content.h"
#include "deadletter.h"
#include "frame.h"
#include "log.h"
#include "message.h"
#include "persist.h"
#include "queue.h"
#include "queue_args.h"
#include "server.h"
#include "table.h"
#include "vhost.h"

#include <inttypes.h>


struct wrn_channel *
wrn_channel_new(struct wrn_conn *conn, uint16_t id)
{
    struct wrn_channel *ch = wrn_xcalloc(1, sizeof(*ch));

    ch->conn = conn;
    ch->id = id;
    ch->state = WRN_CHAN_STATE_OPEN;
    ch->next_tag = 1;
    ch->base_tag = 1;
    return ch;
}

/* ---- the unacked ring ----------------------------------------------------- */

static struct wrn_unacked *
ring_slot(struct wrn_channel *ch, uint32_t i)
{
    return &ch->unacked[(ch->unacked_head + i) & (ch->unacked_cap - 1)];
}

/* Append the record for tag ch->next_tag (the caller then increments it). */
static struct wrn_unacked *
ring_push(struct wrn_channel *ch)
{
    struct wrn_unacked *u;

    if (ch->unacked_count == 0)
        ch->base_tag = ch->next_tag;
    if (ch->unacked_count == ch->unacked_cap) {
        uint32_t n = ch->unacked_cap ? ch->unacked_cap * 2 : 64;
        struct wrn_unacked *r = wrn_xmalloc(n * sizeof(*r));
        for (uint32_t i = 0; i < ch->unacked_count; i++)
            r[i] = *ring_slot(ch, i);
        wrn_free(ch->unacked);
        ch->unacked = r;
        ch->unacked_cap = n;
        ch->unacked_head = 0;
    }
    WRN_ASSERT(ch->base_tag + ch->unacked_count == ch->next_tag);
    u = ring_slot(ch, ch->unacked_count++);
    memset(u, 0, sizeof(*u));
    return u;
}

/* The live record for tag, or NULL if unknown or already settled. */
static struct wrn_unacked *
ring_find(struct wrn_channel *ch, uint64_t tag)
{
    struct wrn_unacked *u;

    if (tag < ch->base_tag || tag - ch->base_tag >= ch->unacked_count)
        return NULL;
    u = ring_slot(ch, (uint32_t)(tag - ch->base_tag));
    return u->e.msg != NULL ? u : NULL;
}

/* Drop settled records from the head so base_tag moves on. */
static void
ring_trim(struct wrn_channel *ch)
{
    while (ch->unacked_count > 0 && ring_slot(ch, 0)->e.msg == NULL) {
        ch->unacked_head = (ch->unacked_head + 1) & (ch->unacked_cap - 1);
        ch->unacked_count--;
        ch->base_tag++;
    }
}

/* ---- delivery ------------------------------------------------------------- */

bool
wrn_channel_can_deliver(const struct wrn_channel *ch, const struct wrn_consumer *c)
{
    if (ch->state != WRN_CHAN_STATE_OPEN || !wrn_conn_writable(ch->conn))
        return false;
    if (c->no_ack)
        return true;
    if (c->prefetch != 0 && c->unacked >= c->prefetch)
        return false;
    if (ch->prefetch_global != 0 && ch->unacked_live >= ch->prefetch_global)
        return false;
    return true;
}

/* Record a delivery that needs settling; the entry's msg ref passes to the record. */
static void
track_delivery(struct wrn_channel *ch, struct wrn_consumer *c, struct wrn_queue *q,
               const struct wrn_qentry *e)
{
    struct wrn_unacked *u = ring_push(ch);

    u->e = *e;
    u->q = q;
    wrn_queue_ref(q);
    u->c = c;
    if (c != NULL)
        c->unacked++;
    ch->unacked_live++;
}

/*
 * The message as this delivery shows it: quorum-style queues tell
 * redeliveries how often the message came back (x-delivery-count), which
 * needs a copy with that header. Returns a new reference.
 */
static struct wrn_msg *
as_delivered(struct wrn_queue *q, const struct wrn_qentry *e, bool get)
{
    /* RabbitMQ's quorum queues: deliveries show it from the first return on,
     * basic.get always, from 0 */
    if (q != NULL && q->qa.quorum && (get || e->delivery_count > 0))
        return wrn_msg_with_delivery_count(e->msg, e->delivery_count);
    return wrn_msg_ref(e->msg);
}

/* A no-ack delivery uses a tag, but nothing waits for it: keep the ring dense. */
static void
untracked_tag(struct wrn_channel *ch)
{
    if (ch->unacked_count > 0)
        ring_push(ch);
}

void
wrn_channel_deliver(struct wrn_channel *ch, struct wrn_consumer *c, struct wrn_queue *q,
                    struct wrn_qentry *e)
{
    struct wrn_method m = {.id = WRN_BASIC_DELIVER};
    struct wrn_msg *shown = as_delivered(q, e, false);
    uint64_t tag = ch->next_tag;

    m.a.basic_deliver.consumer_tag.p = (const uint8_t *)c->tag;
    m.a.basic_deliver.consumer_tag.len = c->tag_len;
    m.a.basic_deliver.delivery_tag = tag;
    m.a.basic_deliver.redelivered = e->redelivered;
    m.a.basic_deliver.exchange = wrn_msg_exchange(shown);
    m.a.basic_deliver.routing_key = wrn_msg_routing_key(shown);
    wrn_conn_send_content(ch->conn, ch->id, &m, shown);
    wrn_msg_unref(shown);

    if (c->no_ack) {
        untracked_tag(ch);
        if (q != NULL)
            wrn_persist_dequeue(q, e);
        wrn_msg_unref(e->msg);
    } else {
        wrn_persist_delivered(q, e);
        track_delivery(ch, c, q, e);
    }
    ch->next_tag = tag + 1;
}

void
wrn_channel_deliver_get(struct wrn_channel *ch, struct wrn_queue *q, struct wrn_qentry *e,
                        bool no_ack)
{
    struct wrn_method m = {.id = WRN_BASIC_GET_OK};
    struct wrn_msg *shown = as_delivered(q, e, true);
    uint64_t tag = ch->next_tag;

    m.a.basic_get_ok.delivery_tag = tag;
    m.a.basic_get_ok.redelivered = e->redelivered;
    m.a.basic_get_ok.exchange = wrn_msg_exchange(shown);
    m.a.basic_get_ok.routing_key = wrn_msg_routing_key(shown);
    m.a.basic_get_ok.message_count = q->ready;
    wrn_conn_send_content(ch->conn, ch->id, &m, shown);
    wrn_msg_unref(shown);
    if (no_ack) {
        untracked_tag(ch);
        wrn_persist_dequeue(q, e);
        wrn_msg_unref(e->msg);
    } else {
        wrn_persist_delivered(q, e);
        track_delivery(ch, NULL, q, e);
    }
    ch->next_tag = tag + 1;
}

/* ---- settling ------------------------------------------------------------- */

/*
 * Remember q as touched by this operation (once), so it can be dispatched
 * after all requeues are in place: dispatching in between would deliver the
 * requeued messages out of order.
 */
static void
touch_queue(struct wrn_channel *ch, struct wrn_queue *q, uint64_t epoch)
{
    struct wrn_route *r = &ch->touched;

    if (q->epoch == epoch)
        return;
    q->epoch = epoch;
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->queues = wrn_xrealloc(r->queues, r->cap * sizeof(*r->queues));
    }
    wrn_queue_ref(q);
    r->queues[r->count++] = q;
}

/* Settle one record now: ack drops the message, reject requeues or drops it. */
static void
settle_record(struct wrn_channel *ch, struct wrn_unacked *u, bool ack, bool requeue,
              uint64_t epoch)
{
    if (u->c != NULL)
        u->c->unacked--;
    ch->unacked_live--;
    touch_queue(ch, u->q, epoch);
    if (ack) {
        wrn_persist_dequeue(u->q, &u->e);
        wrn_msg_unref(u->e.msg);
    }
    else if (requeue)
        wrn_queue_requeue(u->q, &u->e);
    else
        wrn_queue_reject(u->q, &u->e);
    wrn_queue_unref(u->q);
    u->e.msg = NULL;
    u->q = NULL;
    u->c = NULL;
    u->in_tx = false;
}

/* After settling: let the touched queues and this channel's consumers deliver again. */
static void
redispatch(struct wrn_channel *ch)
{
    struct wrn_route *r = &ch->touched;
    uint32_t n = r->count;

    r->count = 0;
    ring_trim(ch);
    for (uint32_t i = 0; i < n; i++) {
        wrn_queue_dispatch(r->queues[i]);
        wrn_queue_unref(r->queues[i]);
    }
    if (ch->state == WRN_CHAN_STATE_OPEN)
        for (struct wrn_consumer *c = ch->consumers; c != NULL; c = c->ch_next)
            wrn_queue_dispatch(c->q);
}

static void
tx_push(struct wrn_channel *ch, const struct wrn_tx_op *op)
{
    if (ch->tx_count == ch->tx_cap) {
        ch->tx_cap = ch->tx_cap ? ch->tx_cap * 2 : 16;
        ch->tx_ops = wrn_xrealloc(ch->tx_ops, ch->tx_cap * sizeof(*ch->tx_ops));
    }
    ch->tx_ops[ch->tx_count++] = *op;
}

/*
 * ack / nack / reject. With multiple, every outstanding delivery up to tag
 * (all of them for tag 0) is settled and an unknown tag is not an error, as
 * in RabbitMQ; a single unknown or already settled tag is 406. Requeued
 * messages go back in reverse order so each lands in front of the newer ones.
 */
int
wrn_basic_settle(struct wrn_channel *ch, uint64_t tag, bool multiple, bool ack, bool requeue)
{
    uint64_t epoch = ++server.epoch;
    uint32_t first, last; /* ring indexes, inclusive */

    if (!multiple) {
        struct wrn_unacked *u = ring_find(ch, tag);
        if (u == NULL || u->in_tx)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "unknown delivery tag %" PRIu64, tag);
        first = last = (uint32_t)(tag - ch->base_tag);
    } else {
        if (ch->unacked_count == 0 || (tag != 0 && tag < ch->base_tag))
            return WRN_OK;
        first = 0;
        last = ch->unacked_count - 1;
        if (tag != 0 && tag - ch->base_tag < ch->unacked_count)
            last = (uint32_t)(tag - ch->base_tag);
    }
    if (ch->tx) {
        for (uint32_t i = first; i <= last; i++) {
            struct wrn_unacked *u = ring_slot(ch, i);
            struct wrn_tx_op op = {.kind = ack ? WRN_TXOP_ACK : WRN_TXOP_REJECT,
                                   .tag = ch->base_tag + i,
                                   .requeue = requeue};
            if (u->e.msg == NULL || u->in_tx)
                continue;
            u->in_tx = true;
            tx_push(ch, &op);
        }
        return WRN_OK;
    }
    /* requeues go newest first, so each lands in front of the ones after it;
     * acks and dead-letterings go in delivery order */
    for (uint32_t k = 0; k <= last - first; k++) {
        uint32_t i = requeue && !ack ? last - k : first + k;
        struct wrn_unacked *u = ring_slot(ch, i);
        if (u->e.msg != NULL && !u->in_tx)
            settle_record(ch, u, ack, requeue, epoch);
    }
    redispatch(ch);
    return WRN_OK;
}

/* basic.recover (requeue=true): every outstanding delivery goes back to its queue. */
void
wrn_channel_recover(struct wrn_channel *ch)
{
    uint64_t epoch = ++server.epoch;

    for (uint32_t i = ch->unacked_count; i-- > 0;) {
        struct wrn_unacked *u = ring_slot(ch, i);
        if (u->e.msg != NULL && !u->in_tx)
            settle_record(ch, u, false, true, epoch);
    }
    redispatch(ch);
}

/* ---- confirms and transactions -------------------------------------------- */

/* basic.ack for every publish up to seq not yet confirmed. */
static void
ack_upto(struct wrn_channel *ch, uint64_t seq)
{
    struct wrn_method m = {.id = WRN_BASIC_ACK};

    if (seq <= ch->confirm_acked)
        return;
    m.a.basic_ack.delivery_tag = seq;
    m.a.basic_ack.multiple = seq > ch->confirm_acked + 1;
    wrn_conn_send_method(ch->conn, ch->id, &m);
    ch->confirm_acked = seq;
}

static void
confirm_wait_push(struct wrn_channel *ch, uint64_t seq, uint64_t gen, bool nack)
{
    struct wrn_confirm_wait *w;

    if (ch->waits_count == ch->waits_cap) {
        uint32_t n = ch->waits_cap ? ch->waits_cap * 2 : 16;
        struct wrn_confirm_wait *r = wrn_xmalloc(n * sizeof(*r));
        for (uint32_t i = 0; i < ch->waits_count; i++)
            r[i] = ch->waits[(ch->waits_head + i) & (ch->waits_cap - 1)];
        wrn_free(ch->waits);
        ch->waits = r;
        ch->waits_cap = n;
        ch->waits_head = 0;
    }
    w = &ch->waits[(ch->waits_head + ch->waits_count++) & (ch->waits_cap - 1)];
    w->seq = seq;
    w->gen = gen;
    w->nack = nack;
}

/*
 * Confirm in publish order: everything before the first publish still
 * waiting for its store generation is acked (multiple), nacks go out in
 * their place, and the rest waits for the next sync.
 */
void
wrn_channel_flush_confirms(struct wrn_channel *ch)
{
    uint64_t synced = wrn_persist_synced();
    struct wrn_method nack = {.id = WRN_BASIC_NACK};

    if (!ch->confirm || ch->state != WRN_CHAN_STATE_OPEN)
        return;
    while (ch->waits_count > 0) {
        struct wrn_confirm_wait *w = &ch->waits[ch->waits_head];
        if (w->gen > synced)
            break;
        if (w->nack) {
            ack_upto(ch, w->seq - 1);
            nack.a.basic_nack.delivery_tag = w->seq;
            wrn_conn_send_method(ch->conn, ch->id, &nack);
            ch->confirm_acked = w->seq;
        }
        ch->waits_head = (ch->waits_head + 1) & (ch->waits_cap - 1);
        ch->waits_count--;
    }
    ack_upto(ch, ch->waits_count ? ch->waits[ch->waits_head].seq - 1 : ch->confirm_routed);
    if (ch->waits_count > 0)
        wrn_persist_wait(ch);
}

void
wrn_channel_durable(struct wrn_channel *ch)
{
    struct wrn_method ok = {.id = WRN_TX_COMMIT_OK};

    if (ch->state != WRN_CHAN_STATE_OPEN)
        return;
    wrn_channel_flush_confirms(ch);
    if (ch->commit_gen != 0) {
        if (ch->commit_gen <= wrn_persist_synced()) {
            ch->commit_gen = 0;
            wrn_conn_send_method(ch->conn, ch->id, &ok);
        } else {
            wrn_persist_wait(ch);
        }
    }
}

static void
tx_discard(struct wrn_channel *ch)
{
    for (uint32_t i = 0; i < ch->tx_count; i++) {
        struct wrn_tx_op *op = &ch->tx_ops[i];
        if (op->kind == WRN_TXOP_PUBLISH) {
            wrn_msg_unref(op->msg);
        } else {
            struct wrn_unacked *u = op->tag >= ch->base_tag &&
                                            op->tag - ch->base_tag < ch->unacked_count
                                        ? ring_slot(ch, (uint32_t)(op->tag - ch->base_tag))
                                        : NULL;
            if (u != NULL)
                u->in_tx = false;
        }
    }
    ch->tx_count = 0;
}

static void
tx_commit(struct wrn_channel *ch)
{
    uint64_t epoch = ++server.epoch;
    uint32_t n = ch->tx_count;

    /* Detach the list first: routing may not add to it, but keep it simple to reason about. */
    for (uint32_t i = 0; i < n; i++) {
        struct wrn_tx_op *op = &ch->tx_ops[i];
        if (op->kind == WRN_TXOP_PUBLISH) {
            wrn_basic_route(ch, op->msg, op->mandatory);
            wrn_msg_unref(op->msg);
        } else {
            struct wrn_unacked *u = ring_slot(ch, (uint32_t)(op->tag - ch->base_tag));
            WRN_ASSERT(op->tag >= ch->base_tag && u->e.msg != NULL && u->in_tx);
            settle_record(ch, u, op->kind == WRN_TXOP_ACK, op->requeue, epoch);
        }
    }
    ch->tx_count = 0;
    redispatch(ch);
}

/* ---- teardown ------------------------------------------------------------- */

static void
cancel_consumers(struct wrn_channel *ch)
{
    while (ch->consumers != NULL) {
        struct wrn_consumer *c = ch->consumers;
        ch->consumers = c->ch_next;
        c->unacked = 0; /* its deliveries went back with the channel's */
        wrn_queue_remove_consumer(c->q, c);
        wrn_free(c);
    }
}

/*
 * Stop everything the channel does: cancel its consumers, put its unacked
 * deliveries back (redelivered), drop a half-assembled publish and an open
 * transaction. The struct stays, closing, until close-ok.
 */
void
wrn_channel_shutdown(struct wrn_channel *ch)
{
    ch->state = WRN_CHAN_STATE_CLOSING;
    /* Requeue first: a closing channel's consumers take nothing, so the requeued
     * messages wait in front of the ready ones for whoever consumes next (a
     * single active consumer's successor gets them first). */
    for (uint32_t i = 0; i < ch->unacked_count; i++)
        ring_slot(ch, i)->c = NULL;
    tx_discard(ch);
    wrn_channel_recover(ch);
    cancel_consumers(ch);
    wrn_channel_cancel_reply_consumer(ch);
    if (ch->pub_msg != NULL) {
        wrn_msg_unref(ch->pub_msg);
        ch->pub_msg = NULL;
    }
    ch->content = WRN_CONTENT_NONE;
    ch->waits_count = 0;
    ch->commit_gen = 0;
    wrn_persist_forget(ch);
}

void
wrn_channel_free(struct wrn_channel *ch)
{
    if (ch == NULL)
        return;
    if (ch->state == WRN_CHAN_STATE_OPEN)
        wrn_channel_shutdown(ch);
    WRN_ASSERT(ch->unacked_live == 0 && ch->consumers == NULL && ch->reply_consumer == NULL);
    wrn_free(ch->unacked);
    wrn_free(ch->tx_ops);
    wrn_free(ch->waits);
    wrn_route_fini(&ch->route);
    wrn_route_fini(&ch->touched);
    wrn_free(ch);
}

/* The queue went away under consumer c: forget it, and tell the client if it listens. */
void
wrn_channel_detach_consumer(struct wrn_channel *ch, struct wrn_consumer *c)
{
    struct wrn_consumer **pp;

    for (pp = &ch->consumers; *pp != NULL; pp = &(*pp)->ch_next) {
        if (*pp == c) {
            *pp = c->ch_next;
            break;
        }
    }
    for (uint32_t i = 0; i < ch->unacked_count; i++) {
        struct wrn_unacked *u = ring_slot(ch, i);
        if (u->c == c)
            u->c = NULL;
    }
}

void
wrn_channel_consumer_gone(struct wrn_channel *ch, struct wrn_consumer *c)
{
    wrn_channel_detach_consumer(ch, c);
    if (ch->conn->cap_consumer_cancel_notify && ch->state == WRN_CHAN_STATE_OPEN) {
        struct wrn_method m = {.id = WRN_BASIC_CANCEL};
        m.a.basic_cancel.consumer_tag.p = (const uint8_t *)c->tag;
        m.a.basic_cancel.consumer_tag.len = c->tag_len;
        m.a.basic_cancel.nowait = true;
        wrn_conn_send_method(ch->conn, ch->id, &m);
    }
    wrn_free(c);
}

/* ---- methods -------------------------------------------------------------- */

static int
channel_class(struct wrn_channel *ch, const struct wrn_method *m)
{
    struct wrn_method reply;

    switch (m->id) {
    case WRN_CHANNEL_FLOW:
        /* RabbitMQ uses connection.blocked instead; it refuses to be paused. */
        if (!m->a.channel_flow.active)
            return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_IMPLEMENTED, "active=false");
        reply.id = WRN_CHANNEL_FLOW_OK;
        reply.a.channel_flow_ok.active = true;
        wrn_conn_send_method(ch->conn, ch->id, &reply);
        return WRN_OK;
    case WRN_CHANNEL_FLOW_OK: /* we never send channel.flow */
        return wrn_conn_raise(ch->conn, 0, WRN_COMMAND_INVALID, "unimplemented method");
    }
    return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID, "unexpected method %s",
                          wrn_method_name(m->id));
}

static int
confirm_tx_class(struct wrn_channel *ch, const struct wrn_method *m)
{
    struct wrn_method reply;
    uint64_t writes;

    switch (m->id) {
    case WRN_CONFIRM_SELECT:
        if (ch->tx)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "cannot switch from tx to confirm mode");
        ch->confirm = true;
        if (!m->a.confirm_select.nowait) {
            reply.id = WRN_CONFIRM_SELECT_OK;
            wrn_conn_send_method(ch->conn, ch->id, &reply);
        }
        return WRN_OK;
    case WRN_TX_SELECT:
        if (ch->confirm)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "cannot switch from confirm to tx mode");
        ch->tx = true;
        reply.id = WRN_TX_SELECT_OK;
        wrn_conn_send_method(ch->conn, ch->id, &reply);
        return WRN_OK;
    case WRN_TX_COMMIT:
        if (!ch->tx)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "channel is not transactional");
        writes = wrn_persist_writes();
        tx_commit(ch);
        if (wrn_persist_writes() != writes) {
            /* commit-ok once the transaction's persistent work is on disk */
            ch->commit_gen = wrn_persist_generation();
            wrn_persist_wait(ch);
            return WRN_OK;
        }
        reply.id = WRN_TX_COMMIT_OK;
        wrn_conn_send_method(ch->conn, ch->id, &reply);
        return WRN_OK;
    case WRN_TX_ROLLBACK:
        if (!ch->tx)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "channel is not transactional");
        tx_discard(ch);
        reply.id = WRN_TX_ROLLBACK_OK;
        wrn_conn_send_method(ch->conn, ch->id, &reply);
        return WRN_OK;
    }
    return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID, "unexpected method %s",
                          wrn_method_name(m->id));
}

int
wrn_channel_method(struct wrn_channel *ch, const struct wrn_method *m)
{
    struct wrn_method reply;

    if (ch->content != WRN_CONTENT_NONE) {
        ch->conn->cur_method = WRN_BASIC_PUBLISH;
        return wrn_conn_raise(ch->conn, ch->id, WRN_UNEXPECTED_FRAME,
                              "expected content %s, got non content %s frame instead",
                              ch->content == WRN_CONTENT_WAIT_HEADER ? "header for class 60"
                                                                     : "body",
                              ch->content == WRN_CONTENT_WAIT_HEADER ? "header" : "body");
    }
    switch (WRN_METHOD_CLASS(m->id)) {
    case WRN_CLASS_CHANNEL:
        return channel_class(ch, m);
    case WRN_CLASS_EXCHANGE:
        return wrn_exchange_method(ch, m);
    case WRN_CLASS_QUEUE:
        return wrn_queue_method(ch, m);
    case WRN_CLASS_BASIC:
        return wrn_basic_method(ch, m);
    case WRN_CLASS_CONFIRM:
    case WRN_CLASS_TX:
        return confirm_tx_class(ch, m);
    case WRN_CLASS_ACCESS:
        /* access.request is obsolete; RabbitMQ answers it with ticket 1 */
        reply.id = WRN_ACCESS_REQUEST_OK;
        reply.a.access_request_ok.ticket = 1;
        wrn_conn_send_method(ch->conn, ch->id, &reply);
        return WRN_OK;
    }
    return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID, "unexpected method %s",
                          wrn_method_name(m->id));
}

/* ---- content -------------------------------------------------------------- */

/* The whole message is in: route it now, or keep it for tx.commit. */
static void
publish_complete(struct wrn_channel *ch)
{
    struct wrn_msg *msg = ch->pub_msg;
    uint64_t writes;
    bool accepted;

    ch->pub_msg = NULL;
    ch->content = WRN_CONTENT_NONE;
    if (ch->tx) {
        struct wrn_tx_op op = {.kind = WRN_TXOP_PUBLISH, .msg = msg,
                               .mandatory = ch->pub_mandatory};
        tx_push(ch, &op);
        return;
    }
    if (ch->confirm)
        ch->publish_seq++;
    writes = wrn_persist_writes();
    accepted = wrn_basic_route(ch, msg, ch->pub_mandatory);
    wrn_msg_unref(msg);
    if (!ch->confirm)
        return;
    ch->confirm_routed = ch->publish_seq;
    if (!accepted) /* a queue refused it (x-overflow reject-publish) */
        confirm_wait_push(ch, ch->publish_seq, 0, true);
    else if (wrn_persist_writes() != writes) /* confirmed once on disk */
        confirm_wait_push(ch, ch->publish_seq, wrn_persist_generation(), false);
}

/* RabbitMQ's largest expiration: ten years, in milliseconds. */
#define MAX_EXPIRATION_MS 315360000000LL

/* The expiration property: decimal milliseconds, an optional '+', at most ten years. */
static bool
parse_expiration(struct wrn_slice s, int64_t *out)
{
    uint32_t i = s.len > 0 && s.p[0] == '+' ? 1 : 0;
    int64_t v = 0;

    if (i == s.len)
        return false;
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (s.p[i] - '0');
        if (v > MAX_EXPIRATION_MS)
            return false;
    }
    *out = v;
    return true;
}

/*
 * Publishing with reply-to "amq.rabbitmq.reply-to" (direct reply-to): the
 * channel must be consuming from that pseudo-queue, and the property is
 * rewritten to the channel's own reply address. Writes the new properties
 * block into buf and returns it, or raises 406.
 */
static int
rewrite_reply_to(struct wrn_channel *ch, struct wrn_basic_properties *bp, uint8_t *buf,
                 size_t cap, struct wrn_slice *props)
{
    int n;

    if (ch->reply_consumer == NULL)
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "fast reply consumer does not exist");
    bp->reply_to.p = (const uint8_t *)ch->reply_address;
    bp->reply_to.len = (uint32_t)strlen(ch->reply_address);
    n = wrn_basic_properties_encode(bp, buf, cap);
    if (n < 0)
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "properties too large to rewrite reply_to");
    props->p = buf;
    props->len = (uint32_t)n;
    return WRN_OK;
}

/* The CC and BCC keys route the message too, so topic rights apply to each. */
static int
check_cc_topics(struct wrn_channel *ch, struct wrn_slice headers, struct wrn_slice exchange)
{
    const struct wrn_permission *p = ch->conn->permission;
    struct wrn_exchange *x;
    struct wrn_table_iter it;
    struct wrn_field list, v;

    if (p == NULL || p->topics == NULL ||
        (x = wrn_vhost_exchange(ch->conn->vhost, exchange)) == NULL)
        return WRN_OK;
    for (int h = 0; h < 2; h++) {
        if (!wrn_table_get(headers, h == 0 ? "CC" : "BCC", &list) || list.type != 'A')
            continue;
        wrn_array_iter_init(&it, list.v.s);
        while (wrn_array_next(&it, &v) == 1)
            if (v.type == 'S' && wrn_access_check_topic(ch, WRN_WRITE, x, v.v.s) != WRN_OK)
                return WRN_EAMQP;
    }
    return WRN_OK;
}

int
wrn_channel_content_header(struct wrn_channel *ch, const struct wrn_frame *f)
{
    struct wrn_content_header h;
    struct wrn_basic_properties bp;
    struct wrn_slice ex = {ch->pub_exchange, ch->pub_exchange_len};
    struct wrn_slice rk = {ch->pub_key, ch->pub_key_len};
    struct wrn_slice props;
    uint8_t *rewritten = NULL;
    int64_t expiration = -1;
    bool cc_bcc = false;
    int rc = WRN_OK;

    if (ch->content != WRN_CONTENT_WAIT_HEADER)
        return wrn_conn_raise(ch->conn, ch->id, WRN_UNEXPECTED_FRAME,
                              "expected method frame, got non method frame instead");
    ch->conn->cur_method = WRN_BASIC_PUBLISH;
    if (wrn_content_header_decode(f->payload.p, f->payload.len, &h) != WRN_OK)
        return wrn_conn_raise(ch->conn, 0, WRN_FRAME_ERROR,
                              "cannot decode content header on channel %u", ch->id);
    if (h.class_id != WRN_CLASS_BASIC)
        return wrn_conn_raise(ch->conn, ch->id, WRN_UNEXPECTED_FRAME,
                              "expected content header for class 60, got one for class %u "
                              "instead",
                              h.class_id);
    bp = h.basic;
    if (h.weight != 0)
        return wrn_conn_raise(ch->conn, ch->id, WRN_UNEXPECTED_FRAME,
                              "expected content header for class 60, got non content header "
                              "frame instead");
    if (h.body_size > server.cfg.max_message_size)
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "message size %" PRIu64 " is larger than configured max size %" PRIu64,
                              h.body_size, server.cfg.max_message_size);
    /* RabbitMQ: a user-id property must name the user who logged in */
    if ((bp.flags & WRN_BASIC_USER_ID_FLAG) && !wrn_slice_eq_str(bp.user_id, ch->conn->user))
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "user_id property set to '%.*s' but authenticated user was '%s'",
                              WRN_SLICE_ARG(bp.user_id), ch->conn->user);
    props = h.properties;
    if ((bp.flags & WRN_BASIC_REPLY_TO_FLAG) && wrn_slice_eq_str(bp.reply_to, WRN_REPLY_TO)) {
        size_t cap = h.properties.len + 64;
        rewritten = wrn_xmalloc(cap);
        rc = rewrite_reply_to(ch, &bp, rewritten, cap, &props);
    }
    /* sender-selected distribution: CC and BCC must be arrays of routing keys */
    for (int i = 0; rc == WRN_OK && i < 2 && (bp.flags & WRN_BASIC_HEADERS_FLAG); i++) {
        const char *name = i == 0 ? "CC" : "BCC";
        struct wrn_field hdr;
        if (!wrn_table_get(bp.headers, name, &hdr))
            continue;
        if (hdr.type != 'A')
            rc = wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                "invalid message: {unacceptable_type_in_header,\"%s\",%s}", name,
                                wrn_field_type_name(hdr.type));
        cc_bcc = true;
    }
    if (rc == WRN_OK && cc_bcc)
        rc = check_cc_topics(ch, bp.headers, ex);
    if (rc == WRN_OK && (bp.flags & WRN_BASIC_EXPIRATION_FLAG) &&
        !parse_expiration(bp.expiration, &expiration))
        rc = wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                            "invalid expiration '%.*s': not a number of milliseconds "
                            "from 0 to %lld",
                            WRN_SLICE_ARG(bp.expiration), MAX_EXPIRATION_MS);
    if (rc == WRN_OK) {
        ch->pub_msg = wrn_msg_new(ex, rk, props, h.body_size);
        if (bp.flags & WRN_BASIC_DELIVERY_MODE_FLAG)
            ch->pub_msg->delivery_mode = bp.delivery_mode;
        if (bp.flags & WRN_BASIC_PRIORITY_FLAG)
            ch->pub_msg->priority = bp.priority;
        ch->pub_msg->expiration = expiration;
        ch->pub_msg->cc_bcc = cc_bcc;
        ch->content = WRN_CONTENT_WAIT_BODY;
        if (h.body_size == 0)
            publish_complete(ch);
    }
    wrn_free(rewritten);
    return rc;
}

int
wrn_channel_content_body(struct wrn_channel *ch, const struct wrn_frame *f)
{
    struct wrn_msg *msg = ch->pub_msg;

    if (ch->content == WRN_CONTENT_NONE)
        return wrn_conn_raise(ch->conn, ch->id, WRN_UNEXPECTED_FRAME,
                              "expected method frame, got non method frame instead");
    ch->conn->cur_method = WRN_BASIC_PUBLISH;
    if (ch->content == WRN_CONTENT_WAIT_HEADER || f->payload.len > msg->body_size - msg->body_filled)
        return wrn_conn_raise(ch->conn, ch->id, WRN_UNEXPECTED_FRAME,
                              "expected content %s, got non content %s frame instead",
                              ch->content == WRN_CONTENT_WAIT_HEADER ? "header for class 60"
                                                                     : "body",
                              ch->content == WRN_CONTENT_WAIT_HEADER ? "header" : "body");
    if (f->payload.len)
        memcpy(msg->body + msg->body_filled, f->payload.p, f->payload.len);
    msg->body_filled += f->payload.len;
    if (msg->body_filled == msg->body_size)
        publish_complete(ch);
    return WRN_OK;
}
