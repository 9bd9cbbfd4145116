/*
 * keys.c - encoders and decoders for the store's binary keys. RocksDB
 * compares keys bytewise, so numbers go big-endian and variable-length parts
 * that are followed by more key carry a length prefix: that is what makes
 * ranges contiguous and the encoding unambiguous.
 */
#include "keys.h"

#include <string.h>

static void
put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t
get_u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void
wrn_key_entry(uint8_t out[WRN_KEY_ENTRY_LEN], uint64_t queue_id, uint64_t seq)
{
    out[0] = WRN_KEY_ENTRY;
    put_u64(out + 1, queue_id);
    put_u64(out + 9, seq);
}

void
wrn_key_message(uint8_t out[WRN_KEY_MESSAGE_LEN], uint64_t msg_id)
{
    out[0] = WRN_KEY_MESSAGE;
    put_u64(out + 1, msg_id);
}

void
wrn_key_page(uint8_t out[WRN_KEY_MESSAGE_LEN], uint64_t page_id)
{
    out[0] = WRN_KEY_PAGE;
    put_u64(out + 1, page_id);
}

/*
 * hi is lo plus one, read as a 9-byte big-endian number. Every entry key of
 * the queue starts with lo, so it sorts at or after lo and before hi; for
 * queue id 2^64-1 the carry turns the tag 'E' into 'F', still a valid bound.
 */
void
wrn_key_queue_range(uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], uint8_t hi[WRN_KEY_QUEUE_RANGE_LEN],
                    uint64_t queue_id)
{
    lo[0] = WRN_KEY_ENTRY;
    put_u64(lo + 1, queue_id);
    memcpy(hi, lo, WRN_KEY_QUEUE_RANGE_LEN);
    for (int i = WRN_KEY_QUEUE_RANGE_LEN - 1; i >= 0; i--)
        if (++hi[i] != 0)
            break;
}

void
wrn_key_tag_range(uint8_t lo[1], uint8_t hi[1], uint8_t tag)
{
    lo[0] = tag;
    hi[0] = (uint8_t)(tag + 1);
}

size_t
wrn_key_named(uint8_t *out, size_t cap, uint8_t tag, const void *name, size_t nlen)
{
    size_t len = WRN_KEY_NAMED_LEN(nlen);

    if (len > cap || len < nlen)
        return 0;
    out[0] = tag;
    if (nlen)
        memcpy(out + 1, name, nlen);
    return len;
}

size_t
wrn_key_scoped(uint8_t *out, size_t cap, uint8_t tag, const void *vhost, size_t vlen,
               const void *name, size_t nlen)
{
    size_t len;

    if (vlen > WRN_KEY_VHOST_MAX || nlen > SIZE_MAX - WRN_KEY_SCOPED_LEN(vlen, 0))
        return 0;
    len = WRN_KEY_SCOPED_LEN(vlen, nlen);
    if (len > cap)
        return 0;
    out[0] = tag;
    out[1] = (uint8_t)(vlen >> 8);
    out[2] = (uint8_t)vlen;
    if (vlen)
        memcpy(out + 3, vhost, vlen);
    if (nlen)
        memcpy(out + 3 + vlen, name, nlen);
    return len;
}

/*
 * lo is the common prefix of the vhost's keys; hi is the shortest string
 * after every string with that prefix: drop trailing 0xFF bytes and add one
 * to the last byte left. The tag is never 0xFF, so something is always left.
 */
int
wrn_key_scoped_range(uint8_t *lo, size_t *lolen, uint8_t *hi, size_t *hilen, size_t cap,
                     uint8_t tag, const void *vhost, size_t vlen)
{
    size_t n = wrn_key_scoped(lo, cap, tag, vhost, vlen, NULL, 0);

    if (n == 0 || tag == 0xFF)
        return -1;
    memcpy(hi, lo, n);
    while (hi[n - 1] == 0xFF)
        n--;
    hi[n - 1]++;
    *lolen = WRN_KEY_SCOPED_LEN(vlen, 0);
    *hilen = n;
    return 0;
}

int
wrn_key_entry_decode(const void *key, size_t klen, uint64_t *queue_id, uint64_t *seq)
{
    const uint8_t *k = key;

    if (klen != WRN_KEY_ENTRY_LEN || k[0] != WRN_KEY_ENTRY)
        return -1;
    *queue_id = get_u64(k + 1);
    *seq = get_u64(k + 9);
    return 0;
}

static int
id_key_decode(const void *key, size_t klen, uint8_t tag, uint64_t *id)
{
    const uint8_t *k = key;

    if (klen != WRN_KEY_MESSAGE_LEN || k[0] != tag)
        return -1;
    *id = get_u64(k + 1);
    return 0;
}

int
wrn_key_message_decode(const void *key, size_t klen, uint64_t *msg_id)
{
    return id_key_decode(key, klen, WRN_KEY_MESSAGE, msg_id);
}

int
wrn_key_page_decode(const void *key, size_t klen, uint64_t *page_id)
{
    return id_key_decode(key, klen, WRN_KEY_PAGE, page_id);
}

int
wrn_key_named_decode(const void *key, size_t klen, uint8_t tag, const uint8_t **name, size_t *nlen)
{
    const uint8_t *k = key;

    if (klen < 1 || k[0] != tag)
        return -1;
    *name = k + 1;
    *nlen = klen - 1;
    return 0;
}

int
wrn_key_scoped_decode(const void *key, size_t klen, uint8_t tag, const uint8_t **vhost,
                      size_t *vlen, const uint8_t **name, size_t *nlen)
{
    const uint8_t *k = key;
    size_t vl;

    if (klen < 3 || k[0] != tag)
        return -1;
    vl = (size_t)k[1] << 8 | k[2];
    if (vl > klen - 3)
        return -1;
    *vhost = k + 3;
    *vlen = vl;
    *name = k + 3 + vl;
    *nlen = klen - 3 - vl;
    return 0;
}
