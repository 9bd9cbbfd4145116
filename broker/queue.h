/*
 * queue.h - queues: ready messages in one FIFO per priority level, the
 * consumers attached to it with round-robin delivery (highest consumer
 * priority first, or a single active consumer), TTLs, length limits,
 * dead-lettering, exclusivity, auto-delete, and the reference count that
 * keeps a deleted queue alive while deliveries from it are unacknowledged.
 */
#ifndef WRN_QUEUE_H
#define WRN_QUEUE_H

#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_vhost;
struct wrn_conn;
struct wrn_channel;
struct wrn_msg;
struct wrn_binding;
struct event;

/* A message waiting in a queue, or delivered and not yet settled. */
struct wrn_qentry {
    struct wrn_msg *msg;     /* one ref owned */
    uint64_t seq;            /* position in the queue, for requeue order */
    uint64_t expires_at;     /* monotonic ms; 0: never */
    uint32_t delivery_count; /* times delivered and returned (x-delivery-count) */
    bool redelivered;
    bool persisted; /* written to the store: leaving the queue deletes it there */
    bool delivered_stored; /* the store knows it was delivered (redelivered at recovery) */
    uint32_t put_op;  /* the entry's put: operation put_op of generation put_gen's */
    uint64_t put_gen; /* batch, which acks may cancel until it is written (persist.c) */
};

struct wrn_consumer {
    struct wrn_channel *ch; /* borrowed */
    struct wrn_queue *q;    /* borrowed */
    uint8_t tag_len;
    char tag[256];
    bool no_ack;
    bool exclusive;
    int32_t priority;  /* x-priority */
    uint16_t prefetch; /* per-consumer limit (basic.qos global=false); 0 none */
    uint32_t unacked;
    struct wrn_consumer *ch_next; /* in the channel's consumer list */
};

/* What a queue does when a publish would take it over its length limit. */
enum wrn_overflow {
    WRN_OVERFLOW_DROP_HEAD,
    WRN_OVERFLOW_REJECT_PUBLISH,
    WRN_OVERFLOW_REJECT_PUBLISH_DLX,
};

/* The x- arguments a queue acts on, parsed once at declare (queue_args.c). */
struct wrn_queue_args {
    uint8_t max_priority;     /* x-max-priority; 0: not a priority queue */
    int64_t message_ttl;      /* x-message-ttl, ms; -1: none */
    int64_t expires;          /* x-expires, ms; -1: none */
    int64_t max_length;       /* x-max-length; -1: none */
    int64_t max_length_bytes; /* x-max-length-bytes; -1: none */
    enum wrn_overflow overflow;
    bool has_dlx;          /* x-dead-letter-exchange given */
    struct wrn_slice dlx;  /* points into the queue's args */
    bool has_dlrk;
    struct wrn_slice dlrk; /* x-dead-letter-routing-key */
    bool single_active;    /* x-single-active-consumer */
    int64_t delivery_limit; /* x-delivery-limit; -1: none */
    bool quorum;            /* x-queue-type = quorum: counts redeliveries */
};

/* One FIFO of ready messages (per priority level), a ring in seq order. */
struct wrn_qlevel {
    struct wrn_qentry *ring;
    uint32_t cap, head, count;
};

struct wrn_queue {
    char *name; /* owned */
    uint8_t name_len;
    struct wrn_vhost *vhost; /* borrowed */
    bool durable, exclusive, auto_delete;
    struct wrn_conn *owner; /* borrowed: the exclusive owner */
    uint32_t args_len;
    uint8_t *args; /* owned */
    struct wrn_queue_args qa;

    /* ready messages: one ring per priority level, a bitmap of the non-empty ones */
    struct wrn_qlevel *levels; /* owned, nlevels of them */
    uint16_t nlevels;
    uint64_t nonempty[4];
    uint32_t ready;
    uint64_t ready_bytes;
    uint64_t next_seq;
    bool has_expiring;          /* some ready message may expire */
    struct event *ttl_timer;    /* owned: fires when the next head expires */
    struct event *expiry_timer; /* owned: x-expires, deletes the unused queue */

    /* consumers, sorted by priority (highest first), arrival order within a priority */
    struct wrn_consumer **consumers;
    uint32_t nconsumers, consumers_cap;
    uint32_t rr; /* round-robin position */
    bool had_consumer;

    uint64_t store_id; /* durable queues: the id its entries are stored under; 0 otherwise */

    struct wrn_binding *incoming; /* borrowed: bindings to this queue */
    uint64_t epoch;               /* routing pass that last added it */
    uint32_t refs;                /* the vhost's + one per unacked delivery */
    bool deleted;
    bool dispatching;
    bool prefetching; /* a prefetch job holds some of its paged messages (prefetch.c) */
};

/* Create a queue with its arguments already parsed and checked (queue_args.c). */
struct wrn_queue *wrn_queue_new(struct wrn_vhost *v, struct wrn_slice name, bool durable,
                                bool exclusive, bool auto_delete, struct wrn_conn *owner,
                                struct wrn_slice args, const struct wrn_queue_args *qa);

/*
 * Delete the queue: cancel its consumers (telling clients that asked for
 * consumer_cancel_notify), remove its bindings, drop its ready messages and
 * unlink it from its vhost. Returns the number of ready messages dropped.
 */
uint32_t wrn_queue_delete(struct wrn_queue *q);

void wrn_queue_ref(struct wrn_queue *q);
void wrn_queue_unref(struct wrn_queue *q);

/*
 * Append a newly routed message (takes a new ref) and try to deliver.
 * Returns false if the queue refused it (x-overflow reject-publish when
 * full): the publisher is then nacked under confirms.
 */
bool wrn_queue_publish(struct wrn_queue *q, struct wrn_msg *msg);
/*
 * Put back a delivered message at its original position, flagged
 * redelivered; the entry's ref passes to the queue. A message past the
 * queue's x-delivery-limit is dead-lettered instead. Does not dispatch.
 */
void wrn_queue_requeue(struct wrn_queue *q, struct wrn_qentry *e);
/* A delivered message was rejected without requeue: dead-letter it (reason rejected). */
void wrn_queue_reject(struct wrn_queue *q, struct wrn_qentry *e);
/* Take the head (for basic.get). false if empty. The entry's ref passes to the caller. */
bool wrn_queue_pop(struct wrn_queue *q, struct wrn_qentry *out);
uint32_t wrn_queue_purge(struct wrn_queue *q);
/* Ready messages, after dropping expired ones at the head. */
uint32_t wrn_queue_ready(struct wrn_queue *q);
/* The queue was used (declare, get, consume): restart its x-expires clock. */
void wrn_queue_touch(struct wrn_queue *q);

void wrn_queue_add_consumer(struct wrn_queue *q, struct wrn_consumer *c);
/* Detach a consumer; an auto-delete queue that loses its last consumer is deleted. */
void wrn_queue_remove_consumer(struct wrn_queue *q, struct wrn_consumer *c);

/* Deliver ready messages to consumers that can take them. */
void wrn_queue_dispatch(struct wrn_queue *q);

/* Page the bodies of ready messages out to the store, newest first, until
 * *excess bytes are paged (*excess counts down) or a body would need more
 * than *write_allowance bytes written (see wrn_persist_page_out). A quick
 * run stops at the first body already paged; a thorough one goes past. */
void wrn_queue_page_out(struct wrn_queue *q, uint64_t *excess, uint64_t *write_allowance,
                        bool thorough);

/* Put a recovered entry in place (persistence recovery; no dispatch, no limits). */
void wrn_queue_restore(struct wrn_queue *q, const struct wrn_qentry *e);

/* Milliseconds on the monotonic clock. */
uint64_t wrn_now_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* WRN_QUEUE_H */
