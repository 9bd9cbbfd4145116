/*
 * queue_args.c - queue.declare arguments, as RabbitMQ 3.10 reads and refuses
 * them: integers of any width (but not timestamps or floats), names as long
 * strings, ten years as the longest TTL, quorum-only arguments refused on
 * classic queues, unknown keys ignored.
 */
#include "queue_args.h"

#include "table.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define MAX_TTL_MS 315360000000LL /* ten years */

const char *
wrn_field_type_name(uint8_t t)
{
    switch (t) {
    case 't': return "bool";
    case 'b': return "byte";
    case 'B': return "unsignedbyte";
    case 's': return "short";
    case 'u': return "unsignedshort";
    case 'I': return "signedint";
    case 'i': return "unsignedint";
    case 'l': return "long";
    case 'L': return "long";
    case 'f': return "float";
    case 'd': return "double";
    case 'D': return "decimal";
    case 'S': return "longstr";
    case 'x': return "binary";
    case 'A': return "array";
    case 'T': return "timestamp";
    case 'F': return "table";
    case 'V': return "void";
    default: return "unknown";
    }
}

void
wrn_field_format(const struct wrn_field *f, char *out, size_t len)
{
    int64_t v;

    if (f->type != 'T' && wrn_field_as_int(f, &v))
        snprintf(out, len, "%" PRId64, v);
    else if (f->type == 'S' || f->type == 'x')
        snprintf(out, len, "%.*s", WRN_SLICE_ARG(f->v.s));
    else if (f->type == 't')
        snprintf(out, len, "%s", f->v.b ? "true" : "false");
    else
        snprintf(out, len, "(%s)", wrn_field_type_name(f->type));
}

/* Integer letters only: RabbitMQ refuses timestamps and floats where it wants an integer. */
static bool
as_integer(const struct wrn_field *f, int64_t *out)
{
    return strchr("bBsuIilL", f->type) != NULL && f->type != 0 && wrn_field_as_int(f, out);
}

struct ctx {
    struct wrn_slice qname;
    const char *vhost;
    char *err;
    size_t errlen;
};

static bool invalid(struct ctx *c, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool
invalid(struct ctx *c, const char *arg, const char *fmt, ...)
{
    char detail[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "invalid arg '%s' for queue '%.*s' in vhost '%s': %s", arg,
             WRN_SLICE_ARG(c->qname), c->vhost, detail);
    return false;
}

enum bound { NON_NEGATIVE, POSITIVE };

/* An integer argument within [0 or 1, max]; max < 0 means no upper bound. */
static bool
get_int(struct ctx *c, struct wrn_slice args, const char *key, enum bound bound, int64_t max,
        const char *too_large, int64_t *out)
{
    struct wrn_field f;
    int64_t v;

    if (!wrn_table_get(args, key, &f))
        return true;
    if (!as_integer(&f, &v))
        return invalid(c, key, "\"expected integer, got %s\"", wrn_field_type_name(f.type));
    if (v < 0)
        return invalid(c, key, "{value_negative,%" PRId64 "}", v);
    if (bound == POSITIVE && v == 0)
        return invalid(c, key, "{value_zero,0}");
    if (max >= 0 && v > max)
        return invalid(c, key, "{%s,%" PRId64 "}", too_large, v);
    *out = v;
    return true;
}

/*
 * A string argument that must be one of a list (NULL-terminated); returns
 * its index. Other strings are refused as RabbitMQ words it: "unsupported
 * queue <what> '<value>'", or plain bad_value when what is NULL.
 */
static bool
get_choice(struct ctx *c, struct wrn_slice args, const char *key, const char *const *choices,
           const char *what, const char *bad_value, int *out)
{
    struct wrn_field f;

    if (!wrn_table_get(args, key, &f))
        return true;
    if (f.type != 'S')
        return invalid(c, key, "{unacceptable_type,%s}", wrn_field_type_name(f.type));
    for (int i = 0; choices[i] != NULL; i++) {
        if (wrn_slice_eq_str(f.v.s, choices[i])) {
            *out = i;
            return true;
        }
    }
    if (what == NULL)
        return invalid(c, key, "%s", bad_value);
    return invalid(c, key, "\"unsupported queue %s '%.*s'\"", what, WRN_SLICE_ARG(f.v.s));
}

bool
wrn_queue_args_parse(struct wrn_slice args, bool durable, bool exclusive, bool auto_delete,
                     struct wrn_slice qname, const char *vhost, struct wrn_queue_args *qa,
                     char *err, size_t errlen)
{
    static const char *const overflows[] = {"drop-head", "reject-publish", "reject-publish-dlx",
                                            NULL};
    static const char *const types[] = {"classic", "quorum", NULL};
    static const char *const modes[] = {"default", "lazy", NULL};
    static const char *const quorum_only[] = {"x-delivery-limit", "x-max-in-memory-length",
                                              "x-max-in-memory-bytes", "x-quorum-initial-group-size",
                                              NULL};
    struct ctx c = {qname, vhost, err, errlen};
    struct wrn_field f;
    int64_t prio = 0;
    int choice = 0;

    memset(qa, 0, sizeof(*qa));
    qa->message_ttl = qa->expires = qa->max_length = qa->max_length_bytes = -1;
    qa->delivery_limit = -1;
    qa->overflow = WRN_OVERFLOW_DROP_HEAD;

    if (!get_choice(&c, args, "x-queue-type", types, "type", NULL, &choice))
        return false;
    qa->quorum = choice == 1;
    if (qa->quorum) {
        const char *prop = !durable ? "non-durable" : exclusive ? "exclusive-owner"
                                                    : auto_delete ? "auto-delete" : NULL;
        if (prop != NULL) {
            snprintf(err, errlen, "invalid property '%s' for queue '%.*s' in vhost '%s'", prop,
                     WRN_SLICE_ARG(qname), vhost);
            return false;
        }
        if (wrn_table_get(args, "x-max-priority", &f)) {
            snprintf(err, errlen,
                     "invalid arg 'x-max-priority' for queue '%.*s' in vhost '%s' of queue type "
                     "rabbit_quorum_queue",
                     WRN_SLICE_ARG(qname), vhost);
            return false;
        }
    } else {
        for (int i = 0; quorum_only[i] != NULL; i++) {
            if (wrn_table_get(args, quorum_only[i], &f)) {
                snprintf(err, errlen,
                         "invalid arg '%s' for queue '%.*s' in vhost '%s' of queue type "
                         "rabbit_classic_queue",
                         quorum_only[i], WRN_SLICE_ARG(qname), vhost);
                return false;
            }
        }
    }
    if (!get_int(&c, args, "x-expires", POSITIVE, MAX_TTL_MS, "value_too_large", &qa->expires) ||
        !get_int(&c, args, "x-message-ttl", NON_NEGATIVE, MAX_TTL_MS, "value_too_large",
                 &qa->message_ttl) ||
        !get_int(&c, args, "x-max-length", NON_NEGATIVE, -1, NULL, &qa->max_length) ||
        !get_int(&c, args, "x-max-length-bytes", NON_NEGATIVE, -1, NULL, &qa->max_length_bytes) ||
        !get_int(&c, args, "x-max-priority", NON_NEGATIVE, 255, "max_value_exceeded", &prio))
        return false;
    qa->max_priority = (uint8_t)prio;
    /* quorum queues take any x-delivery-limit; only a non-negative integer limits */
    if (qa->quorum && wrn_table_get(args, "x-delivery-limit", &f) && as_integer(&f, &prio) &&
        prio >= 0)
        qa->delivery_limit = prio;
    choice = 0;
    if (!get_choice(&c, args, "x-overflow", overflows, NULL, "invalid_overflow", &choice))
        return false;
    qa->overflow = (enum wrn_overflow)choice;
    if (!get_choice(&c, args, "x-queue-mode", modes, "mode", NULL, &choice))
        return false;
    if (wrn_table_get(args, "x-single-active-consumer", &f)) {
        if (f.type != 't')
            return invalid(&c, "x-single-active-consumer", "{unacceptable_type,%s}",
                           wrn_field_type_name(f.type));
        qa->single_active = f.v.b;
    }
    if (wrn_table_get(args, "x-dead-letter-exchange", &f)) {
        if (f.type != 'S') {
            snprintf(err, errlen,
                     "invalid type '%s' for arg 'x-dead-letter-exchange' in queue '%.*s' in "
                     "vhost '%s'",
                     wrn_field_type_name(f.type), WRN_SLICE_ARG(qname), vhost);
            return false;
        }
        qa->has_dlx = true;
        qa->dlx = f.v.s;
    }
    if (wrn_table_get(args, "x-dead-letter-routing-key", &f)) {
        if (f.type != 'S')
            return invalid(&c, "x-dead-letter-routing-key", "{unacceptable_type,%s}",
                           wrn_field_type_name(f.type));
        if (!qa->has_dlx)
            return invalid(&c, "x-dead-letter-routing-key", "routing_key_but_no_dlx_defined");
        qa->has_dlrk = true;
        qa->dlrk = f.v.s;
    }
    return true;
}
