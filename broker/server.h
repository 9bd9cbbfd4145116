/*
 * server.h - the one broker instance: its event base, configuration, vhosts,
 * users and connections. Owned and touched only by the event-loop thread
 * (DESIGN.md §2), like Redis's `server`.
 */
#ifndef WRN_SERVER_H
#define WRN_SERVER_H

#include "config.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct wrn_vhost;
struct wrn_user;
struct wrn_conn;
struct wrn_dict;

struct wrn_server {
    struct event_base *base; /* borrowed from main */
    struct wrn_config cfg;
    struct wrn_vhost *vhosts; /* owned, singly linked */
    struct wrn_user *users;   /* owned, singly linked */
    struct wrn_conn *conns;   /* owned, doubly linked */
    uint64_t nconns;
    struct wrn_dict *reply_channels; /* direct reply-to address -> struct wrn_channel */
    uint64_t epoch; /* bumped for every routing pass, to mark visited objects */
    char server_properties[2048]; /* connection.start table, built once */
    uint32_t server_properties_len;
};

extern struct wrn_server server;

/* Set up the server: its event base and properties (vhosts and users come from the store). */
void wrn_server_init(struct event_base *base);
/* Close every connection and free everything. */
void wrn_server_fini(void);

#ifdef __cplusplus
}
#endif

#endif /* WRN_SERVER_H */
