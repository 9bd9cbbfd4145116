/*
 * access.h - users, their rights in each vhost, and the checks every AMQP
 * operation makes, as RabbitMQ's internal access control: per user and
 * vhost three regular expressions (configure, write, read) matched against
 * resource names, and per exchange two more (write, read) matched against
 * the routing keys used on topic exchanges. Refusals are 403 ACCESS_REFUSED
 * with RabbitMQ's reply texts.
 */
#ifndef WRN_ACCESS_H
#define WRN_ACCESS_H

#include "password.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_vhost;
struct wrn_channel;
struct wrn_exchange;

/* The three rights of RabbitMQ's access-control table. */
enum wrn_right { WRN_CONFIGURE = 0, WRN_WRITE = 1, WRN_READ = 2 };

#define WRN_NO_LIMIT UINT32_MAX

struct wrn_user {
    char *name;             /* owned */
    struct wrn_password_hash hash;
    char *tags;             /* owned: comma-separated, "" for none */
    uint32_t max_connections; /* set_user_limits max-connections; WRN_NO_LIMIT */
    uint32_t nconnections;  /* open connections logged in as this user */
    struct wrn_user *next;  /* in server.users */
};

struct wrn_pattern {
    char *source;   /* owned: as given ("" means "^$", as RabbitMQ) */
    void *compiled; /* owned pcre2_code; NULL when source is ".*" (matches all) */
};

/* Topic rights on one exchange: routing keys this user may write and read. */
struct wrn_topic_permission {
    char *exchange; /* owned */
    struct wrn_pattern write, read;
    struct wrn_topic_permission *next;
};

/* One user's rights in one vhost (set_permissions). */
struct wrn_permission {
    char *user; /* owned: the user's name */
    struct wrn_pattern rights[3]; /* indexed by enum wrn_right */
    struct wrn_topic_permission *topics; /* owned list */
    struct wrn_permission *next;         /* in the vhost's list */
};

/* ---- users --------------------------------------------------------------- */

struct wrn_user *wrn_user_find(struct wrn_slice name);
/* Creates or replaces a user (the hash and tags are copied). */
struct wrn_user *wrn_user_put(const char *name, const struct wrn_password_hash *hash,
                              const char *tags);
/* Deletes the user and its permissions in every vhost. */
void wrn_user_delete(struct wrn_user *u);
void wrn_users_free(void);

/* ---- permissions --------------------------------------------------------- */

/*
 * Check that a pattern compiles; 0, or -1 with PCRE2's reason in err. Used to
 * refuse bad patterns when they are set rather than when they are matched.
 */
int wrn_pattern_check(const char *source, char *err, size_t errlen);

struct wrn_permission *wrn_permission_find(struct wrn_vhost *v, const char *user);
/* Sets (replacing) user's rights in v. Patterns must have passed wrn_pattern_check. */
struct wrn_permission *wrn_permission_set(struct wrn_vhost *v, const char *user,
                                          const char *configure, const char *write,
                                          const char *read);
void wrn_permission_clear(struct wrn_vhost *v, const char *user);
void wrn_permissions_free(struct wrn_vhost *v);

/*
 * Topic rights on exchange for user in v, kept with the user's vhost
 * permission, which must exist. Patterns may use {username} and {vhost},
 * replaced (escaped) when they are set.
 */
int wrn_topic_permission_set(struct wrn_vhost *v, const char *user, const char *exchange,
                             const char *write, const char *read);
/* exchange NULL clears all of the user's topic rights in v. */
void wrn_topic_permission_clear(struct wrn_vhost *v, const char *user, const char *exchange);

/* ---- checks --------------------------------------------------------------- */

/* Whether name matches the pattern (unanchored, as Erlang's re:run). */
bool wrn_pattern_match(const struct wrn_pattern *p, struct wrn_slice name);

/*
 * The checks operations make on the channel's connection (its user and
 * permission in its vhost). On refusal they raise 403 on the channel and
 * return WRN_EAMQP; otherwise WRN_OK. kind is "exchange" or "queue"; the
 * default exchange "" is checked, and named, as "amq.default".
 */
int wrn_access_check(struct wrn_channel *ch, enum wrn_right right, const char *kind,
                     struct wrn_slice name);
/* Passive declares: any one of the three rights will do (refused with configure's text). */
int wrn_access_check_any(struct wrn_channel *ch, const char *kind, struct wrn_slice name);
/* Topic rights: only topic exchanges with a topic permission for the user are checked. */
int wrn_access_check_topic(struct wrn_channel *ch, enum wrn_right right,
                           const struct wrn_exchange *x, struct wrn_slice routing_key);

#ifdef __cplusplus
}
#endif

#endif /* WRN_ACCESS_H */
