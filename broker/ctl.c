/*
 * ctl.c - the administration commands. Each one opens the store the way
 * the broker does (recovering everything, creating the default user on a
 * fresh folder), changes the accounts in memory through access.h, writes
 * the change with persist.h, and closes the store again.
 */
#include "ctl.h"

#include "access.h"
#include "log.h"
#include "persist.h"
#include "server.h"
#include "vhost.h"

#include <ctype.h>
#include <stdarg.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a command was given: its words, and the -p vhost. */
struct ctl_args {
    const char *word[8];
    int nwords;
    const char *vhost_name;
    bool pre_hashed;
    struct wrn_vhost *vhost; /* found for commands that take -p */
};

struct ctl_command {
    const char *name;
    int min_words, max_words;
    bool uses_vhost; /* takes -p VHOST, which must exist */
    int (*run)(struct ctl_args *a);
    const char *usage;
};

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
    va_list ap;

    fputs("Error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static struct wrn_user *
user_named(const char *name)
{
    return wrn_user_find(wrn_slice_str(name));
}

/* ---- users ----------------------------------------------------------------- */

static int
add_user(struct ctl_args *a)
{
    struct wrn_password_hash h;

    if (user_named(a->word[0]) != NULL)
        return fail("user '%s' already exists", a->word[0]);
    if (strlen(a->word[0]) == 0 || strlen(a->word[0]) > 255)
        return fail("user names are 1 to 255 bytes long");
    if (a->pre_hashed) {
        if (wrn_password_from_base64(a->word[1], WRN_HASH_NONE, &h) != 0)
            return fail("'%s' is not a password hash (base64 of a 4-byte salt and a SHA-256, "
                        "SHA-512 or MD5 digest)",
                        a->word[1]);
    } else {
        wrn_password_hash(a->word[1], strlen(a->word[1]), &h);
    }
    wrn_persist_user(wrn_user_put(a->word[0], &h, ""), true);
    printf("Adding user \"%s\" ...\n", a->word[0]);
    return 0;
}

/* Forget user's rights in v, topic rights included, in memory and in the store. */
static void
forget_permission(struct wrn_vhost *v, const char *user)
{
    struct wrn_permission *p = wrn_permission_find(v, user);

    if (p == NULL)
        return;
    for (struct wrn_topic_permission *t = p->topics; t != NULL; t = t->next)
        wrn_persist_topic_permission(v, user, NULL, t->exchange);
    wrn_persist_permission(v, user, NULL);
    wrn_permission_clear(v, user);
}

static int
delete_user(struct ctl_args *a)
{
    struct wrn_user *u = user_named(a->word[0]);

    if (u == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    for (struct wrn_vhost *v = server.vhosts; v != NULL; v = v->next)
        forget_permission(v, u->name);
    wrn_persist_user(u, false);
    wrn_user_delete(u);
    printf("Deleting user \"%s\" ...\n", a->word[0]);
    return 0;
}

static int
change_password(struct ctl_args *a)
{
    struct wrn_user *u = user_named(a->word[0]);
    const char *password = a->nwords > 1 ? a->word[1] : "";

    if (u == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    wrn_password_hash(password, strlen(password), &u->hash);
    wrn_persist_user(u, true);
    return 0;
}

static int
set_user_tags(struct ctl_args *a)
{
    struct wrn_user *u = user_named(a->word[0]);
    char tags[512] = "";
    size_t n = 0;

    if (u == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    for (int i = 1; i < a->nwords; i++) {
        n += (size_t)snprintf(tags + n, n < sizeof(tags) ? sizeof(tags) - n : 0, "%s%s",
                              i > 1 ? "," : "", a->word[i]);
        if (n >= sizeof(tags))
            return fail("too many tags");
    }
    wrn_user_put(u->name, &u->hash, tags);
    wrn_persist_user(u, true);
    return 0;
}

/* "name\t[tag1, tag2]", as rabbitmqctl lists them. */
static void
print_tags(const struct wrn_user *u)
{
    printf("%s\t[", u->name);
    for (const char *p = u->tags; *p != '\0';) {
        size_t n = strcspn(p, ",");
        printf("%s%.*s", p == u->tags ? "" : ", ", (int)n, p);
        p += n;
        p += *p == ',';
    }
    printf("]\n");
}

static int
list_users(struct ctl_args *a)
{
    (void)a;
    printf("user\ttags\n");
    for (struct wrn_user *u = server.users; u != NULL; u = u->next)
        print_tags(u);
    return 0;
}

static int
authenticate_user(struct ctl_args *a)
{
    struct wrn_user *u = user_named(a->word[0]);

    if (u == NULL || !wrn_password_check(&u->hash, wrn_slice_str(a->word[1])))
        return fail("user '%s' could not be authenticated", a->word[0]);
    printf("Success\n");
    return 0;
}

static int
hash_password(struct ctl_args *a)
{
    struct wrn_password_hash h;
    char b64[WRN_PASSWORD_B64_MAX];

    wrn_password_hash(a->word[0], strlen(a->word[0]), &h);
    wrn_password_to_base64(&h, b64);
    printf("%s\n", b64);
    return 0;
}

/* ---- vhosts ---------------------------------------------------------------- */

static int
add_vhost(struct ctl_args *a)
{
    if (wrn_vhost_find(wrn_slice_str(a->word[0])) != NULL)
        return fail("vhost '%s' already exists", a->word[0]);
    if (strlen(a->word[0]) == 0 || strlen(a->word[0]) > 255)
        return fail("vhost names are 1 to 255 bytes long");
    wrn_persist_vhost(wrn_vhost_new(a->word[0]), true);
    return 0;
}

static int
delete_vhost(struct ctl_args *a)
{
    struct wrn_vhost *v = wrn_vhost_find(wrn_slice_str(a->word[0]));

    if (v == NULL)
        return fail("vhost '%s' does not exist", a->word[0]);
    while (v->permissions != NULL)
        forget_permission(v, v->permissions->user);
    wrn_persist_vhost(v, false);
    wrn_vhost_delete(v); /* its queues, exchanges and bindings leave the store too */
    return 0;
}

static int
list_vhosts(struct ctl_args *a)
{
    (void)a;
    printf("name\n");
    for (struct wrn_vhost *v = server.vhosts; v != NULL; v = v->next)
        printf("%s\n", v->name);
    return 0;
}

/* ---- permissions ----------------------------------------------------------- */

static int
check_patterns(const char *const *patterns, int n)
{
    char err[512];

    for (int i = 0; i < n; i++)
        if (wrn_pattern_check(patterns[i], err, sizeof(err)) != 0)
            return fail("%s", err);
    return 0;
}

static int
set_permissions(struct ctl_args *a)
{
    if (user_named(a->word[0]) == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    if (check_patterns(a->word + 1, 3) != 0)
        return 1;
    wrn_persist_permission(a->vhost, a->word[0],
                           wrn_permission_set(a->vhost, a->word[0], a->word[1], a->word[2],
                                              a->word[3]));
    return 0;
}

static int
clear_permissions(struct ctl_args *a)
{
    if (user_named(a->word[0]) == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    forget_permission(a->vhost, a->word[0]);
    return 0;
}

static int
list_permissions(struct ctl_args *a)
{
    printf("user\tconfigure\twrite\tread\n");
    for (struct wrn_permission *p = a->vhost->permissions; p != NULL; p = p->next)
        printf("%s\t%s\t%s\t%s\n", p->user, p->rights[WRN_CONFIGURE].source,
               p->rights[WRN_WRITE].source, p->rights[WRN_READ].source);
    return 0;
}

static int
set_topic_permissions(struct ctl_args *a)
{
    struct wrn_permission *p;

    if (user_named(a->word[0]) == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    if (check_patterns(a->word + 2, 2) != 0)
        return 1;
    /* Warren keeps topic rights with the vhost permission; RabbitMQ allows them
     * alone, where they have no effect until permissions are set */
    if ((p = wrn_permission_find(a->vhost, a->word[0])) == NULL) {
        p = wrn_permission_set(a->vhost, a->word[0], "", "", "");
        wrn_persist_permission(a->vhost, a->word[0], p);
    }
    wrn_topic_permission_set(a->vhost, a->word[0], a->word[1], a->word[2], a->word[3]);
    for (struct wrn_topic_permission *t = p->topics; t != NULL; t = t->next)
        if (strcmp(t->exchange, a->word[1]) == 0)
            wrn_persist_topic_permission(a->vhost, a->word[0], t, NULL);
    return 0;
}

static int
clear_topic_permissions(struct ctl_args *a)
{
    struct wrn_permission *p;
    const char *exchange = a->nwords > 1 ? a->word[1] : NULL;

    if (user_named(a->word[0]) == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    if ((p = wrn_permission_find(a->vhost, a->word[0])) == NULL)
        return 0;
    for (struct wrn_topic_permission *t = p->topics; t != NULL; t = t->next)
        if (exchange == NULL || strcmp(t->exchange, exchange) == 0)
            wrn_persist_topic_permission(a->vhost, a->word[0], NULL, t->exchange);
    wrn_topic_permission_clear(a->vhost, a->word[0], exchange);
    return 0;
}

static int
list_topic_permissions(struct ctl_args *a)
{
    printf("user\texchange\twrite\tread\n");
    for (struct wrn_permission *p = a->vhost->permissions; p != NULL; p = p->next)
        for (struct wrn_topic_permission *t = p->topics; t != NULL; t = t->next)
            printf("%s\t%s\t%s\t%s\n", p->user, t->exchange, t->write.source, t->read.source);
    return 0;
}

/* ---- limits ---------------------------------------------------------------- */

/*
 * The limits document: a JSON object whose only key Warren knows is
 * "max-connections", an integer; a negative value removes the limit, as
 * RabbitMQ reads it. Returns 0 with *limit set, or -1.
 */
static int
parse_limits(const char *json, uint32_t *limit)
{
    const char *p = json;
    long long v;
    char *end;

    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '{')
        return fail("limits must be a JSON object, like '{\"max-connections\": 10}'"), -1;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "\"max-connections\"", 17) != 0)
        return fail("unsupported limit in %s: Warren knows \"max-connections\"", json), -1;
    p += 17;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ':')
        return fail("expected ':' after \"max-connections\""), -1;
    v = strtoll(p, &end, 10);
    if (end == p)
        return fail("max-connections must be an integer"), -1;
    p = end;
    while (isspace((unsigned char)*p))
        p++;
    if (strcmp(p, "}") != 0)
        return fail("unexpected text after the limit: %s", p), -1;
    *limit = v < 0 ? WRN_NO_LIMIT : v >= WRN_NO_LIMIT ? WRN_NO_LIMIT - 1 : (uint32_t)v;
    return 0;
}

static int
set_vhost_limits(struct ctl_args *a)
{
    if (parse_limits(a->word[0], &a->vhost->max_connections) != 0)
        return 1;
    wrn_persist_vhost(a->vhost, true);
    return 0;
}

static int
clear_vhost_limits(struct ctl_args *a)
{
    a->vhost->max_connections = WRN_NO_LIMIT;
    wrn_persist_vhost(a->vhost, true);
    return 0;
}

static int
set_user_limits(struct ctl_args *a)
{
    struct wrn_user *u = user_named(a->word[0]);

    if (u == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    if (parse_limits(a->word[1], &u->max_connections) != 0)
        return 1;
    wrn_persist_user(u, true);
    return 0;
}

static int
clear_user_limits(struct ctl_args *a)
{
    struct wrn_user *u = user_named(a->word[0]);

    if (u == NULL)
        return fail("user '%s' does not exist", a->word[0]);
    u->max_connections = WRN_NO_LIMIT;
    wrn_persist_user(u, true);
    return 0;
}

static const struct ctl_command commands[] = {
    {"add_user", 2, 2, false, add_user, "add_user NAME PASSWORD [--pre-hashed-password]"},
    {"delete_user", 1, 1, false, delete_user, "delete_user NAME"},
    {"change_password", 2, 2, false, change_password, "change_password NAME PASSWORD"},
    {"clear_password", 1, 1, false, change_password, "clear_password NAME"},
    {"set_user_tags", 1, 8, false, set_user_tags, "set_user_tags NAME [TAG ...]"},
    {"list_users", 0, 0, false, list_users, "list_users"},
    {"authenticate_user", 2, 2, false, authenticate_user, "authenticate_user NAME PASSWORD"},
    {"hash_password", 1, 1, false, hash_password, "hash_password PASSWORD"},
    {"add_vhost", 1, 1, false, add_vhost, "add_vhost NAME"},
    {"delete_vhost", 1, 1, false, delete_vhost, "delete_vhost NAME"},
    {"list_vhosts", 0, 0, false, list_vhosts, "list_vhosts"},
    {"set_permissions", 4, 4, true, set_permissions,
     "set_permissions [-p VHOST] USER CONFIGURE WRITE READ"},
    {"clear_permissions", 1, 1, true, clear_permissions, "clear_permissions [-p VHOST] USER"},
    {"list_permissions", 0, 0, true, list_permissions, "list_permissions [-p VHOST]"},
    {"set_topic_permissions", 4, 4, true, set_topic_permissions,
     "set_topic_permissions [-p VHOST] USER EXCHANGE WRITE READ"},
    {"clear_topic_permissions", 1, 2, true, clear_topic_permissions,
     "clear_topic_permissions [-p VHOST] USER [EXCHANGE]"},
    {"list_topic_permissions", 0, 0, true, list_topic_permissions,
     "list_topic_permissions [-p VHOST]"},
    {"set_vhost_limits", 1, 1, true, set_vhost_limits,
     "set_vhost_limits [-p VHOST] '{\"max-connections\": N}'"},
    {"clear_vhost_limits", 0, 0, true, clear_vhost_limits, "clear_vhost_limits [-p VHOST]"},
    {"set_user_limits", 2, 2, false, set_user_limits,
     "set_user_limits USER '{\"max-connections\": N}'"},
    {"clear_user_limits", 1, 2, false, clear_user_limits, "clear_user_limits USER [LIMIT]"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: warren [--data-dir DIR | --config FILE] COMMAND ...\n\n"
                 "Commands change the data folder's accounts; run them while the broker is\n"
                 "stopped. -p VHOST (or --vhost VHOST) defaults to \"/\".\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].usage);
}

static const struct ctl_command *
command_named(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int
parse_args(int argc, char **argv, struct ctl_args *a)
{
    memset(a, 0, sizeof(*a));
    a->vhost_name = "/";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--vhost") == 0) {
            if (++i == argc)
                return fail("%s needs a vhost name", argv[i - 1]);
            a->vhost_name = argv[i];
        } else if (strcmp(argv[i], "--pre-hashed-password") == 0) {
            a->pre_hashed = true;
        } else if (a->nwords == (int)(sizeof(a->word) / sizeof(a->word[0]))) {
            return fail("too many arguments");
        } else {
            a->word[a->nwords++] = argv[i];
        }
    }
    return 0;
}

/* Open the store, run the command, and write its change before closing. */
static int
run_on_store(const struct ctl_command *cmd, struct ctl_args *a)
{
    struct event_base *base = event_base_new();
    int rc = 1;

    if (base == NULL)
        return fail("cannot create an event base");
    wrn_server_init(base);
    if (wrn_persist_open(server.cfg.data_dir) == 0) {
        if (cmd->uses_vhost &&
            (a->vhost = wrn_vhost_find(wrn_slice_str(a->vhost_name))) == NULL)
            rc = fail("vhost '%s' does not exist", a->vhost_name);
        else
            rc = cmd->run(a);
        wrn_persist_close();
    }
    wrn_server_fini();
    event_base_free(base);
    return rc;
}

int
wrn_ctl_main(int argc, char **argv)
{
    const struct ctl_command *cmd = command_named(argv[0]);
    struct ctl_args a;

    if (strcmp(argv[0], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (cmd == NULL) {
        fprintf(stderr, "warren: unknown command '%s'\n\n", argv[0]);
        usage(stderr);
        return 2;
    }
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    if (a.nwords < cmd->min_words || a.nwords > cmd->max_words ||
        (a.pre_hashed && cmd->run != add_user)) {
        fprintf(stderr, "usage: warren %s\n", cmd->usage);
        return 2;
    }
    if (cmd->run == hash_password)
        return hash_password(&a);
    /* the store's own messages are enough; recovery's chatter is not */
    if (server.cfg.log_level > WRN_LOG_WARNING)
        wrn_log_set_level(WRN_LOG_WARNING);
    return run_on_store(cmd, &a);
}
