/*
 * fuzz_config.c - libFuzzer target for the config file parser: any bytes
 * either load or fail with a message, and whatever loads leaves every
 * string terminated and every list well formed.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A char array field holds a terminated string. */
#define TERMINATED(field) CHECK(memchr((field), '\0', sizeof(field)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wrn_config c;
    char err[512];
    const char *p;

    wrn_log_set_level(WRN_LOG_ERROR); /* unknown keys are warned about: keep quiet */
    wrn_config_defaults(&c);
    err[0] = '\0';
    if (wrn_config_load_buffer(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err)) != 0) {
        CHECK(err[0] != '\0'); /* a failure always says why */
        return 0;
    }
    TERMINATED(c.bind);
    TERMINATED(c.ssl_bind);
    TERMINATED(c.default_user);
    TERMINATED(c.default_pass);
    TERMINATED(c.default_vhost);
    TERMINATED(c.data_dir);
    TERMINATED(c.auth_mechanisms);
    TERMINATED(c.ssl_certfile);
    TERMINATED(c.ssl_keyfile);
    TERMINATED(c.ssl_cacertfile);
    TERMINATED(c.ssl_ciphers);
    CHECK(c.port >= 0 && c.port <= 65535 && c.ssl_port >= 0 && c.ssl_port <= 65535);
    CHECK(c.frame_max == 0 || c.frame_max >= 4096);
    CHECK(c.memory_relative > 0 && c.memory_relative <= 1);
    CHECK(c.max_message_size > 0);
    /* the loopback list: names ending in NUL, ended by an empty name, inside the array */
    for (p = c.loopback_users; *p != '\0'; p += strlen(p) + 1)
        CHECK(p < c.loopback_users + sizeof(c.loopback_users));
    CHECK(p < c.loopback_users + sizeof(c.loopback_users));
    (void)wrn_config_loopback_only(&c, "guest");
    return 0;
}
