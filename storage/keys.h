/*
 * keys.h - the binary key layout of Warren's store. Every key starts with a
 * one-byte type tag; numeric ids and sequences follow big-endian, so byte
 * order is numeric order and one queue's entries form one contiguous,
 * ordered range. See keys.c for the layout of each kind of key.
 */
#ifndef WRN_KEYS_H
#define WRN_KEYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WRN_KEY_VHOST 'V'      /* V name */
#define WRN_KEY_USER 'U'       /* U name */
#define WRN_KEY_PERMISSION 'P' /* P vhost-len16 vhost user */
#define WRN_KEY_TOPIC_PERMISSION 'T' /* T vhost-len16 vhost user-len8 user exchange */
#define WRN_KEY_EXCHANGE 'X'   /* X vhost-len16 vhost name */
#define WRN_KEY_QUEUE 'Q'      /* Q vhost-len16 vhost name */
#define WRN_KEY_BINDING 'B'    /* B vhost-len16 vhost name (composed by the caller) */
#define WRN_KEY_MESSAGE 'M'    /* M msg-id64: a message body, stored once */
#define WRN_KEY_PAGE 'N'       /* N page-id64: a transient body paged out; dropped at start */
#define WRN_KEY_ENTRY 'E'      /* E queue-id64 seq64: one queue entry */
#define WRN_KEY_META 'Z'       /* Z name: store format version and the like */

#define WRN_KEY_ENTRY_LEN 17
#define WRN_KEY_MESSAGE_LEN 9
#define WRN_KEY_QUEUE_RANGE_LEN 9
/* Longest vhost name a vhost-scoped key can carry (16-bit length prefix). */
#define WRN_KEY_VHOST_MAX 0xFFFF
/* Bytes needed for wrn_key_scoped() / wrn_key_named(). */
#define WRN_KEY_SCOPED_LEN(vlen, nlen) (3 + (size_t)(vlen) + (size_t)(nlen))
#define WRN_KEY_NAMED_LEN(nlen) (1 + (size_t)(nlen))

/* E queue_id seq, 17 bytes. */
void wrn_key_entry(uint8_t out[WRN_KEY_ENTRY_LEN], uint64_t queue_id, uint64_t seq);
/* M msg_id, 9 bytes. */
void wrn_key_message(uint8_t out[WRN_KEY_MESSAGE_LEN], uint64_t msg_id);
/* N page_id, 9 bytes (WRN_KEY_MESSAGE_LEN, like a message key). */
void wrn_key_page(uint8_t out[WRN_KEY_MESSAGE_LEN], uint64_t page_id);
/*
 * [lo, hi) holding every entry of queue_id and nothing else: lo is E queue_id,
 * hi the next 9-byte string after it (for the last id the carry reaches the
 * tag, which still bounds the range correctly).
 */
void wrn_key_queue_range(uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], uint8_t hi[WRN_KEY_QUEUE_RANGE_LEN],
                         uint64_t queue_id);
/* [lo, hi) holding every key with this tag: lo = tag, hi = tag + 1. */
void wrn_key_tag_range(uint8_t lo[1], uint8_t hi[1], uint8_t tag);

/*
 * tag name, for keys not scoped by a vhost (V, U, Z). Writes into out if
 * WRN_KEY_NAMED_LEN(nlen) <= cap and returns that length; returns 0 if it
 * does not fit.
 */
size_t wrn_key_named(uint8_t *out, size_t cap, uint8_t tag, const void *name, size_t nlen);
/*
 * tag, the vhost name's length as a big-endian u16, the vhost name, then the
 * name (X, Q, B, P). The length prefix makes the encoding unambiguous for any
 * bytes, 0x00 included, and keeps one vhost's keys of one tag contiguous.
 * Returns the length written, 0 if it does not fit in cap or vlen is over
 * WRN_KEY_VHOST_MAX.
 */
size_t wrn_key_scoped(uint8_t *out, size_t cap, uint8_t tag, const void *vhost, size_t vlen,
                      const void *name, size_t nlen);
/*
 * [lo, hi) holding every tag key of one vhost. Both are written into buffers
 * of cap bytes (WRN_KEY_SCOPED_LEN(vlen, 0) is always enough); *lolen and
 * *hilen receive their lengths. Returns 0, or -1 if they do not fit.
 */
int wrn_key_scoped_range(uint8_t *lo, size_t *lolen, uint8_t *hi, size_t *hilen, size_t cap,
                         uint8_t tag, const void *vhost, size_t vlen);

/* Decoders: 0 when key has the expected tag and shape, -1 otherwise. */
int wrn_key_entry_decode(const void *key, size_t klen, uint64_t *queue_id, uint64_t *seq);
int wrn_key_message_decode(const void *key, size_t klen, uint64_t *msg_id);
int wrn_key_page_decode(const void *key, size_t klen, uint64_t *page_id);
/* name points into key. */
int wrn_key_named_decode(const void *key, size_t klen, uint8_t tag, const uint8_t **name,
                         size_t *nlen);
/* vhost and name point into key. */
int wrn_key_scoped_decode(const void *key, size_t klen, uint8_t tag, const uint8_t **vhost,
                          size_t *vlen, const uint8_t **name, size_t *nlen);

#ifdef __cplusplus
}
#endif

#endif /* WRN_KEYS_H */
