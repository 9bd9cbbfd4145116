/*
 * vhost.h - a virtual host: the namespace that owns exchanges and queues,
 * created with the default exchange and the predeclared amq.* exchanges.
 */
#ifndef WRN_VHOST_H
#define WRN_VHOST_H

#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_dict;
struct wrn_exchange;
struct wrn_queue;
struct wrn_permission;

struct wrn_vhost {
    char *name; /* owned */
    struct wrn_dict *exchanges; /* name -> struct wrn_exchange, owned */
    struct wrn_dict *queues;    /* name -> struct wrn_queue, owned */
    struct wrn_permission *permissions; /* owned: each user's rights here */
    uint32_t max_connections; /* set_vhost_limits max-connections; WRN_NO_LIMIT */
    uint32_t nconnections;    /* open connections to this vhost */
    struct wrn_vhost *next;
};

struct wrn_vhost *wrn_vhost_new(const char *name);
/* Frees v and everything in it; the caller has unlinked it from server.vhosts. */
void wrn_vhost_free(struct wrn_vhost *v);
/* Unlink v from server.vhosts and free it: its queues, exchanges and
 * permissions go too (and, while the store is open, from the store). */
void wrn_vhost_delete(struct wrn_vhost *v);
struct wrn_vhost *wrn_vhost_find(struct wrn_slice name);

struct wrn_exchange *wrn_vhost_exchange(struct wrn_vhost *v, struct wrn_slice name);
struct wrn_queue *wrn_vhost_queue(struct wrn_vhost *v, struct wrn_slice name);

#ifdef __cplusplus
}
#endif

#endif /* WRN_VHOST_H */
