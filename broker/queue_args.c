/*
 * queue_args.c - queue.declare arguments, as RabbitMQ reads them: integers of
 * any width, names as long strings, unknown keys ignored.
 */
#include "queue_args.h"

#include "table.h"

#include <inttypes.h>
#include <stdio.h>

/* RabbitMQ's names for the field types in its error details. */
static const char *
type_name(uint8_t t)
{
    switch (t) {
    case 'S': return "longstr";
    case 'x': return "binary";
    case 't': return "bool";
    case 'F': return "table";
    case 'A': return "array";
    case 'd': return "double";
    case 'f': return "float";
    case 'D': return "decimal";
    case 'T': return "timestamp";
    case 'V': return "void";
    default: return "unknown";
    }
}

enum bound { ANY_INT, NON_NEGATIVE, POSITIVE };

/* An integer argument. false with detail written if it is absent-but-bad. */
static bool
get_int(struct wrn_slice args, const char *key, enum bound bound, int64_t *out, char *detail,
        size_t len)
{
    struct wrn_field f;
    int64_t v;

    if (!wrn_table_get(args, key, &f))
        return true;
    if (!wrn_field_as_int(&f, &v)) {
        snprintf(detail, len, "{unacceptable_type,%s}", type_name(f.type));
        return false;
    }
    if (bound != ANY_INT && v < 0) {
        snprintf(detail, len, "{value_negative,%" PRId64 "}", v);
        return false;
    }
    if (bound == POSITIVE && v == 0) {
        snprintf(detail, len, "{value_zero,0}");
        return false;
    }
    *out = v;
    return true;
}

static bool
get_str(struct wrn_slice args, const char *key, bool *present, struct wrn_slice *out,
        char *detail, size_t len)
{
    struct wrn_field f;

    if (!wrn_table_get(args, key, &f))
        return true;
    if (f.type != 'S') {
        snprintf(detail, len, "{unacceptable_type,%s}", type_name(f.type));
        return false;
    }
    *present = true;
    *out = f.v.s;
    return true;
}

const char *
wrn_queue_args_parse(struct wrn_slice args, bool durable, bool exclusive,
                     struct wrn_queue_args *qa, char *detail, size_t len)
{
    struct wrn_slice s;
    struct wrn_field f;
    bool present = false;
    int64_t prio = 0;

    memset(qa, 0, sizeof(*qa));
    qa->message_ttl = qa->expires = qa->max_length = qa->max_length_bytes = -1;
    qa->delivery_limit = -1;
    qa->overflow = WRN_OVERFLOW_DROP_HEAD;
    (void)durable;
    (void)exclusive;

    if (!get_int(args, "x-expires", POSITIVE, &qa->expires, detail, len))
        return "x-expires";
    if (!get_int(args, "x-message-ttl", NON_NEGATIVE, &qa->message_ttl, detail, len))
        return "x-message-ttl";
    if (!get_int(args, "x-max-length", NON_NEGATIVE, &qa->max_length, detail, len))
        return "x-max-length";
    if (!get_int(args, "x-max-length-bytes", NON_NEGATIVE, &qa->max_length_bytes, detail, len))
        return "x-max-length-bytes";
    if (!get_int(args, "x-delivery-limit", NON_NEGATIVE, &qa->delivery_limit, detail, len))
        return "x-delivery-limit";
    if (!get_int(args, "x-max-priority", NON_NEGATIVE, &prio, detail, len))
        return "x-max-priority";
    if (prio > 255) {
        snprintf(detail, len, "{value_too_large,%" PRId64 ",255}", prio);
        return "x-max-priority";
    }
    qa->max_priority = (uint8_t)prio;
    if (!get_str(args, "x-dead-letter-exchange", &qa->has_dlx, &qa->dlx, detail, len))
        return "x-dead-letter-exchange";
    if (!get_str(args, "x-dead-letter-routing-key", &qa->has_dlrk, &qa->dlrk, detail, len))
        return "x-dead-letter-routing-key";
    if (!get_str(args, "x-overflow", &present, &s, detail, len))
        return "x-overflow";
    if (present) {
        if (wrn_slice_eq_str(s, "drop-head")) {
            qa->overflow = WRN_OVERFLOW_DROP_HEAD;
        } else if (wrn_slice_eq_str(s, "reject-publish")) {
            qa->overflow = WRN_OVERFLOW_REJECT_PUBLISH;
        } else if (wrn_slice_eq_str(s, "reject-publish-dlx")) {
            qa->overflow = WRN_OVERFLOW_REJECT_PUBLISH_DLX;
        } else {
            snprintf(detail, len, "{invalid_value,%.*s}", WRN_SLICE_ARG(s));
            return "x-overflow";
        }
    }
    if (wrn_table_get(args, "x-single-active-consumer", &f)) {
        if (f.type != 't') {
            snprintf(detail, len, "{unacceptable_type,%s}", type_name(f.type));
            return "x-single-active-consumer";
        }
        qa->single_active = f.v.b;
    }
    present = false;
    if (!get_str(args, "x-queue-type", &present, &s, detail, len))
        return "x-queue-type";
    if (present) {
        if (wrn_slice_eq_str(s, "quorum")) {
            qa->quorum = true;
        } else if (!wrn_slice_eq_str(s, "classic")) {
            snprintf(detail, len, "{invalid_value,%.*s}", WRN_SLICE_ARG(s));
            return "x-queue-type";
        }
    }
    return NULL;
}
