/*
 * table.h - AMQP field tables and arrays with RabbitMQ's type letters
 * (../shared/spec/README.md). A table is kept as its encoded bytes (without
 * the 4-byte length prefix) and read with an iterator, so nothing is
 * allocated to decode one. A builder writes tables into a wrn_wbuf.
 */
#ifndef WRN_TABLE_H
#define WRN_TABLE_H

#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nesting deeper than this is refused as malformed. */
#define WRN_TABLE_MAX_DEPTH 32

/* One decoded value. type is the RabbitMQ letter. */
struct wrn_field {
    uint8_t type;
    union {
        bool b;         /* t */
        int64_t i;      /* b s I l, and L (read as signed, as RabbitMQ does) */
        uint64_t u;     /* B u i, T (seconds) */
        float f;        /* f */
        double d;       /* d */
        struct {
            uint8_t scale;
            uint32_t value;
        } dec;              /* D */
        struct wrn_slice s; /* S x: the bytes; F A: the encoded contents */
    } v;
};

/*
 * Check that table (contents without length prefix) is well formed: every
 * key a shortstr, every type letter known, every length inside its container,
 * nesting at most WRN_TABLE_MAX_DEPTH. Returns WRN_OK or WRN_EPROTO.
 */
int wrn_table_validate(struct wrn_slice table);
int wrn_array_validate(struct wrn_slice array);

struct wrn_table_iter {
    struct wrn_cursor c;
};

void wrn_table_iter_init(struct wrn_table_iter *it, struct wrn_slice table);
/* 1 with *key and *val set, 0 at the end, WRN_EPROTO if malformed. */
int wrn_table_next(struct wrn_table_iter *it, struct wrn_slice *key, struct wrn_field *val);

void wrn_array_iter_init(struct wrn_table_iter *it, struct wrn_slice array);
int wrn_array_next(struct wrn_table_iter *it, struct wrn_field *val);

/* Find key in table (first match). false if absent or table malformed. */
bool wrn_table_get(struct wrn_slice table, const char *key, struct wrn_field *val);

/* Any integer letter (b B s u I i l L T) as int64; false for other types. */
bool wrn_field_as_int(const struct wrn_field *f, int64_t *out);
/* S or x as a slice; false for other types. */
bool wrn_field_as_str(const struct wrn_field *f, struct wrn_slice *out);

/*
 * Tables equal as sets: same keys with the same type letters and the same
 * encoded values, in any order (RabbitMQ compares declare arguments this way).
 */
bool wrn_table_equivalent(struct wrn_slice a, struct wrn_slice b);

/*
 * Builder. wrn_table_begin writes a 4-byte length placeholder and returns its
 * offset; wrn_table_end patches it. Nest by calling wrn_table_put_key with
 * type 'F' or 'A', then begin/end.
 */
size_t wrn_table_begin(struct wrn_wbuf *w);
void wrn_table_end(struct wrn_wbuf *w, size_t begin);
void wrn_table_put_key(struct wrn_wbuf *w, const char *key, uint8_t type);
void wrn_table_put_bool(struct wrn_wbuf *w, const char *key, bool v);
void wrn_table_put_longstr(struct wrn_wbuf *w, const char *key, struct wrn_slice v);
void wrn_table_put_long(struct wrn_wbuf *w, const char *key, int64_t v);      /* 'l' */
void wrn_table_put_timestamp(struct wrn_wbuf *w, const char *key, uint64_t v); /* 'T' */
/* Copy one decoded value (with its type letter) into w: for arrays, and tables. */
void wrn_field_put(struct wrn_wbuf *w, const struct wrn_field *f);
/* A table entry: key, then the value as wrn_field_put writes it (copying tables). */
void wrn_table_put_field(struct wrn_wbuf *w, struct wrn_slice key, const struct wrn_field *f);

#ifdef __cplusplus
}
#endif

#endif /* WRN_TABLE_H */
