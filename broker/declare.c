/*
 * declare.c - the exchange and queue classes: declare, delete, bind, unbind
 * and purge, with RabbitMQ's checks and reply texts (spec README, "RabbitMQ
 * behaviour a compatible broker should follow").
 */
#include "access.h"
#include "alloc.h"
#include "channel.h"
#include "dict.h"
#include "server.h"
#include "connection.h"
#include "exchange.h"
#include "persist.h"
#include "queue.h"
#include "queue_args.h"
#include "router.h"
#include "table.h"
#include "vhost.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#define VHOST(ch) ((ch)->conn->vhost)

static int
not_found(struct wrn_channel *ch, const char *kind, struct wrn_slice name)
{
    return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_FOUND, "no %s '%.*s' in vhost '%s'", kind,
                          WRN_SLICE_ARG(name), VHOST(ch)->name);
}

static int
default_exchange_refused(struct wrn_channel *ch)
{
    return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                          "operation not permitted on the default exchange");
}

static bool
has_amq_prefix(struct wrn_slice name)
{
    return name.len >= 4 && memcmp(name.p, "amq.", 4) == 0;
}

/* An exclusive queue belongs to one connection; everyone else gets 405. */
static int
locked(struct wrn_channel *ch, struct wrn_queue *q)
{
    return wrn_conn_raise(ch->conn, ch->id, WRN_RESOURCE_LOCKED,
                          "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "
                          "It could be originally declared on another connection or the "
                          "exclusive property value does not match that of the original "
                          "declaration.",
                          q->name, VHOST(ch)->name);
}

int
wrn_channel_check_exclusive(struct wrn_channel *ch, struct wrn_queue *q)
{
    return q->exclusive && q->owner != ch->conn ? locked(ch, q) : WRN_OK;
}

struct wrn_slice
wrn_random_name(const char *prefix, uint8_t *buf, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t plen = strlen(prefix);
    uint8_t rnd[22];

    WRN_ASSERT(cap >= plen + sizeof(rnd));
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        for (size_t i = 0; i < sizeof(rnd); i++)
            rnd[i] = (uint8_t)random();
    memcpy(buf, prefix, plen);
    for (size_t i = 0; i < sizeof(rnd); i++)
        buf[plen + i] = (uint8_t)alphabet[rnd[i] & 63];
    return (struct wrn_slice){buf, (uint32_t)(plen + sizeof(rnd))};
}

int
wrn_channel_queue_name(struct wrn_channel *ch, struct wrn_slice *name)
{
    if (name->len > 0)
        return WRN_OK;
    if (!ch->has_last_queue)
        return wrn_conn_raise(ch->conn, ch->id, WRN_NOT_FOUND, "no previously declared queue");
    name->p = ch->last_queue;
    name->len = ch->last_queue_len;
    return WRN_OK;
}

/*
 * Compare the arguments RabbitMQ checks on redeclare (it ignores others).
 * Returns the first key whose presence or value differs, or NULL; the
 * "received ... but current is ..." part of RabbitMQ's text goes to how.
 */
static const char *
args_mismatch(struct wrn_slice have, struct wrn_slice want, const char *const *keys, char *how,
              size_t len)
{
    for (; *keys != NULL; keys++) {
        struct wrn_field a, b;
        bool in_have = wrn_table_get(have, *keys, &a);
        bool in_want = wrn_table_get(want, *keys, &b);
        char va[128], vb[128];
        int64_t ia, ib;

        if (!in_have && !in_want)
            continue;
        if (in_have)
            wrn_field_format(&a, va, sizeof(va));
        if (in_want)
            wrn_field_format(&b, vb, sizeof(vb));
        if (!in_want) {
            snprintf(how, len, "received none but current is the value '%s' of type '%s'", va,
                     wrn_field_type_name(a.type));
            return *keys;
        }
        if (!in_have) {
            snprintf(how, len, "received the value '%s' of type '%s' but current is none", vb,
                     wrn_field_type_name(b.type));
            return *keys;
        }
        if (wrn_field_as_int(&a, &ia) && wrn_field_as_int(&b, &ib) ? ia != ib
                                                                    : strcmp(va, vb) != 0 ||
                                                                          a.type != b.type) {
            snprintf(how, len, "received '%s' but current is '%s'", vb, va);
            return *keys;
        }
    }
    return NULL;
}

static const char *const exchange_arg_keys[] = {"alternate-exchange", NULL};
static const char *const queue_arg_keys[] = {
    "x-expires",           "x-message-ttl",        "x-dead-letter-exchange",
    "x-dead-letter-routing-key", "x-max-length",   "x-max-length-bytes",
    "x-max-in-memory-length",    "x-max-in-memory-bytes", "x-max-priority",
    "x-overflow",          "x-queue-mode",         "x-single-active-consumer",
    "x-queue-type",        "x-delivery-limit",     NULL,
};

static const char *
yes_no(bool b)
{
    return b ? "true" : "false";
}

/* ---- exchange.* ----------------------------------------------------------- */

static int
inequivalent_exchange(struct wrn_channel *ch, struct wrn_exchange *x, const char *arg,
                      const char *received, const char *current)
{
    return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                          "inequivalent arg '%s' for exchange '%s' in vhost '%s': received "
                          "'%s' but current is '%s'",
                          arg, x->name, VHOST(ch)->name, received, current);
}

static int
exchange_declare(struct wrn_channel *ch, const struct wrn_exchange_declare *m)
{
    struct wrn_method ok = {.id = WRN_EXCHANGE_DECLARE_OK};
    struct wrn_exchange *x;
    enum wrn_exchange_type type = WRN_EXCHANGE_DIRECT;
    struct wrn_field ae;
    const char *key;
    char how[320];

    if (m->passive) {
        if (m->exchange.len == 0)
            return default_exchange_refused(ch);
        if (wrn_access_check_any(ch, "exchange", m->exchange) != WRN_OK)
            return WRN_EAMQP;
        if ((x = wrn_vhost_exchange(VHOST(ch), m->exchange)) == NULL)
            return not_found(ch, "exchange", m->exchange);
    } else {
        if (!wrn_exchange_type_parse(m->type, &type))
            return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID,
                                  "invalid exchange type '%.*s'", WRN_SLICE_ARG(m->type));
        if (m->exchange.len == 0)
            return default_exchange_refused(ch);
        if (wrn_access_check(ch, WRN_CONFIGURE, "exchange", m->exchange) != WRN_OK)
            return WRN_EAMQP;
        x = wrn_vhost_exchange(VHOST(ch), m->exchange);
        if (x == NULL) {
            if (has_amq_prefix(m->exchange))
                return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                                      "exchange name '%.*s' contains reserved prefix 'amq.*'",
                                      WRN_SLICE_ARG(m->exchange));
            if (wrn_table_get(m->arguments, "alternate-exchange", &ae) && ae.type != 'S')
                return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                      "invalid type '%s' for arg 'alternate-exchange' in exchange "
                                      "'%.*s' in vhost '%s'",
                                      wrn_field_type_name(ae.type), WRN_SLICE_ARG(m->exchange),
                                      VHOST(ch)->name);
            /* naming an alternate exchange publishes to it: read here, write there */
            if (wrn_table_get(m->arguments, "alternate-exchange", &ae) &&
                (wrn_access_check(ch, WRN_READ, "exchange", m->exchange) != WRN_OK ||
                 wrn_access_check(ch, WRN_WRITE, "exchange", ae.v.s) != WRN_OK))
                return WRN_EAMQP;
            x = wrn_exchange_new(VHOST(ch), m->exchange, type, m->durable, m->auto_delete,
                                 m->internal, m->arguments);
            wrn_persist_exchange(x, true);
        } else if (x->type != type) {
            return inequivalent_exchange(ch, x, "type", wrn_exchange_type_name(type),
                                         wrn_exchange_type_name(x->type));
        } else if (x->durable != m->durable) {
            return inequivalent_exchange(ch, x, "durable", yes_no(m->durable),
                                         yes_no(x->durable));
        } else if (x->auto_delete != m->auto_delete) {
            return inequivalent_exchange(ch, x, "auto_delete", yes_no(m->auto_delete),
                                         yes_no(x->auto_delete));
        } else if (x->internal != m->internal) {
            return inequivalent_exchange(ch, x, "internal", yes_no(m->internal),
                                         yes_no(x->internal));
        } else if ((key = args_mismatch((struct wrn_slice){x->args, x->args_len}, m->arguments,
                                        exchange_arg_keys, how, sizeof(how))) != NULL) {
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "inequivalent arg '%s' for exchange '%s' in vhost '%s': %s",
                                  key, x->name, VHOST(ch)->name, how);
        }
    }
    if (!m->nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

static int
exchange_delete(struct wrn_channel *ch, const struct wrn_exchange_delete *m)
{
    struct wrn_method ok = {.id = WRN_EXCHANGE_DELETE_OK};
    struct wrn_exchange *x;

    if (m->exchange.len == 0)
        return default_exchange_refused(ch);
    x = wrn_vhost_exchange(VHOST(ch), m->exchange);
    if (x != NULL && x->builtin)
        return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                              "deletion of system exchange '%s' in vhost '%s' not allowed",
                              x->name, VHOST(ch)->name);
    if (wrn_access_check(ch, WRN_CONFIGURE, "exchange", m->exchange) != WRN_OK)
        return WRN_EAMQP;
    if (x != NULL && m->if_unused && x->nbindings > 0)
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "exchange '%s' in vhost '%s' in use", x->name, VHOST(ch)->name);
    if (x != NULL) /* deleting what does not exist succeeds (spec README) */
        wrn_exchange_delete(x);
    if (!m->nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

static int
check_headers_binding(struct wrn_channel *ch, struct wrn_exchange *src, struct wrn_slice args)
{
    if (src->type == WRN_EXCHANGE_HEADERS && !wrn_headers_binding_valid(args))
        return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                              "Invalid x-match field value; expected one of all, any, "
                              "all-with-x or any-with-x");
    return WRN_OK;
}

/* exchange.bind and exchange.unbind. */
static int
exchange_bind(struct wrn_channel *ch, struct wrn_slice source, struct wrn_slice destination,
              struct wrn_slice key, struct wrn_slice args, bool bind, bool nowait)
{
    struct wrn_method ok = {.id = bind ? WRN_EXCHANGE_BIND_OK : WRN_EXCHANGE_UNBIND_OK};
    struct wrn_exchange *src, *dst;
    struct wrn_binding *b;

    if (wrn_access_check(ch, WRN_WRITE, "exchange", destination) != WRN_OK)
        return WRN_EAMQP;
    if (source.len == 0 || destination.len == 0)
        return default_exchange_refused(ch);
    if (wrn_access_check(ch, WRN_READ, "exchange", source) != WRN_OK)
        return WRN_EAMQP;
    src = wrn_vhost_exchange(VHOST(ch), source);
    dst = wrn_vhost_exchange(VHOST(ch), destination);
    if (src != NULL && wrn_access_check_topic(ch, WRN_READ, src, key) != WRN_OK)
        return WRN_EAMQP;
    if (!bind && (src == NULL || dst == NULL))
        goto reply; /* as for queue.unbind */
    if (src == NULL)
        return not_found(ch, "exchange", source);
    if (dst == NULL)
        return not_found(ch, "exchange", destination);
    b = wrn_binding_find(src, NULL, dst, key, args);
    if (bind && b == NULL) {
        if (check_headers_binding(ch, src, args) != WRN_OK)
            return WRN_EAMQP;
        wrn_persist_binding(wrn_binding_add(src, NULL, dst, key, args), true);
    } else if (!bind && b != NULL) {
        wrn_binding_remove(b);
    }
reply:
    if (!nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

int
wrn_exchange_method(struct wrn_channel *ch, const struct wrn_method *m)
{
    switch (m->id) {
    case WRN_EXCHANGE_DECLARE:
        return exchange_declare(ch, &m->a.exchange_declare);
    case WRN_EXCHANGE_DELETE:
        return exchange_delete(ch, &m->a.exchange_delete);
    case WRN_EXCHANGE_BIND: {
        const struct wrn_exchange_bind *b = &m->a.exchange_bind;
        return exchange_bind(ch, b->source, b->destination, b->routing_key, b->arguments, true,
                             b->nowait);
    }
    case WRN_EXCHANGE_UNBIND: {
        const struct wrn_exchange_unbind *u = &m->a.exchange_unbind;
        return exchange_bind(ch, u->source, u->destination, u->routing_key, u->arguments, false,
                             u->nowait);
    }
    }
    return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID, "unexpected method %s",
                          wrn_method_name(m->id));
}

/* ---- queue.* -------------------------------------------------------------- */

static int
inequivalent_queue(struct wrn_channel *ch, struct wrn_queue *q, const char *arg,
                   const char *received, const char *current)
{
    return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                          "inequivalent arg '%s' for queue '%s' in vhost '%s': received '%s' "
                          "but current is '%s'",
                          arg, q->name, VHOST(ch)->name, received, current);
}

static void
remember_queue(struct wrn_channel *ch, struct wrn_slice name)
{
    memcpy(ch->last_queue, name.p, name.len);
    ch->last_queue_len = (uint8_t)name.len;
    ch->has_last_queue = true;
}

static int
queue_declare(struct wrn_channel *ch, const struct wrn_queue_declare *m)
{
    struct wrn_method ok = {.id = WRN_QUEUE_DECLARE_OK};
    struct wrn_slice name = m->queue;
    uint8_t namebuf[64];
    struct wrn_queue *q;
    const char *key;
    char how[320];

    /* the direct reply-to pseudo-queue: RabbitMQ answers declares of it, and of a
     * reply address, as if it were a queue with one consumer */
    if (name.len >= strlen(WRN_REPLY_TO) && memcmp(name.p, WRN_REPLY_TO, strlen(WRN_REPLY_TO)) == 0) {
        bool exact = name.len == strlen(WRN_REPLY_TO);
        struct wrn_slice addr = {name.p + strlen(WRN_REPLY_TO) + 1,
                                 exact ? 0 : name.len - (uint32_t)strlen(WRN_REPLY_TO) - 1};
        if (exact || (name.p[strlen(WRN_REPLY_TO)] == '.' &&
                      wrn_dict_get(server.reply_channels, addr) != NULL)) {
            ok.a.queue_declare_ok.queue = name;
            ok.a.queue_declare_ok.consumer_count = 1;
            if (!m->nowait)
                wrn_conn_send_method(ch->conn, ch->id, &ok);
            return WRN_OK;
        }
        return not_found(ch, "queue", name);
    }
    if (m->passive) {
        if (wrn_channel_queue_name(ch, &name) != WRN_OK)
            return WRN_EAMQP;
        if (wrn_access_check_any(ch, "queue", name) != WRN_OK)
            return WRN_EAMQP;
        if ((q = wrn_vhost_queue(VHOST(ch), name)) == NULL)
            return not_found(ch, "queue", name);
        if (wrn_channel_check_exclusive(ch, q) != WRN_OK)
            return WRN_EAMQP;
    } else {
        if (name.len == 0)
            name = wrn_random_name("amq.gen-", namebuf, sizeof(namebuf));
        else if (has_amq_prefix(name))
            return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                                  "queue name '%.*s' contains reserved prefix 'amq.*'",
                                  WRN_SLICE_ARG(name));
        if (wrn_access_check(ch, WRN_CONFIGURE, "queue", name) != WRN_OK)
            return WRN_EAMQP;
        q = wrn_vhost_queue(VHOST(ch), name);
        if (q == NULL) {
            struct wrn_queue_args qa;
            struct wrn_field dlx;
            char err[256];
            if (!wrn_queue_args_parse(m->arguments, m->durable, m->exclusive, m->auto_delete,
                                      name, VHOST(ch)->name, &qa, err, sizeof(err)))
                return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED, "%s", err);
            /* dead-lettering reads this queue and publishes to the DLX */
            if (wrn_table_get(m->arguments, "x-dead-letter-exchange", &dlx) &&
                (wrn_access_check(ch, WRN_READ, "queue", name) != WRN_OK ||
                 wrn_access_check(ch, WRN_WRITE, "exchange", dlx.v.s) != WRN_OK))
                return WRN_EAMQP;
            q = wrn_queue_new(VHOST(ch), name, m->durable, m->exclusive, m->auto_delete,
                              ch->conn, m->arguments, &qa);
            wrn_persist_queue(q, true);
        } else {
            if (wrn_channel_check_exclusive(ch, q) != WRN_OK)
                return WRN_EAMQP;
            /* the declared owner must match: exclusive declares of a shared queue are 405 */
            if (q->exclusive != m->exclusive)
                return locked(ch, q);
            if (q->durable != m->durable)
                return inequivalent_queue(ch, q, "durable", yes_no(m->durable),
                                          yes_no(q->durable));
            if (q->auto_delete != m->auto_delete)
                return inequivalent_queue(ch, q, "auto_delete", yes_no(m->auto_delete),
                                          yes_no(q->auto_delete));
            if ((key = args_mismatch((struct wrn_slice){q->args, q->args_len}, m->arguments,
                                     queue_arg_keys, how, sizeof(how))) != NULL)
                return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                      "inequivalent arg '%s' for queue '%s' in vhost '%s': %s",
                                      key, q->name, VHOST(ch)->name, how);
        }
    }
    remember_queue(ch, name);
    wrn_queue_touch(q);
    ok.a.queue_declare_ok.queue = name;
    ok.a.queue_declare_ok.message_count = wrn_queue_ready(q);
    ok.a.queue_declare_ok.consumer_count = q->nconsumers;
    if (!m->nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

/* Resolve and look up the queue a method names, with the exclusive check. */
int
wrn_channel_find_queue(struct wrn_channel *ch, struct wrn_slice name, struct wrn_queue **out)
{
    if (wrn_channel_queue_name(ch, &name) != WRN_OK)
        return WRN_EAMQP;
    if ((*out = wrn_vhost_queue(VHOST(ch), name)) == NULL)
        return not_found(ch, "queue", name);
    return wrn_channel_check_exclusive(ch, *out);
}

/* queue.bind and queue.unbind. An empty routing key with an empty queue name
 * takes the last queue's name too (spec README). */
static int
queue_bind(struct wrn_channel *ch, struct wrn_slice qname, struct wrn_slice xname,
           struct wrn_slice key, struct wrn_slice args, bool bind, bool nowait)
{
    struct wrn_method ok = {.id = bind ? WRN_QUEUE_BIND_OK : WRN_QUEUE_UNBIND_OK};
    struct wrn_exchange *x;
    struct wrn_queue *q;
    struct wrn_binding *b;

    if (qname.len == 0 && key.len == 0 && ch->has_last_queue) {
        key.p = ch->last_queue;
        key.len = ch->last_queue_len;
    }
    if (wrn_channel_queue_name(ch, &qname) != WRN_OK)
        return WRN_EAMQP;
    if (wrn_access_check(ch, WRN_WRITE, "queue", qname) != WRN_OK)
        return WRN_EAMQP;
    if (xname.len == 0)
        return default_exchange_refused(ch);
    if (wrn_access_check(ch, WRN_READ, "exchange", xname) != WRN_OK)
        return WRN_EAMQP;
    q = wrn_vhost_queue(VHOST(ch), qname);
    x = wrn_vhost_exchange(VHOST(ch), xname);
    if (x != NULL && wrn_access_check_topic(ch, WRN_READ, x, key) != WRN_OK)
        return WRN_EAMQP;
    if (!bind && (q == NULL || x == NULL))
        goto reply; /* RabbitMQ: unbinding from something missing succeeds */
    if (q == NULL)
        return not_found(ch, "queue", qname);
    if (x == NULL)
        return not_found(ch, "exchange", xname);
    if (wrn_channel_check_exclusive(ch, q) != WRN_OK)
        return WRN_EAMQP;
    b = wrn_binding_find(x, q, NULL, key, args);
    if (bind && b == NULL) {
        if (check_headers_binding(ch, x, args) != WRN_OK)
            return WRN_EAMQP;
        wrn_persist_binding(wrn_binding_add(x, q, NULL, key, args), true);
    } else if (!bind && b != NULL) {
        wrn_binding_remove(b);
    }
reply:
    if (!nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

static int
queue_purge(struct wrn_channel *ch, const struct wrn_queue_purge *m)
{
    struct wrn_method ok = {.id = WRN_QUEUE_PURGE_OK};
    struct wrn_slice name = m->queue;
    struct wrn_queue *q;

    if (wrn_channel_queue_name(ch, &name) != WRN_OK ||
        wrn_access_check(ch, WRN_READ, "queue", name) != WRN_OK ||
        wrn_channel_find_queue(ch, name, &q) != WRN_OK)
        return WRN_EAMQP;
    ok.a.queue_purge_ok.message_count = wrn_queue_purge(q);
    if (!m->nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

static int
queue_delete(struct wrn_channel *ch, const struct wrn_queue_delete *m)
{
    struct wrn_method ok = {.id = WRN_QUEUE_DELETE_OK};
    struct wrn_slice name = m->queue;
    struct wrn_queue *q;

    if (wrn_channel_queue_name(ch, &name) != WRN_OK ||
        wrn_access_check(ch, WRN_CONFIGURE, "queue", name) != WRN_OK)
        return WRN_EAMQP;
    q = wrn_vhost_queue(VHOST(ch), name);
    if (q != NULL) { /* deleting a missing queue succeeds with a count of 0 */
        if (wrn_channel_check_exclusive(ch, q) != WRN_OK)
            return WRN_EAMQP;
        if (m->if_unused && q->nconsumers > 0)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "queue '%s' in vhost '%s' in use", q->name, VHOST(ch)->name);
        if (m->if_empty && wrn_queue_ready(q) > 0)
            return wrn_conn_raise(ch->conn, ch->id, WRN_PRECONDITION_FAILED,
                                  "queue '%s' in vhost '%s' is not empty", q->name,
                                  VHOST(ch)->name);
        ok.a.queue_delete_ok.message_count = wrn_queue_delete(q);
    }
    if (!m->nowait)
        wrn_conn_send_method(ch->conn, ch->id, &ok);
    return WRN_OK;
}

int
wrn_queue_method(struct wrn_channel *ch, const struct wrn_method *m)
{
    switch (m->id) {
    case WRN_QUEUE_DECLARE:
        return queue_declare(ch, &m->a.queue_declare);
    case WRN_QUEUE_BIND: {
        const struct wrn_queue_bind *b = &m->a.queue_bind;
        return queue_bind(ch, b->queue, b->exchange, b->routing_key, b->arguments, true,
                          b->nowait);
    }
    case WRN_QUEUE_UNBIND: {
        const struct wrn_queue_unbind *u = &m->a.queue_unbind;
        return queue_bind(ch, u->queue, u->exchange, u->routing_key, u->arguments, false,
                          false);
    }
    case WRN_QUEUE_PURGE:
        return queue_purge(ch, &m->a.queue_purge);
    case WRN_QUEUE_DELETE:
        return queue_delete(ch, &m->a.queue_delete);
    }
    return wrn_conn_raise(ch->conn, ch->id, WRN_COMMAND_INVALID, "unexpected method %s",
                          wrn_method_name(m->id));
}
