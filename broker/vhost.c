/*
 * vhost.c - virtual hosts and the exchanges every vhost starts with.
 */
#include "vhost.h"

#include "access.h"
#include "alloc.h"
#include "dict.h"
#include "exchange.h"
#include "queue.h"
#include "server.h"

/* The exchanges RabbitMQ predeclares in every vhost; all durable. */
static const struct {
    const char *name;
    enum wrn_exchange_type type;
} predeclared[] = {
    {"", WRN_EXCHANGE_DIRECT},
    {"amq.direct", WRN_EXCHANGE_DIRECT},
    {"amq.fanout", WRN_EXCHANGE_FANOUT},
    {"amq.topic", WRN_EXCHANGE_TOPIC},
    {"amq.headers", WRN_EXCHANGE_HEADERS},
    {"amq.match", WRN_EXCHANGE_HEADERS},
};

struct wrn_vhost *
wrn_vhost_new(const char *name)
{
    struct wrn_vhost *v = wrn_xcalloc(1, sizeof(*v));
    struct wrn_slice none = {NULL, 0};

    v->name = wrn_xstrndup(name, strlen(name));
    v->exchanges = wrn_dict_new();
    v->queues = wrn_dict_new();
    v->max_connections = WRN_NO_LIMIT;
    for (size_t i = 0; i < sizeof(predeclared) / sizeof(predeclared[0]); i++) {
        struct wrn_exchange *x = wrn_exchange_new(v, wrn_slice_str(predeclared[i].name),
                                                  predeclared[i].type, true, false, false, none);
        x->builtin = true;
    }
    v->next = server.vhosts;
    server.vhosts = v;
    return v;
}

void
wrn_vhost_free(struct wrn_vhost *v)
{
    struct wrn_dict_iter it;
    struct wrn_slice key;
    void *value;

    if (v == NULL)
        return;
    wrn_dict_iter_init(&it, v->queues);
    while (wrn_dict_iter_next(&it, &key, &value))
        wrn_queue_delete(value);
    /* Deleting one exchange can auto-delete another: restart the walk each time. */
    for (;;) {
        wrn_dict_iter_init(&it, v->exchanges);
        if (!wrn_dict_iter_next(&it, &key, &value))
            break;
        wrn_exchange_delete(value);
    }
    wrn_dict_free(v->queues);
    wrn_dict_free(v->exchanges);
    wrn_permissions_free(v);
    wrn_free(v->name);
    wrn_free(v);
}

void
wrn_vhost_delete(struct wrn_vhost *v)
{
    struct wrn_vhost **pp = &server.vhosts;

    while (*pp != v)
        pp = &(*pp)->next;
    *pp = v->next;
    wrn_vhost_free(v);
}

struct wrn_vhost *
wrn_vhost_find(struct wrn_slice name)
{
    for (struct wrn_vhost *v = server.vhosts; v != NULL; v = v->next)
        if (wrn_slice_eq_str(name, v->name))
            return v;
    return NULL;
}

struct wrn_exchange *
wrn_vhost_exchange(struct wrn_vhost *v, struct wrn_slice name)
{
    return wrn_dict_get(v->exchanges, name);
}

struct wrn_queue *
wrn_vhost_queue(struct wrn_vhost *v, struct wrn_slice name)
{
    return wrn_dict_get(v->queues, name);
}
