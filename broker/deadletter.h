/*
 * deadletter.h - dead-lettering: republishing a message that died in a
 * queue (rejected, expired, over the length limit or the delivery limit) to
 * the queue's dead-letter exchange, with RabbitMQ's x-death header.
 */
#ifndef WRN_DEADLETTER_H
#define WRN_DEADLETTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_queue;
struct wrn_msg;

enum wrn_dl_reason {
    WRN_DL_REJECTED,
    WRN_DL_EXPIRED,
    WRN_DL_MAXLEN,
    WRN_DL_DELIVERY_LIMIT,
};

/*
 * Dead-letter msg, which died in q for reason. Takes over one reference of
 * msg. Without a dead-letter exchange (or if it does not exist) the message
 * is dropped.
 */
void wrn_deadletter(struct wrn_queue *q, struct wrn_msg *msg, enum wrn_dl_reason reason);

/*
 * A copy of msg with an x-delivery-count header (quorum-queue redeliveries).
 * Returns a new reference (msg itself if its properties cannot be decoded).
 */
struct wrn_msg *wrn_msg_with_delivery_count(struct wrn_msg *msg, uint32_t count);
/* A copy of msg without its BCC header (sender-selected distribution). New reference. */
struct wrn_msg *wrn_msg_without_bcc(struct wrn_msg *msg);

#ifdef __cplusplus
}
#endif

#endif /* WRN_DEADLETTER_H */
