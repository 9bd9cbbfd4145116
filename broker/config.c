/*
 * config.c - rabbitmq.conf-style configuration (same key names where RabbitMQ
 * has the key), environment variables and flags.
 */
#include "config.h"

#include "alloc.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wrn_config_defaults(struct wrn_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->bind, sizeof(c->bind), "0.0.0.0");
    c->port = 5672;
    snprintf(c->default_user, sizeof(c->default_user), "guest");
    snprintf(c->default_pass, sizeof(c->default_pass), "guest");
    snprintf(c->default_vhost, sizeof(c->default_vhost), "/");
    c->heartbeat = 60;     /* RabbitMQ's default */
    c->frame_max = 131072; /* RabbitMQ's default, 128 KiB */
    c->channel_max = 2047; /* RabbitMQ's default */
    c->log_level = WRN_LOG_INFO;
    snprintf(c->data_dir, sizeof(c->data_dir), "data");
    c->memory_relative = 0.4; /* RabbitMQ's default */
    c->max_message_size = 134217728; /* RabbitMQ's default, 128 MiB */
    snprintf(c->auth_mechanisms, sizeof(c->auth_mechanisms), "PLAIN AMQPLAIN");
    memcpy(c->loopback_users, "guest\0", 7); /* RabbitMQ's default */
    c->tcp_listener = true;
    snprintf(c->ssl_bind, sizeof(c->ssl_bind), "0.0.0.0");
    c->ssl_versions = WRN_TLS_V1_2 | WRN_TLS_V1_3;
    c->ssl_handshake_timeout_ms = 5000; /* RabbitMQ's default */
}

bool
wrn_config_loopback_only(const struct wrn_config *c, const char *name)
{
    for (const char *p = c->loopback_users; *p != '\0'; p += strlen(p) + 1)
        if (strcmp(p, name) == 0)
            return true;
    return false;
}

/* loopback_users.NAME = true adds NAME, = false removes it. */
static int
set_loopback_user(struct wrn_config *c, const char *name, bool on)
{
    char *p = c->loopback_users;
    size_t used, n = strlen(name) + 1;

    while (*p != '\0' && strcmp(p, name) != 0)
        p += strlen(p) + 1;
    if (*p != '\0') { /* present: remove, and append again if on */
        char *next = p + strlen(p) + 1;
        memmove(p, next, (size_t)(c->loopback_users + sizeof(c->loopback_users) - next));
    }
    if (!on || *name == '\0')
        return 0;
    for (p = c->loopback_users; *p != '\0'; p += strlen(p) + 1)
        ;
    used = (size_t)(p - c->loopback_users);
    if (used + n + 1 > sizeof(c->loopback_users))
        return -1;
    memcpy(p, name, n);
    p[n] = '\0';
    return 0;
}

static int
parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "true") == 0)
        *out = true;
    else if (strcmp(s, "false") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* "1073741824", "1024MB", "1GiB", ... as RabbitMQ reads information units. */
static int
parse_bytes(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"", 1},           {"kB", 1000},          {"KB", 1000},
                 {"MB", 1000000},   {"GB", 1000000000},    {"KiB", 1024},
                 {"MiB", 1048576},  {"GiB", 1073741824},   {"k", 1024},
                 {"K", 1024},       {"M", 1048576},        {"G", 1073741824}};
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            *out = v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
copy_str(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* "5672", "127.0.0.1:5672" or "[::1]:5672" into bind and port. */
static int
parse_listener(const char *v, char *bind, size_t bindcap, int *port_out)
{
    const char *colon = strrchr(v, ':');
    unsigned long port;
    char host[64];

    if (colon == NULL)
        return parse_uint(v, 65535, &port) == 0 ? (*port_out = (int)port, 0) : -1;
    if (parse_uint(colon + 1, 65535, &port) != 0 || (size_t)(colon - v) >= sizeof(host))
        return -1;
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    *port_out = (int)port;
    return copy_str(bind, bindcap, host);
}

/* ssl_options.versions.N: the first one replaces the default set. */
static int
add_tls_version(struct wrn_config *c, const char *v, bool *versions_given)
{
    static const struct {
        const char *name;
        unsigned bit;
    } versions[] = {{"tlsv1", WRN_TLS_V1},
                    {"tlsv1.1", WRN_TLS_V1_1},
                    {"tlsv1.2", WRN_TLS_V1_2},
                    {"tlsv1.3", WRN_TLS_V1_3}};

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        if (strcmp(v, versions[i].name) == 0) {
            if (!*versions_given)
                c->ssl_versions = 0;
            *versions_given = true;
            c->ssl_versions |= versions[i].bit;
            return 0;
        }
    }
    return -1;
}

/* Append word to a list joined by sep. */
static int
append_word(char *list, size_t cap, const char *word, char sep)
{
    size_t len = strlen(list), n = strlen(word);

    if (n == 0 || strchr(word, sep) != NULL || len + n + 2 > cap)
        return -1;
    if (len > 0)
        list[len++] = sep;
    memcpy(list + len, word, n + 1);
    return 0;
}

/* "KEY.N" where N is a positive number: the RabbitMQ form of list items. */
static bool
is_list_item(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    unsigned long idx;

    return strncmp(key, prefix, n) == 0 && key[n] == '.' && parse_uint(key + n + 1, 1000, &idx) == 0;
}

/* The TLS settings (ssl_options.*, ssl_cert_login_from, ...). */
static int
set_tls(struct wrn_config *c, const char *key, const char *value)
{
    if (strcmp(key, "listeners.ssl.default") == 0)
        return parse_listener(value, c->ssl_bind, sizeof(c->ssl_bind), &c->ssl_port);
    if (strcmp(key, "ssl_options.certfile") == 0)
        return copy_str(c->ssl_certfile, sizeof(c->ssl_certfile), value);
    if (strcmp(key, "ssl_options.keyfile") == 0)
        return copy_str(c->ssl_keyfile, sizeof(c->ssl_keyfile), value);
    if (strcmp(key, "ssl_options.cacertfile") == 0)
        return copy_str(c->ssl_cacertfile, sizeof(c->ssl_cacertfile), value);
    if (strcmp(key, "ssl_options.verify") == 0) {
        if (strcmp(value, "verify_peer") != 0 && strcmp(value, "verify_none") != 0)
            return -1;
        c->ssl_verify_peer = strcmp(value, "verify_peer") == 0;
        return 0;
    }
    if (strcmp(key, "ssl_options.fail_if_no_peer_cert") == 0)
        return parse_bool(value, &c->ssl_fail_if_no_peer_cert);
    if (strcmp(key, "ssl_options.honor_cipher_order") == 0 ||
        strcmp(key, "ssl_options.honor_ecc_order") == 0) {
        bool b;
        return parse_bool(value, &b); /* always on: the server's order wins */
    }
    if (is_list_item(key, "ssl_options.versions"))
        return add_tls_version(c, value, &c->ssl_versions_given);
    if (is_list_item(key, "ssl_options.ciphers"))
        return append_word(c->ssl_ciphers, sizeof(c->ssl_ciphers), value, ':');
    if (strcmp(key, "ssl_cert_login_from") == 0) {
        if (strcmp(value, "distinguished_name") != 0 && strcmp(value, "common_name") != 0)
            return -1;
        c->ssl_login_from_dn = strcmp(value, "distinguished_name") == 0;
        return 0;
    }
    if (strcmp(key, "ssl_handshake_timeout") == 0) {
        unsigned long ms;
        if (parse_uint(value, 3600000, &ms) != 0 || ms == 0)
            return -1;
        c->ssl_handshake_timeout_ms = (uint32_t)ms;
        return 0;
    }
    return 1;
}

/* auth_mechanisms.N: the first one replaces the default list. */
static int
add_auth_mechanism(struct wrn_config *c, const char *v)
{
    if (strcmp(v, "PLAIN") != 0 && strcmp(v, "AMQPLAIN") != 0 && strcmp(v, "EXTERNAL") != 0)
        return -1;
    if (!c->auth_mechanisms_given)
        c->auth_mechanisms[0] = '\0';
    c->auth_mechanisms_given = true;
    return append_word(c->auth_mechanisms, sizeof(c->auth_mechanisms), v, ' ');
}

int
wrn_config_set(struct wrn_config *c, const char *key, const char *value, char *err,
               size_t errlen)
{
    unsigned long n;
    int level;

    int rc;

    if (strcmp(key, "listeners.tcp.default") == 0) {
        if (parse_listener(value, c->bind, sizeof(c->bind), &c->port) != 0)
            goto bad_value;
        c->tcp_listener = true;
    } else if (strcmp(key, "listeners.tcp") == 0 || strcmp(key, "listeners.ssl") == 0) {
        if (strcmp(value, "none") != 0)
            goto bad_value;
        if (key[10] == 't')
            c->tcp_listener = false;
        else
            c->ssl_port = 0;
    } else if ((rc = set_tls(c, key, value)) != 1) {
        if (rc != 0)
            goto bad_value;
    } else if (is_list_item(key, "auth_mechanisms")) {
        if (add_auth_mechanism(c, value) != 0)
            goto bad_value;
    } else if (strcmp(key, "loopback_users") == 0) {
        if (strcmp(value, "none") != 0)
            goto bad_value;
        c->loopback_users[0] = '\0';
    } else if (strncmp(key, "loopback_users.", 15) == 0) {
        bool on;
        if (parse_bool(value, &on) != 0 || set_loopback_user(c, key + 15, on) != 0)
            goto bad_value;
    } else if (strcmp(key, "connection_max") == 0) {
        if (strcmp(value, "infinity") == 0)
            c->connection_max = 0;
        else if (parse_uint(value, UINT32_MAX, &n) == 0 && n > 0)
            c->connection_max = (uint32_t)n;
        else
            goto bad_value;
    } else if (strcmp(key, "max_message_size") == 0) {
        /* RabbitMQ caps it at 512 MiB */
        if (parse_bytes(value, &c->max_message_size) != 0 || c->max_message_size == 0 ||
            c->max_message_size > 536870912)
            goto bad_value;
    } else if (strcmp(key, "default_user") == 0) {
        if (copy_str(c->default_user, sizeof(c->default_user), value) != 0)
            goto bad_value;
    } else if (strcmp(key, "default_pass") == 0) {
        if (copy_str(c->default_pass, sizeof(c->default_pass), value) != 0)
            goto bad_value;
    } else if (strcmp(key, "default_vhost") == 0) {
        if (copy_str(c->default_vhost, sizeof(c->default_vhost), value) != 0)
            goto bad_value;
    } else if (strcmp(key, "heartbeat") == 0) {
        if (parse_uint(value, 65535, &n) != 0)
            goto bad_value;
        c->heartbeat = (uint16_t)n;
    } else if (strcmp(key, "frame_max") == 0) {
        /* 0 means no limit in AMQP; RabbitMQ refuses less than 4096 otherwise. */
        if (parse_uint(value, UINT32_MAX, &n) != 0 || (n != 0 && n < 4096))
            goto bad_value;
        c->frame_max = (uint32_t)n;
    } else if (strcmp(key, "channel_max") == 0) {
        if (parse_uint(value, 65535, &n) != 0)
            goto bad_value;
        c->channel_max = (uint16_t)n;
    } else if (strcmp(key, "log.level") == 0 || strcmp(key, "log.console.level") == 0) {
        if ((level = wrn_log_level_parse(value)) < 0)
            goto bad_value;
        c->log_level = level;
    } else if (strcmp(key, "vm_memory_high_watermark.relative") == 0) {
        char *end;
        double d = strtod(value, &end);
        if (*value == '\0' || *end != '\0' || d <= 0 || d > 1)
            goto bad_value;
        c->memory_relative = d;
    } else if (strcmp(key, "vm_memory_high_watermark.absolute") == 0) {
        if (parse_bytes(value, &c->memory_absolute) != 0 || c->memory_absolute == 0)
            goto bad_value;
    } else if (strcmp(key, "data_dir") == 0) {
        if (*value == '\0' || copy_str(c->data_dir, sizeof(c->data_dir), value) != 0)
            goto bad_value;
    } else if (strcmp(key, "log.console") == 0) {
        /* Accepted for compatibility: logs always go to the console. */
    } else {
        return 1;
    }
    return 0;

bad_value:
    snprintf(err, errlen, "invalid value '%s' for %s", value, key);
    return -1;
}

static char *
trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Config files are small; anything bigger is not one. */
#define CONFIG_FILE_MAX (1024 * 1024)

int
wrn_config_load_buffer(struct wrn_config *c, const char *name, const char *text, size_t len,
                       char *err, size_t errlen)
{
    char line[4096], msg[512];
    int lineno = 0;
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        char *s, *eq, *key, *value;

        lineno++;
        if (n >= sizeof(line)) {
            snprintf(err, errlen, "%s:%d: line too long", name, lineno);
            return -1;
        }
        if (memchr(text + pos, '\0', n) != NULL) {
            snprintf(err, errlen, "%s:%d: NUL byte in a text file", name, lineno);
            return -1;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        if ((s = strchr(line, '#')) != NULL)
            *s = '\0';
        s = trim(line);
        if (*s == '\0')
            continue;
        if ((eq = strchr(s, '=')) == NULL) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", name, lineno);
            return -1;
        }
        *eq = '\0';
        key = trim(s);
        value = trim(eq + 1);
        switch (wrn_config_set(c, key, value, msg, sizeof(msg))) {
        case 0:
            break;
        case 1:
            wrn_log_warning("%s:%d: unknown setting '%s' ignored", name, lineno, key);
            break;
        default:
            snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
            return -1;
        }
    }
    return 0;
}

int
wrn_config_load_file(struct wrn_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *text;
    size_t len;
    int rc;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    text = wrn_xmalloc(CONFIG_FILE_MAX + 1);
    len = fread(text, 1, CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    } else if (len > CONFIG_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes; not a config file", path,
                 CONFIG_FILE_MAX);
        rc = -1;
    } else {
        rc = wrn_config_load_buffer(c, path, text, len, err, errlen);
    }
    wrn_free(text);
    fclose(f);
    if (rc == 0)
        snprintf(c->config_file, sizeof(c->config_file), "%s", path);
    return rc;
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: warren [options]\n"
            "       warren [options] COMMAND ...   (warren help lists the commands)\n"
            "\n"
            "An AMQP 0-9-1 message broker that RabbitMQ clients use unchanged.\n"
            "\n"
            "  --port N         AMQP port (default 5672; listeners.tcp.default)\n"
            "  --bind ADDR      address to listen on (default 0.0.0.0)\n"
            "  --config FILE    rabbitmq.conf-style settings file (key = value)\n"
            "  --log-level L    error, warning, info or debug (log.level)\n"
            "  --data-dir DIR   where durable data lives (data_dir; default ./data)\n"
            "  --help           this text\n"
            "\n"
            "Commands (add_user, set_permissions, ... as rabbitmqctl's) change the users,\n"
            "vhosts and permissions in the data folder while the broker is stopped.\n"
            "\n"
            "Environment: WARREN_CONFIG_FILE names a config file when --config is not given.\n"
            "Flags override the file. docs/configuration.md lists the config keys.\n");
}

int
wrn_config_from_args(struct wrn_config *c, int argc, char **argv, int *command)
{
    const char *config_path = getenv("WARREN_CONFIG_FILE");
    char err[1024];
    int i, nflags = argc;

    /* Flags end at the first word that is not one: an administration command. */
    for (i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            nflags = i;
            break;
        }
        if (strcmp(argv[i], "--help") != 0 && strcmp(argv[i], "-h") != 0)
            i++; /* skip the flag's value */
    }
    *command = nflags;
    /* The file first, so that flags given in any order override it. */
    for (i = 1; i < nflags; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= nflags) {
                fprintf(stderr, "warren: --config needs a file name (see --help)\n");
                return -1;
            }
            config_path = argv[++i];
        }
    }
    if (config_path != NULL && *config_path != '\0' &&
        wrn_config_load_file(c, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "warren: %s\n", err);
        return -1;
    }
    for (i = 1; i < nflags; i++) {
        const char *flag = argv[i], *value = i + 1 < nflags ? argv[i + 1] : NULL;
        const char *key = NULL;
        char buf[1024];

        if (strcmp(flag, "--config") == 0) {
            i++;
            continue;
        }
        if (value == NULL) {
            fprintf(stderr, "warren: %s needs a value (see --help)\n", flag);
            return -1;
        }
        if (strcmp(flag, "--port") == 0) {
            key = "listeners.tcp.default";
        } else if (strcmp(flag, "--bind") == 0) {
            if (strlen(value) >= sizeof(c->bind)) {
                fprintf(stderr, "warren: --bind address too long\n");
                return -1;
            }
            snprintf(c->bind, sizeof(c->bind), "%s", value);
            i++;
            continue;
        } else if (strcmp(flag, "--log-level") == 0) {
            key = "log.level";
        } else if (strcmp(flag, "--data-dir") == 0) {
            key = "data_dir";
        } else {
            fprintf(stderr, "warren: unknown option %s (see --help)\n", flag);
            return -1;
        }
        snprintf(buf, sizeof(buf), "%s", value);
        if (wrn_config_set(c, key, buf, err, sizeof(err)) != 0) {
            fprintf(stderr, "warren: %s: %s\n", flag, err);
            return -1;
        }
        i++;
    }
    return 0;
}
