/*
 * fuzz_table.c - libFuzzer target for field tables and arrays: validate,
 * walk every nested value, look keys up, compare, and re-encode. Anything
 * that validates must iterate without error and re-encode to the same size.
 */
#include <stdlib.h>

#include "table.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_array(struct wrn_slice a);

static void
walk_value(const struct wrn_field *f)
{
    int64_t i;
    struct wrn_slice s;

    (void)wrn_field_as_int(f, &i);
    (void)wrn_field_as_str(f, &s);
    if (f->type == 'F') {
        struct wrn_table_iter it;
        struct wrn_slice key;
        struct wrn_field v;
        int rc;

        wrn_table_iter_init(&it, f->v.s);
        while ((rc = wrn_table_next(&it, &key, &v)) == 1)
            walk_value(&v);
        CHECK(rc == 0);
    } else if (f->type == 'A') {
        walk_array(f->v.s);
    }
}

static void
walk_array(struct wrn_slice a)
{
    struct wrn_table_iter it;
    struct wrn_field v;
    int rc;

    wrn_array_iter_init(&it, a);
    while ((rc = wrn_array_next(&it, &v)) == 1)
        walk_value(&v);
    CHECK(rc == 0);
}

/* Re-encode table t entry by entry into out; returns the length. */
static size_t
reencode(struct wrn_slice t, uint8_t *out, size_t cap)
{
    struct wrn_wbuf w;
    struct wrn_table_iter it;
    struct wrn_slice key;
    struct wrn_field v;

    wrn_wbuf_init(&w, out, cap);
    wrn_table_iter_init(&it, t);
    while (wrn_table_next(&it, &key, &v) == 1)
        wrn_table_put_field(&w, key, &v);
    CHECK(!w.overflow);
    return w.len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wrn_slice t = {data, (uint32_t)size};
    struct wrn_slice half = {data, (uint32_t)(size / 2)};
    struct wrn_slice rest = {data + size / 2, (uint32_t)(size - size / 2)};
    struct wrn_field f;

    if (size > UINT32_MAX)
        return 0;
    if (wrn_table_validate(t) == WRN_OK) {
        struct wrn_table_iter it;
        struct wrn_slice key;
        uint8_t *a = malloc(size + 1), *b = malloc(size + 1);
        size_t na, nb;
        int rc;

        CHECK(a != NULL && b != NULL);
        f.type = 'F';
        f.v.s = t;
        walk_value(&f);
        CHECK(wrn_table_equivalent(t, t));
        wrn_table_iter_init(&it, t);
        while ((rc = wrn_table_next(&it, &key, &f)) == 1) {
            char name[256];
            struct wrn_field g;

            /* Keys with NUL bytes cannot be asked for by C string. */
            if (memchr(key.p, 0, key.len) != NULL)
                continue;
            memcpy(name, key.p, key.len);
            name[key.len] = '\0';
            CHECK(wrn_table_get(t, name, &g));
        }
        CHECK(rc == 0);
        /* Same size on re-encoding; booleans normalise, so compare passes 1 and 2. */
        na = reencode(t, a, size + 1);
        CHECK(na == size);
        CHECK(wrn_table_validate((struct wrn_slice){a, (uint32_t)na}) == WRN_OK);
        nb = reencode((struct wrn_slice){a, (uint32_t)na}, b, size + 1);
        CHECK(nb == na && memcmp(a, b, na) == 0);
        free(a);
        free(b);
    }
    if (wrn_array_validate(t) == WRN_OK)
        walk_array(t);
    (void)wrn_table_equivalent(half, rest);
    (void)wrn_table_get(t, "x-match", &f);
    return 0;
}
