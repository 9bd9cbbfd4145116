/*
 * auth.h - users and SASL login (PLAIN and AMQPLAIN). Users live in memory
 * for now: the configured default user, limited to loopback when it is
 * "guest", as RabbitMQ's loopback_users does.
 */
#ifndef WRN_AUTH_H
#define WRN_AUTH_H

#include "wire.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_user {
    char *name;     /* owned */
    char *password; /* owned */
    bool loopback_only;
    struct wrn_user *next;
};

void wrn_user_add(const char *name, const char *password, bool loopback_only);
struct wrn_user *wrn_user_find(struct wrn_slice name);

enum wrn_auth_result {
    WRN_AUTH_OK,
    WRN_AUTH_BAD_MECHANISM, /* mechanism not offered */
    WRN_AUTH_MALFORMED,     /* response could not be parsed */
    WRN_AUTH_REFUSED,       /* unknown user or wrong password */
    WRN_AUTH_LOOPBACK_ONLY, /* user may only connect from localhost */
};

/*
 * Check a connection.start-ok response for mechanism. On success the user
 * name is copied to user (size 256).
 */
enum wrn_auth_result wrn_auth_login(struct wrn_slice mechanism, struct wrn_slice response,
                                    bool from_loopback, char *user, struct wrn_slice *who);

#ifdef __cplusplus
}
#endif

#endif /* WRN_AUTH_H */
