/*
 * config.h - the broker's settings, from defaults, a rabbitmq.conf-style file
 * and command-line flags, in that order of precedence (flags win). Once
 * loaded the struct is read-only.
 */
#ifndef WRN_CONFIG_H
#define WRN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_config {
    char bind[64];           /* listeners.tcp.default = [ADDR:]PORT */
    int port;
    char default_user[256];  /* default_user */
    char default_pass[256];  /* default_pass */
    char default_vhost[256]; /* default_vhost */
    uint16_t heartbeat;      /* heartbeat, seconds; 0 disables */
    uint32_t frame_max;      /* frame_max, bytes */
    uint16_t channel_max;    /* channel_max */
    int log_level;           /* log.level / log.console.level */
    char data_dir[1024];     /* data_dir: where the store lives */
    double memory_relative;  /* vm_memory_high_watermark.relative (of RAM) */
    uint64_t memory_absolute; /* vm_memory_high_watermark.absolute, bytes; 0: use relative */
    uint64_t max_message_size; /* max_message_size, bytes */
    uint32_t connection_max;   /* connection_max; 0: no limit ("infinity") */
    char auth_mechanisms[128]; /* auth_mechanisms.N, space-separated, in order */
    bool auth_mechanisms_given;
    /* loopback_users.NAME = true: names allowed from loopback only, each
     * followed by '\0', the list ended by an empty name */
    char loopback_users[1024];

    /* TLS: listeners.ssl.default and ssl_options.* (docs/configuration.md) */
    bool tcp_listener;        /* false after listeners.tcp = none */
    char ssl_bind[64];
    int ssl_port;             /* 0: no TLS listener */
    char ssl_certfile[1024];
    char ssl_keyfile[1024];
    char ssl_cacertfile[1024];
    bool ssl_verify_peer;     /* ssl_options.verify = verify_peer */
    bool ssl_fail_if_no_peer_cert;
    unsigned ssl_versions;    /* WRN_TLS_V* bits */
    bool ssl_versions_given;
    char ssl_ciphers[2048];   /* ssl_options.ciphers.N joined with ':' */
    bool ssl_login_from_dn;   /* ssl_cert_login_from = distinguished_name */
    uint32_t ssl_handshake_timeout_ms; /* ssl_handshake_timeout */

    char config_file[1024];
};

/* ssl_options.versions.N values */
#define WRN_TLS_V1 0x1u
#define WRN_TLS_V1_1 0x2u
#define WRN_TLS_V1_2 0x4u
#define WRN_TLS_V1_3 0x8u

/* Whether name is listed in loopback_users (allowed from loopback only). */
bool wrn_config_loopback_only(const struct wrn_config *c, const char *name);

void wrn_config_defaults(struct wrn_config *c);

/*
 * Parse a rabbitmq.conf-style file: "key = value" lines, '#' comments.
 * Unknown keys are warned about and skipped. Returns 0, or -1 with a message
 * (file:line: reason) in err.
 */
int wrn_config_load_file(struct wrn_config *c, const char *path, char *err, size_t errlen);

/* Apply one key = value pair (as from the file). Returns 0, 1 if the key is
 * unknown, or -1 with a message in err if the value is invalid. */
int wrn_config_set(struct wrn_config *c, const char *key, const char *value, char *err,
                   size_t errlen);

/*
 * Parse the text of a config file (len bytes, need not end in NUL); name is
 * used in messages. Same contract as wrn_config_load_file.
 */
int wrn_config_load_buffer(struct wrn_config *c, const char *name, const char *text, size_t len,
                           char *err, size_t errlen);

/*
 * Parse argv: --port, --bind, --config, --help. A config file named by
 * --config is loaded first and flags applied over it. Flags stop at the
 * first word that is not a flag: an administration command (bin/ctl.c),
 * whose index is stored in *command (argc when there is none). Returns 0 to
 * run, 1 if help was printed, -1 on error (message printed to stderr).
 */
int wrn_config_from_args(struct wrn_config *c, int argc, char **argv, int *command);

#ifdef __cplusplus
}
#endif

#endif /* WRN_CONFIG_H */
