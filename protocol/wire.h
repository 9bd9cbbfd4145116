/*
 * wire.h - the primitives every AMQP codec in Warren is built from: byte
 * slices, return codes, a bounds-checked read cursor and a write buffer that
 * remembers overflow instead of writing past its end. All integers on the
 * wire are big-endian. No I/O here: bytes in, values out, and back.
 */
#ifndef WRN_WIRE_H
#define WRN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes shared by every layer: 0 is success, negatives are failures. */
#define WRN_OK 0
#define WRN_AGAIN (-1)    /* need more bytes */
#define WRN_EPROTO (-2)   /* malformed input */
#define WRN_ETOOBIG (-3)  /* a length is over its limit */
#define WRN_ENOSPC (-4)   /* output buffer too small */
#define WRN_EAMQP (-5)    /* an AMQP exception was raised (broker) */
#define WRN_EUNKNOWN (-6) /* unknown class or method id */

/* A borrowed run of bytes: valid only as long as what it points into. */
struct wrn_slice {
    const uint8_t *p;
    uint32_t len;
};

#define WRN_SLICE_ARG(s) (int)(s).len, (const char *)(s).p

static inline struct wrn_slice
wrn_slice_str(const char *s)
{
    struct wrn_slice sl = {(const uint8_t *)s, (uint32_t)strlen(s)};
    return sl;
}

static inline bool
wrn_slice_eq(struct wrn_slice a, struct wrn_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool
wrn_slice_eq_str(struct wrn_slice a, const char *s)
{
    return wrn_slice_eq(a, wrn_slice_str(s));
}

/* Read cursor over [p, end). Every get checks the bounds first. */
struct wrn_cursor {
    const uint8_t *p;
    const uint8_t *end;
};

static inline void
wrn_cursor_init(struct wrn_cursor *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->end = len ? p + len : p; /* NULL + 0 is undefined in C */
}

static inline size_t
wrn_cursor_left(const struct wrn_cursor *c)
{
    return (size_t)(c->end - c->p);
}

static inline bool
wrn_get_u8(struct wrn_cursor *c, uint8_t *v)
{
    if (wrn_cursor_left(c) < 1)
        return false;
    *v = c->p[0];
    c->p += 1;
    return true;
}

static inline bool
wrn_get_u16(struct wrn_cursor *c, uint16_t *v)
{
    if (wrn_cursor_left(c) < 2)
        return false;
    *v = (uint16_t)((uint16_t)c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return true;
}

static inline bool
wrn_get_u32(struct wrn_cursor *c, uint32_t *v)
{
    if (wrn_cursor_left(c) < 4)
        return false;
    *v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    return true;
}

static inline bool
wrn_get_u64(struct wrn_cursor *c, uint64_t *v)
{
    uint32_t hi = 0, lo = 0;
    if (wrn_cursor_left(c) < 8)
        return false;
    wrn_get_u32(c, &hi);
    wrn_get_u32(c, &lo);
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

/* A slice of n bytes pointing into the input; no copy. */
static inline bool
wrn_get_bytes(struct wrn_cursor *c, size_t n, struct wrn_slice *s)
{
    if (wrn_cursor_left(c) < n)
        return false;
    s->p = c->p;
    s->len = (uint32_t)n;
    c->p += n;
    return true;
}

static inline bool
wrn_get_shortstr(struct wrn_cursor *c, struct wrn_slice *s)
{
    uint8_t n;
    return wrn_get_u8(c, &n) && wrn_get_bytes(c, n, s);
}

static inline bool
wrn_get_longstr(struct wrn_cursor *c, struct wrn_slice *s)
{
    uint32_t n;
    return wrn_get_u32(c, &n) && wrn_get_bytes(c, n, s);
}

/*
 * Write buffer over caller memory. A put that does not fit sets overflow and
 * writes nothing more; callers check overflow once at the end.
 */
struct wrn_wbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool overflow;
};

static inline void
wrn_wbuf_init(struct wrn_wbuf *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->len = 0;
    w->cap = cap;
    w->overflow = false;
}

static inline bool
wrn_wbuf_room(struct wrn_wbuf *w, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return false;
    }
    return true;
}

static inline void
wrn_put_u8(struct wrn_wbuf *w, uint8_t v)
{
    if (wrn_wbuf_room(w, 1))
        w->p[w->len++] = v;
}

static inline void
wrn_put_u16(struct wrn_wbuf *w, uint16_t v)
{
    if (!wrn_wbuf_room(w, 2))
        return;
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}

static inline void
wrn_put_u32(struct wrn_wbuf *w, uint32_t v)
{
    if (!wrn_wbuf_room(w, 4))
        return;
    w->p[w->len++] = (uint8_t)(v >> 24);
    w->p[w->len++] = (uint8_t)(v >> 16);
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}

static inline void
wrn_put_u64(struct wrn_wbuf *w, uint64_t v)
{
    wrn_put_u32(w, (uint32_t)(v >> 32));
    wrn_put_u32(w, (uint32_t)v);
}

/* Patch a u32 written earlier at offset at (for lengths known only later). */
static inline void
wrn_patch_u32(struct wrn_wbuf *w, size_t at, uint32_t v)
{
    if (w->overflow || at + 4 > w->len)
        return;
    w->p[at] = (uint8_t)(v >> 24);
    w->p[at + 1] = (uint8_t)(v >> 16);
    w->p[at + 2] = (uint8_t)(v >> 8);
    w->p[at + 3] = (uint8_t)v;
}

static inline void
wrn_put_bytes(struct wrn_wbuf *w, const void *p, size_t n)
{
    if (n == 0 || !wrn_wbuf_room(w, n))
        return;
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

/* A shortstr longer than 255 bytes is cut to 255 (RabbitMQ does the same for reply texts). */
static inline void
wrn_put_shortstr(struct wrn_wbuf *w, struct wrn_slice s)
{
    uint32_t n = s.len > 255 ? 255 : s.len;
    wrn_put_u8(w, (uint8_t)n);
    wrn_put_bytes(w, s.p, n);
}

static inline void
wrn_put_longstr(struct wrn_wbuf *w, struct wrn_slice s)
{
    wrn_put_u32(w, s.len);
    wrn_put_bytes(w, s.p, s.len);
}

#ifdef __cplusplus
}
#endif

#endif /* WRN_WIRE_H */
