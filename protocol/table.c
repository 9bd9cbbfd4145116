/*
 * table.c - AMQP field tables and arrays with RabbitMQ's type letters
 * (spec README, "Field-table value types"). Tables stay as their encoded
 * bytes; iterators decode one value at a time, so reading allocates nothing.
 * Nested tables and arrays are returned as slices and walked on demand.
 */
#include "table.h"

/*
 * Read the value of type letter type from c into *f. Containers (F, A) and
 * strings (S, x) come back as slices into the input; their contents are
 * not looked at here. false on an unknown letter or too few bytes.
 */
static bool
get_value(struct wrn_cursor *c, uint8_t type, struct wrn_field *f)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    memset(f, 0, sizeof(*f));
    f->type = type;
    switch (type) {
    case 't':
        if (!wrn_get_u8(c, &u8))
            return false;
        f->v.b = u8 != 0;
        return true;
    case 'b':
        if (!wrn_get_u8(c, &u8))
            return false;
        f->v.i = (int8_t)u8;
        return true;
    case 'B':
        if (!wrn_get_u8(c, &u8))
            return false;
        f->v.u = u8;
        return true;
    case 's': /* signed 16-bit in RabbitMQ, not the spec's short string */
        if (!wrn_get_u16(c, &u16))
            return false;
        f->v.i = (int16_t)u16;
        return true;
    case 'u':
        if (!wrn_get_u16(c, &u16))
            return false;
        f->v.u = u16;
        return true;
    case 'I':
        if (!wrn_get_u32(c, &u32))
            return false;
        f->v.i = (int32_t)u32;
        return true;
    case 'i':
        if (!wrn_get_u32(c, &u32))
            return false;
        f->v.u = u32;
        return true;
    case 'l':
    case 'L': /* rabbitmq-c writes u64 as L; RabbitMQ reads it as signed */
        if (!wrn_get_u64(c, &u64))
            return false;
        f->v.i = (int64_t)u64;
        return true;
    case 'T':
        if (!wrn_get_u64(c, &u64))
            return false;
        f->v.u = u64;
        return true;
    case 'f':
        if (!wrn_get_u32(c, &u32))
            return false;
        memcpy(&f->v.f, &u32, sizeof(f->v.f));
        return true;
    case 'd':
        if (!wrn_get_u64(c, &u64))
            return false;
        memcpy(&f->v.d, &u64, sizeof(f->v.d));
        return true;
    case 'D':
        return wrn_get_u8(c, &f->v.dec.scale) && wrn_get_u32(c, &f->v.dec.value);
    case 'S':
    case 'x':
    case 'F':
    case 'A': /* errata 4: an array's length counts bytes, not elements */
        return wrn_get_longstr(c, &f->v.s);
    case 'V':
        return true;
    default:
        return false;
    }
}

/*
 * An empty slice may be {NULL, 0} (a zeroed struct), and NULL + 0 is
 * undefined in C, so an empty cursor points at a static byte instead.
 */
static void
cursor_init(struct wrn_cursor *c, struct wrn_slice s)
{
    static const uint8_t empty[1];

    wrn_cursor_init(c, s.len > 0 ? s.p : empty, s.len);
}

void
wrn_table_iter_init(struct wrn_table_iter *it, struct wrn_slice table)
{
    cursor_init(&it->c, table);
}

void
wrn_array_iter_init(struct wrn_table_iter *it, struct wrn_slice array)
{
    cursor_init(&it->c, array);
}

/*
 * Next key and value. On a malformed entry the iterator stays where it
 * was, so calling again reports the same error instead of running on.
 */
int
wrn_table_next(struct wrn_table_iter *it, struct wrn_slice *key, struct wrn_field *val)
{
    struct wrn_cursor c = it->c;
    uint8_t type;

    if (wrn_cursor_left(&c) == 0)
        return 0;
    if (!wrn_get_shortstr(&c, key) || !wrn_get_u8(&c, &type) || !get_value(&c, type, val))
        return WRN_EPROTO;
    it->c = c;
    return 1;
}

int
wrn_array_next(struct wrn_table_iter *it, struct wrn_field *val)
{
    struct wrn_cursor c = it->c;
    uint8_t type;

    if (wrn_cursor_left(&c) == 0)
        return 0;
    if (!wrn_get_u8(&c, &type) || !get_value(&c, type, val))
        return WRN_EPROTO;
    it->c = c;
    return 1;
}

static int validate_table(struct wrn_slice table, int depth);
static int validate_array(struct wrn_slice array, int depth);

/* Descend into a nested container; anything else is already checked. */
static int
validate_nested(const struct wrn_field *f, int depth)
{
    if (f->type == 'F')
        return validate_table(f->v.s, depth + 1);
    if (f->type == 'A')
        return validate_array(f->v.s, depth + 1);
    return WRN_OK;
}

/*
 * The top-level table is depth 1. The bound keeps the recursion (and a
 * hostile frame's cost) small: a "depth bomb" of nested F values is refused.
 */
static int
validate_table(struct wrn_slice table, int depth)
{
    struct wrn_table_iter it;
    struct wrn_slice key;
    struct wrn_field f;
    int rc;

    if (depth > WRN_TABLE_MAX_DEPTH)
        return WRN_EPROTO;
    wrn_table_iter_init(&it, table);
    while ((rc = wrn_table_next(&it, &key, &f)) == 1) {
        if (validate_nested(&f, depth) != WRN_OK)
            return WRN_EPROTO;
    }
    return rc == 0 ? WRN_OK : WRN_EPROTO;
}

static int
validate_array(struct wrn_slice array, int depth)
{
    struct wrn_table_iter it;
    struct wrn_field f;
    int rc;

    if (depth > WRN_TABLE_MAX_DEPTH)
        return WRN_EPROTO;
    wrn_array_iter_init(&it, array);
    while ((rc = wrn_array_next(&it, &f)) == 1) {
        if (validate_nested(&f, depth) != WRN_OK)
            return WRN_EPROTO;
    }
    return rc == 0 ? WRN_OK : WRN_EPROTO;
}

int
wrn_table_validate(struct wrn_slice table)
{
    return validate_table(table, 1);
}

int
wrn_array_validate(struct wrn_slice array)
{
    return validate_array(array, 1);
}

/*
 * First entry named key. A table that is malformed before the key is
 * reached gives false; entries after a match are not looked at.
 */
bool
wrn_table_get(struct wrn_slice table, const char *key, struct wrn_field *val)
{
    struct wrn_table_iter it;
    struct wrn_slice k;

    wrn_table_iter_init(&it, table);
    while (wrn_table_next(&it, &k, val) == 1) {
        if (wrn_slice_eq_str(k, key))
            return true;
    }
    return false;
}

bool
wrn_field_as_int(const struct wrn_field *f, int64_t *out)
{
    switch (f->type) {
    case 'b':
    case 's':
    case 'I':
    case 'l':
    case 'L':
        *out = f->v.i;
        return true;
    case 'B':
    case 'u':
    case 'i':
    case 'T':
        *out = (int64_t)f->v.u;
        return true;
    default:
        return false;
    }
}

bool
wrn_field_as_str(const struct wrn_field *f, struct wrn_slice *out)
{
    if (f->type != 'S' && f->type != 'x')
        return false;
    *out = f->v.s;
    return true;
}

/*
 * Next entry as key plus raw value bytes (type letter included), for
 * comparing values without caring what they mean.
 */
static int
next_raw(struct wrn_table_iter *it, struct wrn_slice *key, struct wrn_slice *raw)
{
    struct wrn_field f;
    const uint8_t *start;
    int rc;

    rc = wrn_table_next(it, key, &f);
    if (rc != 1)
        return rc;
    start = key->p + key->len; /* the type letter follows the key */
    raw->p = start;
    raw->len = (uint32_t)(it->c.p - start);
    return 1;
}

/*
 * Is every entry of a also in b, with the same letter and value bytes? A
 * key that appears twice is matched against each of its values in b, so
 * every table is equivalent to itself.
 */
static bool
table_contains(struct wrn_slice a, struct wrn_slice b)
{
    struct wrn_table_iter ia, ib;
    struct wrn_slice ka, kb, ra, rb;
    bool found;

    wrn_table_iter_init(&ia, a);
    while (next_raw(&ia, &ka, &ra) == 1) {
        found = false;
        wrn_table_iter_init(&ib, b);
        while (!found && next_raw(&ib, &kb, &rb) == 1)
            found = wrn_slice_eq(ka, kb) && wrn_slice_eq(ra, rb);
        if (!found)
            return false;
    }
    return true;
}

/*
 * Set equality, checked both ways. Tables are small (declare arguments),
 * so the quadratic scan costs less than sorting would.
 */
bool
wrn_table_equivalent(struct wrn_slice a, struct wrn_slice b)
{
    if (wrn_table_validate(a) != WRN_OK || wrn_table_validate(b) != WRN_OK)
        return false;
    return table_contains(a, b) && table_contains(b, a);
}

size_t
wrn_table_begin(struct wrn_wbuf *w)
{
    size_t at = w->len;

    wrn_put_u32(w, 0);
    return at;
}

/* Patch the length placeholder at begin with the bytes written since. */
void
wrn_table_end(struct wrn_wbuf *w, size_t begin)
{
    if (w->overflow || w->len < begin + 4)
        return;
    wrn_patch_u32(w, begin, (uint32_t)(w->len - begin - 4));
}

void
wrn_table_put_key(struct wrn_wbuf *w, const char *key, uint8_t type)
{
    wrn_put_shortstr(w, wrn_slice_str(key));
    wrn_put_u8(w, type);
}

void
wrn_table_put_bool(struct wrn_wbuf *w, const char *key, bool v)
{
    wrn_table_put_key(w, key, 't');
    wrn_put_u8(w, v ? 1 : 0);
}

void
wrn_table_put_longstr(struct wrn_wbuf *w, const char *key, struct wrn_slice v)
{
    wrn_table_put_key(w, key, 'S');
    wrn_put_longstr(w, v);
}

void
wrn_table_put_long(struct wrn_wbuf *w, const char *key, int64_t v)
{
    wrn_table_put_key(w, key, 'l');
    wrn_put_u64(w, (uint64_t)v);
}

void
wrn_table_put_timestamp(struct wrn_wbuf *w, const char *key, uint64_t v)
{
    wrn_table_put_key(w, key, 'T');
    wrn_put_u64(w, v);
}

void
wrn_table_put_field(struct wrn_wbuf *w, struct wrn_slice key, const struct wrn_field *f)
{
    wrn_put_shortstr(w, key);
    wrn_field_put(w, f);
}

/*
 * Write f's type letter and value. F and A values are written as their
 * slice, so a decoded container is copied byte for byte. An unknown letter
 * marks w as overflowed: there is no correct way to write it.
 */
void
wrn_field_put(struct wrn_wbuf *w, const struct wrn_field *f)
{
    uint32_t u32;
    uint64_t u64;

    wrn_put_u8(w, f->type);
    switch (f->type) {
    case 't':
        wrn_put_u8(w, f->v.b ? 1 : 0);
        break;
    case 'b':
        wrn_put_u8(w, (uint8_t)f->v.i);
        break;
    case 'B':
        wrn_put_u8(w, (uint8_t)f->v.u);
        break;
    case 's':
        wrn_put_u16(w, (uint16_t)f->v.i);
        break;
    case 'u':
        wrn_put_u16(w, (uint16_t)f->v.u);
        break;
    case 'I':
        wrn_put_u32(w, (uint32_t)f->v.i);
        break;
    case 'i':
        wrn_put_u32(w, (uint32_t)f->v.u);
        break;
    case 'l':
    case 'L':
        wrn_put_u64(w, (uint64_t)f->v.i);
        break;
    case 'T':
        wrn_put_u64(w, f->v.u);
        break;
    case 'f':
        memcpy(&u32, &f->v.f, sizeof(u32));
        wrn_put_u32(w, u32);
        break;
    case 'd':
        memcpy(&u64, &f->v.d, sizeof(u64));
        wrn_put_u64(w, u64);
        break;
    case 'D':
        wrn_put_u8(w, f->v.dec.scale);
        wrn_put_u32(w, f->v.dec.value);
        break;
    case 'S':
    case 'x':
    case 'F':
    case 'A':
        wrn_put_longstr(w, f->v.s);
        break;
    case 'V':
        break;
    default:
        w->overflow = true;
        break;
    }
}
