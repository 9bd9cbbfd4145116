/*
 * basic.c - the basic class: publish, consume, cancel, get, qos, ack, nack,
 * reject and recover, with RabbitMQ's meaning of prefetch (per consumer, or
 * per channel with global) and its refusals (immediate, prefetch-size,
 * recover without requeue).
 */
#include "access.h"
#include "alloc.h"
#include "channel.h"
#include "connection.h"
#include "deadletter.h"
#include "dict.h"
#include "server.h"
#include "exchange.h"
#include "message.h"
#include "queue.h"
#include "queue_args.h"
#include "table.h"
#include "vhost.h"

#include <stdio.h>

#define VHOST(ch) ((ch)->conn->vhost)

/*
 * Direct reply-to: a message for "amq.rabbitmq.reply-to.<address>" on the
 * default exchange goes straight to the channel that owns the address, if it
 * is still there. Returns true if delivered.
 */
static bool
deliver_reply(struct wrn_msg *msg)
{
    struct wrn_slice rk = wrn_msg_routing_key(msg);
    size_t prefix = strlen(WRN_REPLY_TO) + 1;
    struct wrn_channel *to;
    struct wrn_qentry e = {0};

    if (msg->exchange_len != 0 || rk.len <= prefix || memcmp(rk.p, WRN_REPLY_TO ".", prefix) != 0)
        return false;
    to = wrn_dict_get(server.reply_channels, (struct wrn_slice){rk.p + prefix, rk.len - (uint32_t)prefix});
    if (to == NULL || to->reply_consumer == NULL || to->state != WRN_CHAN_STATE_OPEN)
        return false;
    e.msg = wrn_msg_ref(msg);
    wrn_channel_deliver(to, to->reply_consumer, NULL, &e);
    return true;
}

/*
 * The routing keys of a message: the one it was published with, then the
 * CC and BCC keys of sender-selected distribution. Returns how many.
 */
static uint32_t
routing_keys(struct wrn_msg *msg, struct wrn_slice *keys, uint32_t cap)
{
    struct wrn_basic_properties bp;
    struct wrn_table_iter it;
    struct wrn_field list, v;
    uint32_t n = 0;
    static const char *headers[] = {"CC", "BCC"};

    keys[n++] = wrn_msg_routing_key(msg);
    if (!msg->cc_bcc || wrn_basic_properties_decode(msg->props, msg->props_len, &bp) != WRN_OK)
        return n;
    for (int h = 0; h < 2; h++) {
        if (!wrn_table_get(bp.headers, headers[h], &list) || list.type != 'A')
            continue;
        wrn_array_iter_init(&it, list.v.s);
        while (n < cap && wrn_array_next(&it, &v) == 1)
            if (v.type == 'S')
                keys[n++] = v.v.s;
    }
    return n;
}

bool
wrn_basic_route(struct wrn_channel *ch, struct wrn_msg *msg, bool mandatory)
{
    struct wrn_exchange *x = wrn_vhost_exchange(VHOST(ch), wrn_msg_exchange(msg));
    struct wrn_route *r = &ch->route;
    struct wrn_slice keys[256];
    struct wrn_msg *stored = msg;
    bool routed, accepted = true;

    r->count = 0;
    if (x != NULL)
        wrn_exchange_route(x, msg, keys, routing_keys(msg, keys, 256), r);
    /* BCC keys route the message but the queues never see them */
    if (msg->cc_bcc && r->count > 0)
        stored = wrn_msg_without_bcc(msg);
    for (uint32_t i = 0; i < r->count; i++)
        if (!wrn_queue_publish(r->queues[i], stored))
            accepted = false;
    if (stored != msg)
        wrn_msg_unref(stored);
    routed = r->count > 0 || deliver_reply(msg);
    if (!routed && mandatory) {
        struct wrn_method m = {.id = WRN_BASIC_RETURN};
        struct wrn_msg *returned = msg->cc_bcc ? wrn_msg_without_bcc(msg) : wrn_msg_ref(msg);
        m.a.basic_return.reply_code = WRN_NO_ROUTE;
        m.a.basic_return.reply_text = wrn_slice_str("NO_ROUTE");
        m.a.basic_return.exchange = wrn_msg_exchange(msg);
        m.a.basic_return.routing_key = wrn_msg_routing_key(msg);
        wrn_conn_send_content(ch->conn, ch->id, &m, returned);
        wrn_msg_unref(returned);
    }
    r->count = 0;
    return accepted;
}

static int
basic_publish(struct wrn_channel *ch, const struct wrn_basic_publish *m)
{
    struct wrn_exchange *x;

    if (m->immediate)
        return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_IMPLEMENTED, "immediate=true");
    if (wrn_access_check(ch, WRN_WRITE, "exchange", m->exchange) != WRN_OK)
        return WRN_EAMQP;
    if ((x = wrn_vhost_exchange(VHOST(ch), m->exchange)) == NULL)
        return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_FOUND, "no exchange '%.*s' in vhost '%s'",
                              WRN_SLICE_ARG(m->exchange), VHOST(ch)->name);
    if (x->internal)
        return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                              "cannot publish to internal exchange '%s' in vhost '%s'", x->name,
                              VHOST(ch)->name);
    if (wrn_access_check_topic(ch, WRN_WRITE, x, m->routing_key) != WRN_OK)
        return WRN_EAMQP;
    ch->conn->publisher = true;
    memcpy(ch->pub_exchange, m->exchange.p, m->exchange.len);
    ch->pub_exchange_len = (uint8_t)m->exchange.len;
    memcpy(ch->pub_key, m->routing_key.p, m->routing_key.len);
    ch->pub_key_len = (uint8_t)m->routing_key.len;
    ch->pub_mandatory = m->mandatory;
    ch->content = WRN_CONTENT_WAIT_HEADER;
    return WRN_OK;
}

static struct wrn_consumer *
find_consumer(struct wrn_channel *ch, struct wrn_slice tag)
{
    for (struct wrn_consumer *c = ch->consumers; c != NULL; c = c->ch_next)
        if (c->tag_len == tag.len && memcmp(c->tag, tag.p, tag.len) == 0)
            return c;
    return NULL;
}

void
wrn_channel_cancel_reply_consumer(struct wrn_channel *ch)
{
    if (ch->reply_consumer == NULL)
        return;
    wrn_dict_remove(server.reply_channels,
                    wrn_slice_str(ch->reply_address + strlen(WRN_REPLY_TO) + 1));
    wrn_free(ch->reply_consumer);
    ch->reply_consumer = NULL;
}

/* basic.consume from the pseudo-queue amq.rabbitmq.reply-to (no-ack only). */
static int
consume_replies(struct wrn_channel *ch, const struct wrn_basic_consume *m, struct wrn_slice tag)
{
    struct wrn_method ok = {.id = WRN_BASIC_CONSUME_OK};
    uint8_t addr[64];
    struct wrn_slice a;
    struct wrn_consumer *c;

    if (!m->no_ack)
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "reply consumer cannot acknowledge");
    if (ch->reply_consumer != NULL)
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "reply consumer already set");
    c = wrn_xcalloc(1, sizeof(*c));
    c->ch = ch;
    memcpy(c->tag, tag.p, tag.len);
    c->tag_len = (uint8_t)tag.len;
    c->no_ack = true;
    ch->reply_consumer = c;
    a = wrn_random_name(WRN_REPLY_TO ".", addr, sizeof(addr));
    snprintf(ch->reply_address, sizeof(ch->reply_address), "%.*s", WRN_SLICE_ARG(a));
    wrn_dict_set(server.reply_channels, wrn_slice_str(ch->reply_address + strlen(WRN_REPLY_TO) + 1),
                 ch);
    if (!m->nowait) {
        ok.a.basic_consume_ok.consumer_tag = tag;
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    }
    return WRN_OK;
}

static int
basic_consume(struct wrn_channel *ch, const struct wrn_basic_consume *m)
{
    struct wrn_method ok = {.id = WRN_BASIC_CONSUME_OK};
    struct wrn_slice qname = m->queue, tag = m->consumer_tag;
    uint8_t tagbuf[64];
    struct wrn_consumer *c;
    struct wrn_queue *q;
    struct wrn_field prio;
    int64_t p = 0;

    if (tag.len == 0)
        tag = wrn_random_name("amq.ctag-", tagbuf, sizeof(tagbuf));
    else if (find_consumer(ch, tag) != NULL ||
             (ch->reply_consumer != NULL && wrn_slice_eq(tag, (struct wrn_slice){
                                               (const uint8_t *)ch->reply_consumer->tag,
                                               ch->reply_consumer->tag_len})))
        return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_ALLOWED,
                              "attempt to reuse consumer tag '%.*s'", WRN_SLICE_ARG(tag));
    if (wrn_slice_eq_str(qname, WRN_REPLY_TO))
        return consume_replies(ch, m, tag);
    if (wrn_channel_queue_name(ch, &qname) != WRN_OK ||
        wrn_access_check(ch, WRN_READ, "queue", qname) != WRN_OK ||
        wrn_channel_find_queue(ch, qname, &q) != WRN_OK)
        return WRN_EAMQP;
    /* RabbitMQ refuses exclusive consumers on single-active-consumer queues outright */
    if ((m->exclusive && q->qa.single_active) ||
        (q->nconsumers > 0 && (m->exclusive || q->consumers[0]->exclusive)))
        return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                              "queue '%s' in vhost '%s' in exclusive use", q->name,
                              VHOST(ch)->name);
    if (wrn_table_get(m->arguments, "x-priority", &prio)) {
        if (prio.type == 'T' || !wrn_field_as_int(&prio, &p))
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "invalid arg 'x-priority' for queue '%s' in vhost '%s': "
                                  "\"expected integer, got %s\"",
                                  q->name, VHOST(ch)->name, wrn_field_type_name(prio.type));
        p = p < INT32_MIN ? INT32_MIN : p > INT32_MAX ? INT32_MAX : p;
    }

    c = wrn_xcalloc(1, sizeof(*c));
    c->ch = ch;
    c->q = q;
    memcpy(c->tag, tag.p, tag.len);
    c->tag_len = (uint8_t)tag.len;
    c->no_ack = m->no_ack;
    c->exclusive = m->exclusive;
    c->priority = (int32_t)p;
    c->prefetch = ch->prefetch_consumer;
    c->ch_next = ch->consumers;
    ch->consumers = c;
    /* consume-ok goes out before the first delivery */
    if (!m->nowait) {
        ok.a.basic_consume_ok.consumer_tag = tag;
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    }
    wrn_queue_add_consumer(q, c);
    return WRN_OK;
}

static int
basic_cancel(struct wrn_channel *ch, const struct wrn_basic_cancel *m)
{
    struct wrn_method ok = {.id = WRN_BASIC_CANCEL_OK};
    struct wrn_consumer *c = find_consumer(ch, m->consumer_tag);

    if (!m->nowait) {
        ok.a.basic_cancel_ok.consumer_tag = m->consumer_tag;
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    }
    if (c == NULL) {
        struct wrn_consumer *r = ch->reply_consumer;
        if (r != NULL && wrn_slice_eq(m->consumer_tag,
                                      (struct wrn_slice){(const uint8_t *)r->tag, r->tag_len}))
            wrn_channel_cancel_reply_consumer(ch);
        return WRN_OK; /* unknown tags are cancelled already, as far as RabbitMQ cares */
    }
    wrn_channel_detach_consumer(ch, c);
    wrn_queue_remove_consumer(c->q, c);
    wrn_free(c);
    return WRN_OK;
}

static int
basic_get(struct wrn_channel *ch, const struct wrn_basic_get *m)
{
    struct wrn_method empty = {.id = WRN_BASIC_GET_EMPTY};
    struct wrn_slice qname = m->queue;
    struct wrn_queue *q;
    struct wrn_qentry e;

    if (wrn_channel_queue_name(ch, &qname) != WRN_OK ||
        wrn_access_check(ch, WRN_READ, "queue", qname) != WRN_OK ||
        wrn_channel_find_queue(ch, qname, &q) != WRN_OK)
        return WRN_EAMQP;
    wrn_queue_touch(q);
    if (!wrn_queue_pop(q, &e)) {
        wrn_conn_send_method(ch->conn, ch->id, &empty);
        return WRN_OK;
    }
    wrn_channel_deliver_get(ch, q, &e, m->no_ack);
    return WRN_OK;
}

static int
basic_qos(struct wrn_channel *ch, const struct wrn_basic_qos *m)
{
    struct wrn_method ok = {.id = WRN_BASIC_QOS_OK};

    if (m->prefetch_size != 0)
        return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_IMPLEMENTED, "prefetch_size!=0 (%u)",
                              m->prefetch_size);
    /* RabbitMQ: global=false limits each consumer created afterwards; global=true the channel */
    if (m->global)
        ch->prefetch_global = m->prefetch_count;
    else
        ch->prefetch_consumer = m->prefetch_count;
    wrn_conn_send_method(ch->conn, ch->id, &ok);
    /* a raised limit may let waiting messages through */
    for (struct wrn_consumer *c = ch->consumers; c != NULL; c = c->ch_next)
        wrn_queue_dispatch(c->q);
    return WRN_OK;
}

static int
basic_recover(struct wrn_channel *ch, bool requeue, bool sync)
{
    struct wrn_method ok = {.id = WRN_BASIC_RECOVER_OK};

    if (!requeue)
        return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_IMPLEMENTED, "requeue=false");
    if (sync)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    wrn_channel_recover(ch);
    return WRN_OK;
}

int
wrn_basic_method(struct wrn_channel *ch, const struct wrn_method *m)
{
    switch (m->id) {
    case WRN_BASIC_PUBLISH:
        return basic_publish(ch, &m->a.basic_publish);
    case WRN_BASIC_CONSUME:
        return basic_consume(ch, &m->a.basic_consume);
    case WRN_BASIC_CANCEL:
        return basic_cancel(ch, &m->a.basic_cancel);
    case WRN_BASIC_GET:
        return basic_get(ch, &m->a.basic_get);
    case WRN_BASIC_QOS:
        return basic_qos(ch, &m->a.basic_qos);
    case WRN_BASIC_ACK:
        return wrn_basic_settle(ch, m->a.basic_ack.delivery_tag, m->a.basic_ack.multiple, true,
                                false);
    case WRN_BASIC_NACK:
        return wrn_basic_settle(ch, m->a.basic_nack.delivery_tag, m->a.basic_nack.multiple,
                                false, m->a.basic_nack.requeue);
    case WRN_BASIC_REJECT:
        return wrn_basic_settle(ch, m->a.basic_reject.delivery_tag, false, false,
                                m->a.basic_reject.requeue);
    case WRN_BASIC_RECOVER:
        return basic_recover(ch, m->a.basic_recover.requeue, true);
    case WRN_BASIC_RECOVER_ASYNC:
        return basic_recover(ch, m->a.basic_recover_async.requeue, false);
    }
    return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID, "unexpected method %s",
                          wrn_method_name(m->id));
}
