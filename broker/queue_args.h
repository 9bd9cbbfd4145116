/*
 * queue_args.h - the x- arguments of queue.declare: parsed into a struct
 * once, and checked the way RabbitMQ checks them (406 with its reply text).
 */
#ifndef WRN_QUEUE_ARGS_H
#define WRN_QUEUE_ARGS_H

#include "queue.h"
#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse args (table contents) into qa. Returns NULL on success, or the name
 * of the offending argument with a RabbitMQ-style detail ("{value_negative,
 * -1}") written to detail.
 */
const char *wrn_queue_args_parse(struct wrn_slice args, bool durable, bool exclusive,
                                 struct wrn_queue_args *qa, char *detail, size_t detail_len);

#ifdef __cplusplus
}
#endif

#endif /* WRN_QUEUE_ARGS_H */
