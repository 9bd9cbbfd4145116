/*
 * auth.c - the PLAIN, AMQPLAIN and EXTERNAL SASL mechanisms.
 */
#include "auth.h"

#include "access.h"
#include "server.h"
#include "table.h"

#include <stdio.h>
#include <string.h>

static bool
word_in(const char *list, const char *word, size_t len)
{
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == len && memcmp(p, word, n) == 0)
            return true;
        p += n;
        p += *p == ' ';
    }
    return false;
}

void
wrn_auth_mechanisms(const char *cert_name, char *out, size_t cap)
{
    const char *list = server.cfg.auth_mechanisms;
    size_t n = 0;

    out[0] = '\0';
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, " ");
        if (!(len == 8 && memcmp(p, "EXTERNAL", 8) == 0 && cert_name == NULL))
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%.*s", n ? " " : "",
                                  (int)len, p);
        p += len;
        p += *p == ' ';
    }
    /* by default, a verified client certificate is a way to log in */
    if (!server.cfg.auth_mechanisms_given && cert_name != NULL)
        snprintf(out + n, n < cap ? cap - n : 0, "%sEXTERNAL", n ? " " : "");
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
wrn_auth_login(struct wrn_slice mechanism, struct wrn_slice response, const char *cert_name,
               bool from_loopback, struct wrn_user **user_out, struct wrn_slice *who)
{
    char offered[160];
    struct wrn_slice name, pass;
    struct wrn_user *u;
    bool parsed, external = wrn_slice_eq_str(mechanism, "EXTERNAL");

    wrn_auth_mechanisms(cert_name, offered, sizeof(offered));
    if (!word_in(offered, (const char *)mechanism.p, mechanism.len))
        return WRN_AUTH_BAD_MECHANISM;
    if (external) {
        /* the certificate names the user; the response carries nothing we need */
        name = wrn_slice_str(cert_name);
        parsed = true;
    } else if (wrn_slice_eq_str(mechanism, "PLAIN")) {
        parsed = parse_plain(response, &name, &pass);
    } else {
        parsed = parse_amqplain(response, &name, &pass);
    }
    if (!parsed)
        return WRN_AUTH_MALFORMED;
    *who = name;
    u = wrn_user_find(name);
    /* a missing user still costs a hash, so timing does not tell who exists */
    if (!external && (u == NULL || !wrn_password_check(&u->hash, pass))) {
        if (u == NULL) {
            struct wrn_password_hash dummy = {.algorithm = WRN_HASH_SHA256, .len = 36};
            (void)wrn_password_check(&dummy, pass);
        }
        return WRN_AUTH_REFUSED;
    }
    if (u == NULL)
        return WRN_AUTH_REFUSED;
    if (!from_loopback && wrn_config_loopback_only(&server.cfg, u->name))
        return WRN_AUTH_LOOPBACK_ONLY;
    *user_out = u;
    return WRN_AUTH_OK;
}
