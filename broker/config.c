/*
 * config.c - rabbitmq.conf-style configuration (same key names where RabbitMQ
 * has the key), environment variables and flags.
 */
#include "config.h"

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

/* "5672", "127.0.0.1:5672" or "[::1]:5672" */
static int
set_listener(struct wrn_config *c, const char *v)
{
    const char *colon = strrchr(v, ':');
    unsigned long port;
    char host[64];

    if (colon == NULL)
        return parse_uint(v, 65535, &port) == 0 ? (c->port = (int)port, 0) : -1;
    if (parse_uint(colon + 1, 65535, &port) != 0 || (size_t)(colon - v) >= sizeof(host))
        return -1;
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    c->port = (int)port;
    return copy_str(c->bind, sizeof(c->bind), host);
}

int
wrn_config_set(struct wrn_config *c, const char *key, const char *value, char *err,
               size_t errlen)
{
    unsigned long n;
    int level;

    if (strcmp(key, "listeners.tcp.default") == 0) {
        if (set_listener(c, value) != 0)
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
    } else if (strcmp(key, "log.console") == 0 || strcmp(key, "loopback_users.guest") == 0) {
        /* Accepted for compatibility: logs always go to the console, and guest is
         * always limited to loopback. */
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

int
wrn_config_load_file(struct wrn_config *c, const char *path, char *err, size_t errlen)
{
    char line[4096], msg[512];
    int lineno = 0, rc = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s, *eq, *key, *value;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        if ((s = strchr(line, '#')) != NULL)
            *s = '\0';
        s = trim(line);
        if (*s == '\0')
            continue;
        if ((eq = strchr(s, '=')) == NULL) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        key = trim(s);
        value = trim(eq + 1);
        switch (wrn_config_set(c, key, value, msg, sizeof(msg))) {
        case 0:
            break;
        case 1:
            wrn_log_warning("%s:%d: unknown setting '%s' ignored", path, lineno, key);
            break;
        default:
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
        if (rc != 0)
            break;
    }
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
            "Environment: WARREN_CONFIG_FILE names a config file when --config is not given.\n"
            "Flags override the file. Config keys: listeners.tcp.default, default_user,\n"
            "default_pass, default_vhost, heartbeat, frame_max, channel_max, log.level,\n"
            "data_dir, vm_memory_high_watermark.relative, vm_memory_high_watermark.absolute.\n");
}

int
wrn_config_from_args(struct wrn_config *c, int argc, char **argv)
{
    const char *config_path = getenv("WARREN_CONFIG_FILE");
    char err[1024];
    int i;

    /* The file first, so that flags given in any order override it. */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
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
    for (i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
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
