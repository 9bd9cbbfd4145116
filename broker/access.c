/*
 * access.c - users, permissions and the access checks, on PCRE2 (the
 * regular expressions RabbitMQ users write are Erlang's re, which is PCRE).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "access.h"

#include "alloc.h"
#include "channel.h"
#include "connection.h"
#include "exchange.h"
#include "log.h"
#include "server.h"
#include "vhost.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const right_names[] = {"configure", "write", "read"};

/* ---- patterns -------------------------------------------------------------- */

static pcre2_code *
compile(const char *source, char *err, size_t errlen)
{
    /* RabbitMQ reads an empty pattern as "^$": nothing */
    const char *re = *source == '\0' ? "^$" : source;
    PCRE2_SIZE offset;
    int code;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);

    if (c == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        if (err != NULL)
            snprintf(err, errlen, "invalid regular expression '%s': %s at offset %zu", source,
                     (const char *)msg, (size_t)offset);
        return NULL;
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if unavailable */
    return c;
}

int
wrn_pattern_check(const char *source, char *err, size_t errlen)
{
    pcre2_code *c = compile(source, err, errlen);

    if (c == NULL)
        return -1;
    pcre2_code_free(c);
    return 0;
}

/* source is kept as given; expanded (if not NULL) is what gets compiled. */
static void
pattern_init(struct wrn_pattern *p, const char *source, const char *expanded)
{
    p->source = wrn_xstrndup(source, strlen(source));
    if (expanded == NULL)
        expanded = source;
    /* the everyday ".*" needs no regex engine: every name matches */
    p->compiled = strcmp(expanded, ".*") == 0 ? NULL : compile(expanded, NULL, 0);
    WRN_ASSERT(p->compiled != NULL || strcmp(expanded, ".*") == 0);
}

static void
pattern_fini(struct wrn_pattern *p)
{
    wrn_free(p->source);
    pcre2_code_free(p->compiled);
    p->source = NULL;
    p->compiled = NULL;
}

bool
wrn_pattern_match(const struct wrn_pattern *p, struct wrn_slice name)
{
    /* One pair of offsets is all a yes/no needs (0 then means "matched, no room
     * for groups"); kept for the process, as checks run on the loop thread only. */
    static pcre2_match_data *md;

    if (p->compiled == NULL)
        return true;
    if (md == NULL && (md = pcre2_match_data_create(1, NULL)) == NULL)
        abort(); /* out of memory, as wrn_xmalloc */
    /* a match error (e.g. the backtracking limit) refuses, as RabbitMQ */
    return pcre2_match(p->compiled, name.p != NULL ? name.p : (PCRE2_SPTR) "", name.len, 0, 0,
                       md, NULL) >= 0;
}

/*
 * Topic patterns may name {username} and {vhost}; the values go in escaped,
 * so that a name with dots or brackets matches only itself.
 */
static char *
expand_variables(const char *pattern, const char *user, const char *vhost)
{
    size_t cap = strlen(pattern) * 2 + 2 * (strlen(user) + strlen(vhost)) * 2 + 1, n = 0;
    char *out = wrn_xmalloc(cap);

    for (const char *p = pattern; *p != '\0';) {
        const char *value = NULL;
        if (strncmp(p, "{username}", 10) == 0)
            value = user, p += 10;
        else if (strncmp(p, "{vhost}", 7) == 0)
            value = vhost, p += 7;
        if (value == NULL) {
            out[n++] = *p++;
            continue;
        }
        for (; *value != '\0'; value++) {
            if (strchr("\\^$.|?*+()[]{}", *value) != NULL)
                out[n++] = '\\';
            out[n++] = *value;
        }
    }
    out[n] = '\0';
    return out;
}

/* ---- users ----------------------------------------------------------------- */

struct wrn_user *
wrn_user_find(struct wrn_slice name)
{
    for (struct wrn_user *u = server.users; u != NULL; u = u->next)
        if (wrn_slice_eq_str(name, u->name))
            return u;
    return NULL;
}

struct wrn_user *
wrn_user_put(const char *name, const struct wrn_password_hash *hash, const char *tags)
{
    struct wrn_user *u = wrn_user_find(wrn_slice_str(name));

    if (u == NULL) {
        u = wrn_xcalloc(1, sizeof(*u));
        u->name = wrn_xstrndup(name, strlen(name));
        u->max_connections = WRN_NO_LIMIT;
        u->next = server.users;
        server.users = u;
    } else {
        wrn_free(u->tags);
    }
    u->hash = *hash;
    u->tags = wrn_xstrndup(tags, strlen(tags));
    return u;
}

static void
user_free(struct wrn_user *u)
{
    wrn_free(u->name);
    wrn_free(u->tags);
    wrn_free(u);
}

void
wrn_user_delete(struct wrn_user *u)
{
    struct wrn_user **pp = &server.users;

    for (struct wrn_vhost *v = server.vhosts; v != NULL; v = v->next)
        wrn_permission_clear(v, u->name);
    while (*pp != u)
        pp = &(*pp)->next;
    *pp = u->next;
    user_free(u);
}

void
wrn_users_free(void)
{
    while (server.users != NULL) {
        struct wrn_user *u = server.users;
        server.users = u->next;
        user_free(u);
    }
}

/* ---- permissions ----------------------------------------------------------- */

struct wrn_permission *
wrn_permission_find(struct wrn_vhost *v, const char *user)
{
    for (struct wrn_permission *p = v->permissions; p != NULL; p = p->next)
        if (strcmp(p->user, user) == 0)
            return p;
    return NULL;
}

static void
topic_permission_free(struct wrn_topic_permission *t)
{
    wrn_free(t->exchange);
    pattern_fini(&t->write);
    pattern_fini(&t->read);
    wrn_free(t);
}

static void
permission_free(struct wrn_permission *p)
{
    while (p->topics != NULL) {
        struct wrn_topic_permission *t = p->topics;
        p->topics = t->next;
        topic_permission_free(t);
    }
    for (int r = 0; r < 3; r++)
        pattern_fini(&p->rights[r]);
    wrn_free(p->user);
    wrn_free(p);
}

struct wrn_permission *
wrn_permission_set(struct wrn_vhost *v, const char *user, const char *configure,
                   const char *write, const char *read)
{
    struct wrn_permission *p = wrn_permission_find(v, user);
    const char *sources[3] = {configure, write, read};

    if (p == NULL) {
        p = wrn_xcalloc(1, sizeof(*p));
        p->user = wrn_xstrndup(user, strlen(user));
        p->next = v->permissions;
        v->permissions = p;
    }
    for (int r = 0; r < 3; r++) {
        pattern_fini(&p->rights[r]);
        pattern_init(&p->rights[r], sources[r], NULL);
    }
    return p;
}

void
wrn_permission_clear(struct wrn_vhost *v, const char *user)
{
    for (struct wrn_permission **pp = &v->permissions; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->user, user) == 0) {
            struct wrn_permission *p = *pp;
            *pp = p->next;
            permission_free(p);
            return;
        }
    }
}

void
wrn_permissions_free(struct wrn_vhost *v)
{
    while (v->permissions != NULL) {
        struct wrn_permission *p = v->permissions;
        v->permissions = p->next;
        permission_free(p);
    }
}

static struct wrn_topic_permission *
topic_find(const struct wrn_permission *p, struct wrn_slice exchange)
{
    for (struct wrn_topic_permission *t = p->topics; t != NULL; t = t->next)
        if (wrn_slice_eq_str(exchange, t->exchange))
            return t;
    return NULL;
}

int
wrn_topic_permission_set(struct wrn_vhost *v, const char *user, const char *exchange,
                         const char *write, const char *read)
{
    struct wrn_permission *p = wrn_permission_find(v, user);
    struct wrn_topic_permission *t;
    char *w, *r;

    if (p == NULL)
        return -1;
    t = topic_find(p, wrn_slice_str(exchange));
    if (t == NULL) {
        t = wrn_xcalloc(1, sizeof(*t));
        t->exchange = wrn_xstrndup(exchange, strlen(exchange));
        t->next = p->topics;
        p->topics = t;
    } else {
        pattern_fini(&t->write);
        pattern_fini(&t->read);
    }
    w = expand_variables(write, user, v->name);
    r = expand_variables(read, user, v->name);
    pattern_init(&t->write, write, w);
    pattern_init(&t->read, read, r);
    wrn_free(w);
    wrn_free(r);
    return 0;
}

void
wrn_topic_permission_clear(struct wrn_vhost *v, const char *user, const char *exchange)
{
    struct wrn_permission *p = wrn_permission_find(v, user);

    if (p == NULL)
        return;
    for (struct wrn_topic_permission **tp = &p->topics; *tp != NULL;) {
        struct wrn_topic_permission *t = *tp;
        if (exchange == NULL || strcmp(t->exchange, exchange) == 0) {
            *tp = t->next;
            topic_permission_free(t);
        } else {
            tp = &t->next;
        }
    }
}

/* ---- checks ---------------------------------------------------------------- */

static struct wrn_slice
resource_name(const char *kind, struct wrn_slice name)
{
    /* RabbitMQ checks, and names, the default exchange as amq.default */
    if (name.len == 0 && strcmp(kind, "exchange") == 0)
        return wrn_slice_str("amq.default");
    return name;
}

static int
refuse(struct wrn_channel *ch, enum wrn_right right, const char *kind, struct wrn_slice name)
{
    return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                          "%s access to %s '%.*s' in vhost '%s' refused for user '%s'",
                          right_names[right], kind, WRN_SLICE_ARG(name), ch->conn->vhost->name,
                          ch->conn->user);
}

static bool
permitted(const struct wrn_channel *ch, enum wrn_right right, struct wrn_slice name)
{
    const struct wrn_permission *p = ch->conn->permission;

    return p != NULL && wrn_pattern_match(&p->rights[right], name);
}

int
wrn_access_check(struct wrn_channel *ch, enum wrn_right right, const char *kind,
                 struct wrn_slice name)
{
    name = resource_name(kind, name);
    return permitted(ch, right, name) ? WRN_OK : refuse(ch, right, kind, name);
}

int
wrn_access_check_any(struct wrn_channel *ch, const char *kind, struct wrn_slice name)
{
    name = resource_name(kind, name);
    if (permitted(ch, WRN_READ, name) || permitted(ch, WRN_WRITE, name) ||
        permitted(ch, WRN_CONFIGURE, name))
        return WRN_OK;
    return refuse(ch, WRN_CONFIGURE, kind, name);
}

int
wrn_access_check_topic(struct wrn_channel *ch, enum wrn_right right,
                       const struct wrn_exchange *x, struct wrn_slice routing_key)
{
    const struct wrn_permission *p = ch->conn->permission;
    const struct wrn_topic_permission *t;

    if (x->type != WRN_EXCHANGE_TOPIC || p == NULL || p->topics == NULL)
        return WRN_OK;
    t = topic_find(p, (struct wrn_slice){(const uint8_t *)x->name, x->name_len});
    if (t == NULL || wrn_pattern_match(right == WRN_WRITE ? &t->write : &t->read, routing_key))
        return WRN_OK;
    return wrn_conn_raise(ch->conn, ch->id, WRN_ACCESS_REFUSED,
                          "%s access to topic '%.*s' in exchange '%s' in vhost '%s' refused for "
                          "user '%s'",
                          right_names[right], WRN_SLICE_ARG(routing_key), x->name,
                          ch->conn->vhost->name, ch->conn->user);
}
