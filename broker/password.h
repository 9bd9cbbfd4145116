/*
 * password.h - password hashes in RabbitMQ's format, so users exported from
 * RabbitMQ log in to Warren with the passwords they had: base64 of a 4-byte
 * random salt followed by H(salt ++ password), H being SHA-256 (RabbitMQ's
 * default, rabbit_password_hashing_sha256), SHA-512 or MD5.
 */
#ifndef WRN_PASSWORD_H
#define WRN_PASSWORD_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum wrn_hash_algorithm {
    WRN_HASH_NONE = 0, /* no password: password logins always refused */
    WRN_HASH_SHA256 = 1,
    WRN_HASH_SHA512 = 2,
    WRN_HASH_MD5 = 3,
};

#define WRN_PASSWORD_SALT_LEN 4
#define WRN_PASSWORD_HASH_MAX (WRN_PASSWORD_SALT_LEN + 64)
/* base64 of the longest hash, with its NUL */
#define WRN_PASSWORD_B64_MAX 96

struct wrn_password_hash {
    enum wrn_hash_algorithm algorithm;
    uint8_t len; /* salt and digest; 0 for WRN_HASH_NONE */
    uint8_t bytes[WRN_PASSWORD_HASH_MAX];
};

/* Hash password with a fresh random salt (SHA-256). An empty password gives
 * WRN_HASH_NONE, as RabbitMQ's add_user with a blank password does. */
void wrn_password_hash(const char *password, size_t len, struct wrn_password_hash *out);
/* Whether password matches; compares in constant time. */
bool wrn_password_check(const struct wrn_password_hash *h, struct wrn_slice password);

/* RabbitMQ's names: "rabbit_password_hashing_sha256" and so on. */
const char *wrn_password_algorithm_name(enum wrn_hash_algorithm a);
/* The algorithm for a name, or -1. */
int wrn_password_algorithm_parse(const char *name);

/* base64 form, as in definitions files; out holds WRN_PASSWORD_B64_MAX. */
void wrn_password_to_base64(const struct wrn_password_hash *h, char *out);
/*
 * Read a base64 hash. The algorithm is a's, or, when a is WRN_HASH_NONE,
 * the one the length implies (36 bytes SHA-256, 68 SHA-512, 20 MD5). An
 * empty string is "no password". Returns 0, or -1 if it cannot be a hash.
 */
int wrn_password_from_base64(const char *b64, enum wrn_hash_algorithm a,
                             struct wrn_password_hash *out);

#ifdef __cplusplus
}
#endif

#endif /* WRN_PASSWORD_H */
