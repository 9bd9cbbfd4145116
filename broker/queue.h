/*
 * queue.h - queues: an ordered store of ready messages, the consumers
 * attached to it with round-robin delivery (highest consumer priority first),
 * exclusivity, auto-delete and the reference count that keeps a deleted queue
 * alive while deliveries from it are still unacknowledged.
 */
#ifndef WRN_QUEUE_H
#define WRN_QUEUE_H

#include "wire.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_vhost;
struct wrn_conn;
struct wrn_channel;
struct wrn_msg;
struct wrn_binding;

/* A message waiting in a queue. */
struct wrn_qentry {
    struct wrn_msg *msg; /* one ref owned */
    uint64_t seq;        /* position in the queue, for requeue order */
    bool redelivered;
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

struct wrn_queue {
    char *name; /* owned */
    uint8_t name_len;
    struct wrn_vhost *vhost; /* borrowed */
    bool durable, exclusive, auto_delete;
    struct wrn_conn *owner; /* borrowed: the exclusive owner */
    uint32_t args_len;
    uint8_t *args; /* owned */

    /* ready messages: a ring buffer in seq order */
    struct wrn_qentry *ring;
    uint32_t ring_cap, ring_head, ring_count;
    uint64_t next_seq;

    /* consumers, sorted by priority (highest first) */
    struct wrn_consumer **consumers;
    uint32_t nconsumers, consumers_cap;
    uint32_t rr; /* round-robin position */
    bool had_consumer;

    struct wrn_binding *incoming; /* borrowed: bindings to this queue */
    uint64_t epoch;               /* routing pass that last added it */
    uint32_t refs;                /* the vhost's + one per unacked delivery */
    bool deleted;
    bool dispatching;
};

struct wrn_queue *wrn_queue_new(struct wrn_vhost *v, struct wrn_slice name, bool durable,
                                bool exclusive, bool auto_delete, struct wrn_conn *owner,
                                struct wrn_slice args);

/*
 * Delete the queue: cancel its consumers (telling clients that asked for
 * consumer_cancel_notify), remove its bindings, drop its ready messages and
 * unlink it from its vhost. Returns the number of ready messages dropped.
 */
uint32_t wrn_queue_delete(struct wrn_queue *q);

void wrn_queue_ref(struct wrn_queue *q);
void wrn_queue_unref(struct wrn_queue *q);

/* Append a newly routed message (takes a new ref) and try to deliver. */
void wrn_queue_publish(struct wrn_queue *q, struct wrn_msg *msg);
/* Put back a delivered message at its original position, flagged redelivered. */
void wrn_queue_requeue(struct wrn_queue *q, struct wrn_msg *msg, uint64_t seq);
/* Take the head (for basic.get). false if empty. The entry's ref passes to the caller. */
bool wrn_queue_pop(struct wrn_queue *q, struct wrn_qentry *out);
uint32_t wrn_queue_purge(struct wrn_queue *q);
static inline uint32_t
wrn_queue_ready(const struct wrn_queue *q)
{
    return q->ring_count;
}

void wrn_queue_add_consumer(struct wrn_queue *q, struct wrn_consumer *c);
/* Detach a consumer; an auto-delete queue that loses its last consumer is deleted. */
void wrn_queue_remove_consumer(struct wrn_queue *q, struct wrn_consumer *c);

/* Deliver ready messages to consumers that can take them. */
void wrn_queue_dispatch(struct wrn_queue *q);

#ifdef __cplusplus
}
#endif

#endif /* WRN_QUEUE_H */
