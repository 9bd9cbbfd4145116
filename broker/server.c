/*
 * server.c - the broker instance: vhosts, users and the properties Warren
 * announces in connection.start.
 */
#include "server.h"

#include "access.h"
#include "alloc.h"
#include "connection.h"
#include "dict.h"
#include "log.h"
#include "table.h"
#include "vhost.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef WARREN_VERSION
#define WARREN_VERSION "0.1.0"
#endif

struct wrn_server server;

/* What connection.start tells clients, capabilities included (spec README). */
static void
build_server_properties(void)
{
    static const char *capabilities[] = {
        "publisher_confirms",     "exchange_exchange_bindings", "basic.nack",
        "consumer_cancel_notify", "connection.blocked",         "consumer_priorities",
        "authentication_failure_close", "per_consumer_qos",     "direct_reply_to",
    };
    char host[128] = "localhost", cluster[160];
    struct wrn_wbuf w;
    size_t begin, caps;

    gethostname(host, sizeof(host) - 1);
    snprintf(cluster, sizeof(cluster), "warren@%s", host);
    wrn_wbuf_init(&w, (uint8_t *)server.server_properties, sizeof(server.server_properties));
    begin = wrn_table_begin(&w);
    wrn_table_put_key(&w, "capabilities", 'F');
    caps = wrn_table_begin(&w);
    for (size_t i = 0; i < sizeof(capabilities) / sizeof(capabilities[0]); i++)
        wrn_table_put_bool(&w, capabilities[i], true);
    wrn_table_end(&w, caps);
    wrn_table_put_longstr(&w, "cluster_name", wrn_slice_str(cluster));
    wrn_table_put_longstr(&w, "copyright", wrn_slice_str("Copyright (c) the Warren authors"));
    wrn_table_put_longstr(&w, "information",
                          wrn_slice_str("Warren, an AMQP 0-9-1 broker for RabbitMQ clients"));
    wrn_table_put_longstr(&w, "platform", wrn_slice_str("C11 / libevent"));
    wrn_table_put_longstr(&w, "product", wrn_slice_str("Warren"));
    wrn_table_put_longstr(&w, "version", wrn_slice_str(WARREN_VERSION));
    wrn_table_end(&w, begin);
    WRN_ASSERT(!w.overflow);
    /* the method codec wants the table contents, without the length prefix */
    server.server_properties_len = (uint32_t)(w.len - 4);
    memmove(server.server_properties, server.server_properties + 4, server.server_properties_len);
}

void
wrn_server_init(struct event_base *base)
{
    server.base = base;
    server.reply_channels = wrn_dict_new();
    /* vhosts and users come from the store (persist.c), which creates the
     * configured defaults on a fresh one */
    build_server_properties();
}

void
wrn_server_fini(void)
{
    wrn_conn_destroy_all();
    while (server.vhosts != NULL) {
        struct wrn_vhost *v = server.vhosts;
        server.vhosts = v->next;
        wrn_vhost_free(v);
    }
    wrn_dict_free(server.reply_channels);
    server.reply_channels = NULL;
    wrn_users_free();
}
