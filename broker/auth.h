/*
 * auth.h - SASL login for connection.start-ok: PLAIN, AMQPLAIN, and EXTERNAL
 * (the user named by the client's verified TLS certificate), against the
 * users of access.h, and RabbitMQ's loopback_users rule.
 */
#ifndef WRN_AUTH_H
#define WRN_AUTH_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_user;

enum wrn_auth_result {
    WRN_AUTH_OK,
    WRN_AUTH_BAD_MECHANISM, /* mechanism not offered */
    WRN_AUTH_MALFORMED,     /* response could not be parsed */
    WRN_AUTH_REFUSED,       /* unknown user or wrong password */
    WRN_AUTH_LOOPBACK_ONLY, /* user may only connect from localhost */
};

/*
 * The mechanisms to offer in connection.start, space-separated: those of
 * auth_mechanisms, where EXTERNAL only counts on a connection whose peer
 * presented a verified certificate (cert_name != NULL); with the default
 * setting EXTERNAL is offered on exactly those connections.
 */
void wrn_auth_mechanisms(const char *cert_name, char *out, size_t cap);

/*
 * Check a connection.start-ok. cert_name is the identity of the verified
 * client certificate, or NULL. On success *user is the account; *who is
 * always the name the client gave (for the refusal text).
 */
enum wrn_auth_result wrn_auth_login(struct wrn_slice mechanism, struct wrn_slice response,
                                    const char *cert_name, bool from_loopback,
                                    struct wrn_user **user, struct wrn_slice *who);

#ifdef __cplusplus
}
#endif

#endif /* WRN_AUTH_H */
