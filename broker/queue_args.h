/*
 * queue_args.h - the x- arguments of queue.declare: parsed into a struct
 * once, and checked the way RabbitMQ 3.10 checks them, with its reply texts.
 */
#ifndef WRN_QUEUE_ARGS_H
#define WRN_QUEUE_ARGS_H

#include "queue.h"
#include "table.h"
#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse args (table contents) of a queue declared with the given flags into
 * qa. Returns true, or false with the reply text after "PRECONDITION_FAILED - "
 * written to err ("invalid arg 'x-max-length' for queue 'q' in vhost '/': ...").
 */
bool wrn_queue_args_parse(struct wrn_slice args, bool durable, bool exclusive, bool auto_delete,
                          struct wrn_slice qname, const char *vhost, struct wrn_queue_args *qa,
                          char *err, size_t errlen);

/* RabbitMQ's name for a field type letter ("byte", "longstr", "signedint", ...). */
const char *wrn_field_type_name(uint8_t type);

/* A field's value as RabbitMQ prints it in reply texts (integers, strings, booleans). */
void wrn_field_format(const struct wrn_field *f, char *out, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WRN_QUEUE_ARGS_H */
