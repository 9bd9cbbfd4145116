/*
 * password.c - RabbitMQ-compatible salted password hashes (OpenSSL's
 * digests and random numbers).
 */
#include "password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const EVP_MD *
digest_of(enum wrn_hash_algorithm a)
{
    switch (a) {
    case WRN_HASH_SHA256:
        return EVP_sha256();
    case WRN_HASH_SHA512:
        return EVP_sha512();
    case WRN_HASH_MD5:
        return EVP_md5();
    default:
        return NULL;
    }
}

/* salt ++ password through the algorithm's digest; returns the digest length */
static unsigned
digest(enum wrn_hash_algorithm a, const uint8_t *salt, const uint8_t *pw, size_t len,
       uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;

    if (ctx == NULL)
        abort(); /* out of memory, as wrn_xmalloc would */
    EVP_DigestInit_ex(ctx, digest_of(a), NULL);
    EVP_DigestUpdate(ctx, salt, WRN_PASSWORD_SALT_LEN);
    EVP_DigestUpdate(ctx, pw, len);
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
    return n;
}

void
wrn_password_hash(const char *password, size_t len, struct wrn_password_hash *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return;
    if (RAND_bytes(out->bytes, WRN_PASSWORD_SALT_LEN) != 1)
        abort(); /* no entropy: refusing beats a predictable salt */
    out->algorithm = WRN_HASH_SHA256;
    out->len = (uint8_t)(WRN_PASSWORD_SALT_LEN +
                         digest(WRN_HASH_SHA256, out->bytes, (const uint8_t *)password, len,
                                out->bytes + WRN_PASSWORD_SALT_LEN));
}

bool
wrn_password_check(const struct wrn_password_hash *h, struct wrn_slice password)
{
    uint8_t got[64];
    unsigned n;

    if (h->algorithm == WRN_HASH_NONE || h->len <= WRN_PASSWORD_SALT_LEN)
        return false;
    n = digest(h->algorithm, h->bytes, password.p, password.len, got);
    return n == (unsigned)(h->len - WRN_PASSWORD_SALT_LEN) &&
           CRYPTO_memcmp(got, h->bytes + WRN_PASSWORD_SALT_LEN, n) == 0;
}

static const char *const algorithm_names[] = {
    [WRN_HASH_NONE] = "",
    [WRN_HASH_SHA256] = "rabbit_password_hashing_sha256",
    [WRN_HASH_SHA512] = "rabbit_password_hashing_sha512",
    [WRN_HASH_MD5] = "rabbit_password_hashing_md5",
};

const char *
wrn_password_algorithm_name(enum wrn_hash_algorithm a)
{
    return (unsigned)a < sizeof(algorithm_names) / sizeof(algorithm_names[0])
               ? algorithm_names[a]
               : "";
}

int
wrn_password_algorithm_parse(const char *name)
{
    for (int a = WRN_HASH_SHA256; a <= WRN_HASH_MD5; a++)
        if (strcmp(name, algorithm_names[a]) == 0)
            return a;
    return -1;
}

void
wrn_password_to_base64(const struct wrn_password_hash *h, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, h->bytes, h->len);
}

int
wrn_password_from_base64(const char *b64, enum wrn_hash_algorithm a,
                         struct wrn_password_hash *out)
{
    uint8_t buf[WRN_PASSWORD_B64_MAX];
    size_t len = strlen(b64), padding = 0;
    int n;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return 0;
    if (len % 4 != 0 || len > sizeof(buf))
        return -1;
    n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as bytes */
    while (padding < 2 && b64[len - 1 - padding] == '=')
        padding++;
    n -= (int)padding;
    if (a == WRN_HASH_NONE)
        a = n == 36 ? WRN_HASH_SHA256 : n == 68 ? WRN_HASH_SHA512 : n == 20 ? WRN_HASH_MD5
                                                                          : WRN_HASH_NONE;
    if (a == WRN_HASH_NONE ||
        n != WRN_PASSWORD_SALT_LEN + EVP_MD_get_size(digest_of(a)))
        return -1;
    out->algorithm = a;
    out->len = (uint8_t)n;
    memcpy(out->bytes, buf, (size_t)n);
    return 0;
}
