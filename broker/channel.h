/*
 * channel.h - one AMQP channel: its state machine, method dispatch, content
 * assembly for basic.publish, delivery tags and unacknowledged deliveries,
 * prefetch, publisher confirms and transactions.
 */
#ifndef WRN_CHANNEL_H
#define WRN_CHANNEL_H

#include "exchange.h"
#include "methods.h"
#include "queue.h"
#include "wire.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_conn;
struct wrn_msg;
struct wrn_queue;
struct wrn_consumer;
struct wrn_frame;

/* A delivery waiting for ack/nack/reject; tag = base_tag + index in the ring. */
struct wrn_unacked {
    struct wrn_qentry e;    /* e.msg: one ref owned; NULL once settled */
    struct wrn_queue *q;    /* one ref owned */
    struct wrn_consumer *c; /* borrowed; NULL for basic.get or a cancelled consumer */
    bool in_tx;             /* acked inside an open transaction: settled at commit */
};

struct wrn_confirm_wait {
    uint64_t seq;
    uint64_t gen; /* store generation that must be synced first; 0 none */
    bool nack;
};

/* Work deferred by a transaction until tx.commit. */
struct wrn_tx_op {
    enum { WRN_TXOP_PUBLISH, WRN_TXOP_ACK, WRN_TXOP_REJECT } kind;
    uint64_t tag; /* ack / reject: the delivery tag */
    bool requeue;
    bool mandatory;
    struct wrn_msg *msg; /* publish: one ref owned */
};

enum wrn_channel_state {
    WRN_CHAN_STATE_OPEN,
    WRN_CHAN_STATE_CLOSING, /* we sent channel.close; drop all but close/close-ok */
};

enum wrn_content_state {
    WRN_CONTENT_NONE,
    WRN_CONTENT_WAIT_HEADER,
    WRN_CONTENT_WAIT_BODY,
};

struct wrn_channel {
    struct wrn_conn *conn; /* borrowed */
    uint16_t id;
    enum wrn_channel_state state;

    struct wrn_consumer *consumers; /* owned list */

    /* deliveries: ring of records, tag of ring[head] is base_tag */
    struct wrn_unacked *unacked;
    uint32_t unacked_cap, unacked_head, unacked_count;
    uint64_t base_tag; /* tag of the ring's head slot */
    uint64_t next_tag; /* next delivery tag to hand out */
    uint32_t unacked_live; /* records not yet settled: for global prefetch */

    uint16_t prefetch_consumer; /* basic.qos global=false, for new consumers */
    uint16_t prefetch_global;   /* basic.qos global=true */

    /* basic.publish content being assembled */
    enum wrn_content_state content;
    uint8_t pub_exchange_len, pub_key_len;
    uint8_t pub_exchange[255], pub_key[255];
    bool pub_mandatory;
    struct wrn_msg *pub_msg; /* owned while assembling */

    bool confirm;
    uint64_t publish_seq;    /* confirm: last publish sequence number used */
    uint64_t confirm_routed; /* confirm: highest seq routed (acked once durable) */
    uint64_t confirm_acked;  /* confirm: highest seq acked or nacked to the client */
    /* confirms that wait: publishes written to the store (until their generation is
     * synced) and nacks (kept in order behind them) */
    struct wrn_confirm_wait *waits; /* owned ring */
    uint32_t waits_head, waits_count, waits_cap;
    bool durable_waiting;  /* registered with persist.c for the next sync */
    uint64_t commit_gen;   /* tx.commit-ok waits for this generation; 0 none */

    bool tx;
    struct wrn_tx_op *tx_ops; /* owned */
    uint32_t tx_count, tx_cap;

    uint8_t last_queue_len; /* name of the last queue declared, for empty names */
    uint8_t last_queue[255];
    bool has_last_queue;

    /* direct reply-to: the consumer of amq.rabbitmq.reply-to, and its address */
    struct wrn_consumer *reply_consumer; /* owned */
    char reply_address[64];

    struct wrn_route route;   /* reused for every publish */
    struct wrn_route touched; /* queues to dispatch after settling; each holds a ref */
};

struct wrn_channel *wrn_channel_new(struct wrn_conn *conn, uint16_t id);
/* Cancel consumers, requeue unacked deliveries, drop pending work, free. */
void wrn_channel_free(struct wrn_channel *ch);
/* Stop the channel after a soft error: like free, but the struct stays (closing). */
void wrn_channel_shutdown(struct wrn_channel *ch);

/* Handle one decoded method on an open channel. Returns WRN_OK or WRN_EAMQP. */
int wrn_channel_method(struct wrn_channel *ch, const struct wrn_method *m);
/* Content header and body frames. Return WRN_OK or WRN_EAMQP. */
int wrn_channel_content_header(struct wrn_channel *ch, const struct wrn_frame *f);
int wrn_channel_content_body(struct wrn_channel *ch, const struct wrn_frame *f);

/* Send the publisher confirms that are due (called once per read batch). */
void wrn_channel_flush_confirms(struct wrn_channel *ch);
/* The store synced a generation: send what waited for it (persist.c calls this). */
void wrn_channel_durable(struct wrn_channel *ch);

/*
 * Deliver one message from q to consumer c (a queue's dispatch calls this).
 * The entry's ref passes to the channel.
 */
void wrn_channel_deliver(struct wrn_channel *ch, struct wrn_consumer *c, struct wrn_queue *q,
                         struct wrn_qentry *e);
/* basic.get-ok: like a delivery, without a consumer. */
void wrn_channel_deliver_get(struct wrn_channel *ch, struct wrn_queue *q, struct wrn_qentry *e,
                             bool no_ack);
/* basic.recover with requeue: every outstanding delivery goes back to its queue. */
void wrn_channel_recover(struct wrn_channel *ch);
/* Can consumer c on this channel take another message now (prefetch, output)? */
bool wrn_channel_can_deliver(const struct wrn_channel *ch, const struct wrn_consumer *c);

/* Unlink consumer c from the channel; its unacked deliveries stay, unowned. */
void wrn_channel_detach_consumer(struct wrn_channel *ch, struct wrn_consumer *c);
/* Server-initiated basic.cancel for a consumer whose queue went away. */
void wrn_channel_consumer_gone(struct wrn_channel *ch, struct wrn_consumer *c);

/* The queue an empty queue name refers to (the last one declared), or 404. */
int wrn_channel_queue_name(struct wrn_channel *ch, struct wrn_slice *name);
/* 405 unless q is usable from this channel's connection (exclusive queues). */
int wrn_channel_check_exclusive(struct wrn_channel *ch, struct wrn_queue *q);
/* Resolve an empty name, look the queue up (404) and check exclusivity (405). */
int wrn_channel_find_queue(struct wrn_channel *ch, struct wrn_slice name, struct wrn_queue **q);
/* Fill buf with prefix + 22 random url-safe characters ("amq.gen-", "amq.ctag-"). */
struct wrn_slice wrn_random_name(const char *prefix, uint8_t *buf, size_t cap);

/* Direct reply-to (basic.c): the pseudo-queue name, and its cancellation. */
#define WRN_REPLY_TO "amq.rabbitmq.reply-to"
void wrn_channel_cancel_reply_consumer(struct wrn_channel *ch);

/* Per-method handlers, in declare.c and basic.c. */
int wrn_exchange_method(struct wrn_channel *ch, const struct wrn_method *m);
int wrn_queue_method(struct wrn_channel *ch, const struct wrn_method *m);
int wrn_basic_method(struct wrn_channel *ch, const struct wrn_method *m);
/* Route and enqueue a complete message (publish or tx commit). false if a queue refused it. */
bool wrn_basic_route(struct wrn_channel *ch, struct wrn_msg *msg, bool mandatory);
/* Settle deliveries: ack (requeue ignored) or reject/nack. */
int wrn_basic_settle(struct wrn_channel *ch, uint64_t tag, bool multiple, bool ack,
                     bool requeue);

#ifdef __cplusplus
}
#endif

#endif /* WRN_CHANNEL_H */
