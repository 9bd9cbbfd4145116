/*
 * auth.c - users and the PLAIN and AMQPLAIN SASL mechanisms.
 */
#include "auth.h"

#include "alloc.h"
#include "server.h"
#include "table.h"

#include <string.h>

void
wrn_user_add(const char *name, const char *password, bool loopback_only)
{
    struct wrn_user *u = wrn_xcalloc(1, sizeof(*u));

    u->name = wrn_xstrndup(name, strlen(name));
    u->password = wrn_xstrndup(password, strlen(password));
    u->loopback_only = loopback_only;
    u->next = server.users;
    server.users = u;
}

struct wrn_user *
wrn_user_find(struct wrn_slice name)
{
    for (struct wrn_user *u = server.users; u != NULL; u = u->next)
        if (wrn_slice_eq_str(name, u->name))
            return u;
    return NULL;
}

/* Compare without an early exit, so timing says nothing about the password. */
static bool
password_equal(const char *want, struct wrn_slice got)
{
    size_t n = strlen(want);
    unsigned diff = (unsigned)(n ^ got.len);

    for (size_t i = 0; i < got.len; i++)
        diff |= (unsigned)(got.p[i] ^ (uint8_t)(i < n ? want[i] : 0));
    return diff == 0;
}

/* PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd */
static bool
parse_plain(struct wrn_slice r, struct wrn_slice *user, struct wrn_slice *pass)
{
    const uint8_t *nul1 = memchr(r.p, 0, r.len), *nul2;

    if (nul1 == NULL)
        return false;
    nul2 = memchr(nul1 + 1, 0, (size_t)(r.p + r.len - nul1 - 1));
    if (nul2 == NULL)
        return false;
    user->p = nul1 + 1;
    user->len = (uint32_t)(nul2 - nul1 - 1);
    pass->p = nul2 + 1;
    pass->len = (uint32_t)(r.p + r.len - nul2 - 1);
    return true;
}

/* AMQPLAIN: a field table (without its length) with LOGIN and PASSWORD. */
static bool
parse_amqplain(struct wrn_slice r, struct wrn_slice *user, struct wrn_slice *pass)
{
    struct wrn_field login, password;

    if (wrn_table_validate(r) != WRN_OK || !wrn_table_get(r, "LOGIN", &login) ||
        !wrn_table_get(r, "PASSWORD", &password))
        return false;
    return wrn_field_as_str(&login, user) && wrn_field_as_str(&password, pass);
}

enum wrn_auth_result
wrn_auth_login(struct wrn_slice mechanism, struct wrn_slice response, bool from_loopback,
               char *user_out, struct wrn_slice *who)
{
    struct wrn_slice name, pass;
    struct wrn_user *u;
    bool parsed;

    if (wrn_slice_eq_str(mechanism, "PLAIN"))
        parsed = parse_plain(response, &name, &pass);
    else if (wrn_slice_eq_str(mechanism, "AMQPLAIN"))
        parsed = parse_amqplain(response, &name, &pass);
    else
        return WRN_AUTH_BAD_MECHANISM;
    if (!parsed)
        return WRN_AUTH_MALFORMED;
    *who = name;
    u = wrn_user_find(name);
    if (u == NULL || !password_equal(u->password, pass))
        return WRN_AUTH_REFUSED;
    if (u->loopback_only && !from_loopback)
        return WRN_AUTH_LOOPBACK_ONLY;
    memcpy(user_out, name.p, name.len < 255 ? name.len : 255);
    user_out[name.len < 255 ? name.len : 255] = '\0';
    return WRN_AUTH_OK;
}
