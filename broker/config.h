/*
 * config.h - the broker's settings, from defaults, a rabbitmq.conf-style file
 * and command-line flags, in that order of precedence (flags win). Once
 * loaded the struct is read-only.
 */
#ifndef WRN_CONFIG_H
#define WRN_CONFIG_H

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
    char config_file[1024];
};

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
 * Parse argv: --port, --bind, --config, --help. A config file named by
 * --config is loaded first and flags applied over it. Returns 0 to run, 1 if
 * help was printed, -1 on error (message printed to stderr).
 */
int wrn_config_from_args(struct wrn_config *c, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* WRN_CONFIG_H */
