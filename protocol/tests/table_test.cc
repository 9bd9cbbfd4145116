/*
 * table_test.cc - field tables and arrays: every RabbitMQ type letter, the
 * bytes rabbitmq-c writes (s, l, L, x included), nesting, malformed input
 * and order-insensitive equivalence.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "table.h"

namespace
{

wrn_slice
S(const std::vector<uint8_t> &v)
{
    struct wrn_slice s = {v.data(), static_cast<uint32_t>(v.size())};
    return s;
}

/* The one entry of a single-entry table; fails the test otherwise. */
wrn_field
Only(const std::vector<uint8_t> &table, const char *key)
{
    struct wrn_table_iter it;
    struct wrn_slice k;
    struct wrn_field f;

    memset(&f, 0, sizeof(f));
    EXPECT_EQ(wrn_table_validate(S(table)), WRN_OK);
    wrn_table_iter_init(&it, S(table));
    EXPECT_EQ(wrn_table_next(&it, &k, &f), 1);
    EXPECT_TRUE(wrn_slice_eq_str(k, key));
    struct wrn_field end;
    EXPECT_EQ(wrn_table_next(&it, &k, &end), 0);
    return f;
}

/* Re-encode a table entry by entry with the builder. */
std::vector<uint8_t>
Reencode(const std::vector<uint8_t> &table)
{
    std::vector<uint8_t> out(table.size() + 64);
    struct wrn_wbuf w;
    struct wrn_table_iter it;
    struct wrn_slice k;
    struct wrn_field f;

    wrn_wbuf_init(&w, out.data(), out.size());
    wrn_table_iter_init(&it, S(table));
    while (wrn_table_next(&it, &k, &f) == 1)
        wrn_table_put_field(&w, k, &f);
    EXPECT_FALSE(w.overflow);
    out.resize(w.len);
    return out;
}

/*
 * Single-entry tables (contents, no length prefix) keyed by their own
 * letter, written by hand from the spec README's type table. rabbitmq-c
 * 0.11's amqp_encode_table writes exactly these bytes for the same values.
 */
const std::vector<uint8_t> kBool = {0x01, 't', 't', 0x01};
const std::vector<uint8_t> kI8 = {0x01, 'b', 'b', 0xFE};                    /* -2 */
const std::vector<uint8_t> kU8 = {0x01, 'B', 'B', 0xC8};                    /* 200 */
const std::vector<uint8_t> kI16 = {0x01, 's', 's', 0xFE, 0xD4};             /* -300 */
const std::vector<uint8_t> kU16 = {0x01, 'u', 'u', 0xFD, 0xE8};             /* 65000 */
const std::vector<uint8_t> kI32 = {0x01, 'I', 'I', 0xFF, 0xFE, 0xEE, 0x90}; /* -70000 */
const std::vector<uint8_t> kU32 = {0x01, 'i', 'i', 0xEE, 0x6B, 0x28, 0x00}; /* 4e9 */
const std::vector<uint8_t> kI64 = {0x01, 'l',  'l',  0xFF, 0xFF, 0xFF,
                                   0xFE, 0xD5, 0xFA, 0x0E, 0x00}; /* -5e9 */
const std::vector<uint8_t> kU64 = {0x01, 'L',  'L',  0xF9, 0xCC, 0xD8,
                                   0xA1, 0xC5, 0x08, 0x00, 0x00};           /* 1.8e19 */
const std::vector<uint8_t> kF32 = {0x01, 'f', 'f', 0x3F, 0xC0, 0x00, 0x00}; /* 1.5 */
const std::vector<uint8_t> kF64 = {0x01, 'd',  'd',  0xC0, 0x02, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00}; /* -2.25 */
const std::vector<uint8_t> kTime = {0x01, 'T',  'T',  0x00, 0x00, 0x00,
                                    0x00, 0x65, 0x53, 0xF1, 0x00}; /* 1700000000 */
const std::vector<uint8_t> kUtf8 = {0x01, 'S', 'S', 0x00, 0x00, 0x00, 0x02, 'h', 'i'};
const std::vector<uint8_t> kBytes = {0x01, 'x', 'x', 0x00, 0x00, 0x00, 0x02, 0x01, 0x02};
const std::vector<uint8_t> kDec = {0x01, 'D', 'D', 0x02, 0x00, 0x00, 0x30, 0x39}; /* 123.45 */
const std::vector<uint8_t> kVoid = {0x01, 'V', 'V'};
/* F: {k: s 1} */
const std::vector<uint8_t> kTable = {0x01, 'F',  'F', 0x00, 0x00, 0x00,
                                     0x05, 0x01, 'k', 's',  0x00, 0x01};
/* A: [l 7, S "a"]; the length counts bytes (errata 4) */
const std::vector<uint8_t> kArray = {0x01, 'A',  'A',  0x00, 0x00, 0x00, 0x0F, 'l',
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
                                     'S',  0x00, 0x00, 0x00, 0x01, 'a'};

} // namespace

TEST(Table, BooleanAndSmallIntegers)
{
    struct wrn_field f;
    int64_t i;

    f = Only(kBool, "t");
    EXPECT_EQ(f.type, 't');
    EXPECT_TRUE(f.v.b);
    EXPECT_FALSE(wrn_field_as_int(&f, &i));

    f = Only(kI8, "b");
    EXPECT_EQ(f.v.i, -2);
    f = Only(kU8, "B");
    EXPECT_EQ(f.v.u, 200u);
    /* s is a signed 16-bit integer in RabbitMQ, not the spec's short string. */
    f = Only(kI16, "s");
    EXPECT_EQ(f.type, 's');
    EXPECT_EQ(f.v.i, -300);
    ASSERT_TRUE(wrn_field_as_int(&f, &i));
    EXPECT_EQ(i, -300);
    f = Only(kU16, "u");
    EXPECT_EQ(f.v.u, 65000u);
}

TEST(Table, WideIntegers)
{
    struct wrn_field f;
    int64_t i;

    f = Only(kI32, "I");
    EXPECT_EQ(f.v.i, -70000);
    f = Only(kU32, "i");
    EXPECT_EQ(f.v.u, 4000000000u);
    ASSERT_TRUE(wrn_field_as_int(&f, &i));
    EXPECT_EQ(i, 4000000000);
    /* l is signed 64-bit (the spec says unsigned). */
    f = Only(kI64, "l");
    EXPECT_EQ(f.v.i, -5000000000);
    /* L: rabbitmq-c's u64; read as signed, as RabbitMQ does, bits intact. */
    f = Only(kU64, "L");
    EXPECT_EQ(f.type, 'L');
    EXPECT_EQ(static_cast<uint64_t>(f.v.i), 18000000000000000000ull);
    EXPECT_LT(f.v.i, 0);
    f = Only(kTime, "T");
    EXPECT_EQ(f.v.u, 1700000000u);
    ASSERT_TRUE(wrn_field_as_int(&f, &i));
    EXPECT_EQ(i, 1700000000);
}

TEST(Table, FloatsAndDecimal)
{
    struct wrn_field f;
    int64_t i;

    f = Only(kF32, "f");
    EXPECT_EQ(f.v.f, 1.5f);
    EXPECT_FALSE(wrn_field_as_int(&f, &i));
    f = Only(kF64, "d");
    EXPECT_EQ(f.v.d, -2.25);
    f = Only(kDec, "D");
    EXPECT_EQ(f.v.dec.scale, 2);
    EXPECT_EQ(f.v.dec.value, 12345u);
}

TEST(Table, StringsBytesAndVoid)
{
    struct wrn_field f;
    struct wrn_slice s;

    f = Only(kUtf8, "S");
    ASSERT_TRUE(wrn_field_as_str(&f, &s));
    EXPECT_TRUE(wrn_slice_eq_str(s, "hi"));
    EXPECT_EQ(s.p, kUtf8.data() + 7); /* points into the table, no copy */
    f = Only(kBytes, "x");
    ASSERT_TRUE(wrn_field_as_str(&f, &s));
    ASSERT_EQ(s.len, 2u);
    EXPECT_EQ(s.p[0], 0x01);
    EXPECT_EQ(s.p[1], 0x02);
    f = Only(kVoid, "V");
    EXPECT_EQ(f.type, 'V');
    EXPECT_FALSE(wrn_field_as_str(&f, &s));
}

TEST(Table, NestedTableAndArray)
{
    struct wrn_field f, g;
    struct wrn_table_iter it;
    struct wrn_slice s;

    f = Only(kTable, "F");
    ASSERT_EQ(f.type, 'F');
    ASSERT_TRUE(wrn_table_get(f.v.s, "k", &g));
    EXPECT_EQ(g.type, 's');
    EXPECT_EQ(g.v.i, 1);

    f = Only(kArray, "A");
    ASSERT_EQ(f.type, 'A');
    EXPECT_EQ(wrn_array_validate(f.v.s), WRN_OK);
    wrn_array_iter_init(&it, f.v.s);
    ASSERT_EQ(wrn_array_next(&it, &g), 1);
    EXPECT_EQ(g.type, 'l');
    EXPECT_EQ(g.v.i, 7);
    ASSERT_EQ(wrn_array_next(&it, &g), 1);
    ASSERT_TRUE(wrn_field_as_str(&g, &s));
    EXPECT_TRUE(wrn_slice_eq_str(s, "a"));
    EXPECT_EQ(wrn_array_next(&it, &g), 0);
}

TEST(Table, EveryLetterReencodesByteForByte)
{
    for (const std::vector<uint8_t> *t :
         {&kBool, &kI8, &kU8, &kI16, &kU16, &kI32, &kU32, &kI64, &kU64, &kF32, &kF64, &kTime,
          &kUtf8, &kBytes, &kDec, &kVoid, &kTable, &kArray})
        EXPECT_EQ(Reencode(*t), *t) << "letter " << static_cast<char>((*t)[1]);
}

TEST(Table, RoundTripOfExtremeValues)
{
    std::vector<uint8_t> buf(512);
    struct wrn_wbuf w;
    struct wrn_field in[] = {
        {'b', {}}, {'B', {}}, {'s', {}}, {'u', {}}, {'I', {}}, {'i', {}},
        {'l', {}}, {'L', {}}, {'T', {}}, {'f', {}}, {'d', {}}, {'D', {}},
    };
    in[0].v.i = INT8_MIN;
    in[1].v.u = UINT8_MAX;
    in[2].v.i = INT16_MIN;
    in[3].v.u = UINT16_MAX;
    in[4].v.i = INT32_MIN;
    in[5].v.u = UINT32_MAX;
    in[6].v.i = INT64_MIN;
    in[7].v.i = INT64_MAX;
    in[8].v.u = UINT64_MAX;
    in[9].v.f = -0.0f;
    in[10].v.d = INFINITY;
    in[11].v.dec.scale = 255;
    in[11].v.dec.value = UINT32_MAX;

    wrn_wbuf_init(&w, buf.data(), buf.size());
    for (size_t n = 0; n < sizeof(in) / sizeof(in[0]); n++) {
        std::string key = "k" + std::to_string(n);
        wrn_table_put_field(&w, wrn_slice_str(key.c_str()), &in[n]);
    }
    ASSERT_FALSE(w.overflow);
    buf.resize(w.len);
    ASSERT_EQ(wrn_table_validate(S(buf)), WRN_OK);

    struct wrn_table_iter it;
    struct wrn_slice k;
    struct wrn_field out;
    size_t n = 0;
    wrn_table_iter_init(&it, S(buf));
    while (wrn_table_next(&it, &k, &out) == 1) {
        ASSERT_LT(n, sizeof(in) / sizeof(in[0]));
        EXPECT_EQ(out.type, in[n].type);
        EXPECT_EQ(memcmp(&out.v, &in[n].v, sizeof(out.v.dec)), 0) << "field " << n;
        n++;
    }
    EXPECT_EQ(n, sizeof(in) / sizeof(in[0]));
    ASSERT_TRUE(wrn_table_get(S(buf), "k9", &out));
    EXPECT_TRUE(std::signbit(out.v.f));
}

TEST(Table, BuilderWritesLengthPrefixedTables)
{
    uint8_t buf[256];
    struct wrn_wbuf w;
    struct wrn_field f;
    const uint8_t expect[] = {
        0x00, 0x00, 0x00, 0x35,                                           /* outer length 53 */
        0x01, 'a',  't',  0x01,                                           /* a: t true */
        0x01, 'b',  'S',  0x00, 0x00, 0x00, 0x02, 'h',  'i',              /* b: S "hi" */
        0x01, 'c',  'l',  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFD, /* c: l -3 */
        0x01, 'd',  'T',  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A, /* d: T 42 */
        0x01, 'e',  'F',  0x00, 0x00, 0x00, 0x04,                         /* e: F, length 4 */
        0x01, 'f',  't',  0x00,                                           /*   f: t false */
        0x01, 'g',  'A',  0x00, 0x00, 0x00, 0x00,                         /* g: A [] */
    };

    wrn_wbuf_init(&w, buf, sizeof(buf));
    size_t outer = wrn_table_begin(&w);
    wrn_table_put_bool(&w, "a", true);
    wrn_table_put_longstr(&w, "b", wrn_slice_str("hi"));
    wrn_table_put_long(&w, "c", -3);
    wrn_table_put_timestamp(&w, "d", 42);
    wrn_table_put_key(&w, "e", 'F');
    size_t inner = wrn_table_begin(&w);
    wrn_table_put_bool(&w, "f", false);
    wrn_table_end(&w, inner);
    wrn_table_put_key(&w, "g", 'A');
    wrn_table_end(&w, wrn_table_begin(&w));
    wrn_table_end(&w, outer);
    ASSERT_FALSE(w.overflow);
    ASSERT_EQ(w.len, sizeof(expect));
    EXPECT_EQ(memcmp(buf, expect, sizeof(expect)), 0);

    struct wrn_slice table = {buf + 4, static_cast<uint32_t>(w.len - 4)};
    ASSERT_EQ(wrn_table_validate(table), WRN_OK);
    ASSERT_TRUE(wrn_table_get(table, "e", &f));
    struct wrn_field g;
    ASSERT_TRUE(wrn_table_get(f.v.s, "f", &g));
    EXPECT_FALSE(g.v.b);
    EXPECT_FALSE(wrn_table_get(table, "missing", &f));
}

TEST(Table, BuilderOverflowIsSticky)
{
    uint8_t buf[10];
    struct wrn_wbuf w;

    wrn_wbuf_init(&w, buf, sizeof(buf));
    size_t at = wrn_table_begin(&w);
    wrn_table_put_longstr(&w, "key", wrn_slice_str("a value too long"));
    wrn_table_put_bool(&w, "k", true); /* would fit, but must not be written */
    wrn_table_end(&w, at);
    EXPECT_TRUE(w.overflow);
    EXPECT_LE(w.len, sizeof(buf));
}

TEST(Table, UnknownLetterIsEproto)
{
    /* The spec's U (signed 16) is not a RabbitMQ letter; neither is Z. */
    for (uint8_t letter : {'U', 'Z', '\0', 'c', 'o'}) {
        const std::vector<uint8_t> t = {0x01, 'k', letter, 0x00, 0x01};
        struct wrn_field f;

        EXPECT_EQ(wrn_table_validate(S(t)), WRN_EPROTO) << letter;
        EXPECT_FALSE(wrn_table_get(S(t), "k", &f));
    }
    const std::vector<uint8_t> arr = {'I', 0, 0, 0, 1, '?'};
    EXPECT_EQ(wrn_array_validate(S(arr)), WRN_EPROTO);
}

TEST(Table, OverrunsAreEproto)
{
    const std::vector<std::vector<uint8_t>> bad = {
        {0x05, 'k'},                                         /* key longer than the table */
        {0x01, 'k'},                                         /* key without a type letter */
        {0x01, 'k', 'I', 0x00, 0x00, 0x01},                  /* I needs 4 bytes */
        {0x01, 'k', 'l', 0, 0, 0, 0, 0, 0, 0},               /* l needs 8 */
        {0x01, 'k', 'S', 0x00, 0x00, 0x00, 0x05, 'a'},       /* string past the end */
        {0x01, 'k', 'S', 0xFF, 0xFF, 0xFF, 0xFF},            /* 4 GiB string */
        {0x01, 'k', 'F', 0x00, 0x00, 0x00, 0x02, 0x01, 'z'}, /* nested entry cut */
        {0x01, 'k', 'A', 0x00, 0x00, 0x00, 0x02, 'I', 0x00}, /* array element cut */
        {0x01, 'k', 'D', 0x02, 0x00, 0x00},                  /* decimal cut */
    };
    for (size_t n = 0; n < bad.size(); n++) {
        EXPECT_EQ(wrn_table_validate(S(bad[n])), WRN_EPROTO) << "case " << n;
        EXPECT_FALSE(wrn_table_equivalent(S(bad[n]), S(bad[n]))) << "case " << n;
    }
}

TEST(Table, TruncationAtEveryOffset)
{
    std::vector<uint8_t> all;
    for (const std::vector<uint8_t> *t :
         {&kBool, &kI16, &kI64, &kU64, &kUtf8, &kBytes, &kDec, &kTable, &kArray, &kTime, &kVoid})
        all.insert(all.end(), t->begin(), t->end());
    ASSERT_EQ(wrn_table_validate(S(all)), WRN_OK);
    /* Cuts on an entry boundary leave a valid table; every other cut does not. */
    std::vector<size_t> boundaries = {0};
    {
        struct wrn_table_iter it;
        struct wrn_slice k;
        struct wrn_field f;
        wrn_table_iter_init(&it, S(all));
        while (wrn_table_next(&it, &k, &f) == 1)
            boundaries.push_back(static_cast<size_t>(it.c.p - all.data()));
    }
    for (size_t cut = 0; cut < all.size(); cut++) {
        std::vector<uint8_t> part(all.begin(), all.begin() + static_cast<long>(cut));
        bool boundary = std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
        EXPECT_EQ(wrn_table_validate(S(part)), boundary ? WRN_OK : WRN_EPROTO) << cut;
    }
}

TEST(Table, IteratorStopsOnError)
{
    const std::vector<uint8_t> t = {0x01, 'a', 't', 0x01, 0x01, 'b', 'Q'};
    struct wrn_table_iter it;
    struct wrn_slice k;
    struct wrn_field f;

    wrn_table_iter_init(&it, S(t));
    EXPECT_EQ(wrn_table_next(&it, &k, &f), 1);
    EXPECT_EQ(wrn_table_next(&it, &k, &f), WRN_EPROTO);
    EXPECT_EQ(wrn_table_next(&it, &k, &f), WRN_EPROTO); /* not "end" */
}

namespace
{

/* depth containers nested in each other: {k: {k: ... {}}} or [[...[]]]. */
std::vector<uint8_t>
Nest(int depth, uint8_t letter)
{
    std::vector<uint8_t> inner;
    for (int d = 0; d < depth; d++) {
        std::vector<uint8_t> outer;
        uint32_t n = static_cast<uint32_t>(inner.size());
        if (letter == 'F')
            outer = {0x01, 'k', 'F'};
        else
            outer = {'A'};
        outer.push_back(static_cast<uint8_t>(n >> 24));
        outer.push_back(static_cast<uint8_t>(n >> 16));
        outer.push_back(static_cast<uint8_t>(n >> 8));
        outer.push_back(static_cast<uint8_t>(n));
        outer.insert(outer.end(), inner.begin(), inner.end());
        inner = outer;
    }
    return inner;
}

} // namespace

TEST(Table, DepthBombIsRefused)
{
    /* The top-level table is depth 1; up to WRN_TABLE_MAX_DEPTH levels pass. */
    EXPECT_EQ(wrn_table_validate(S(Nest(WRN_TABLE_MAX_DEPTH - 1, 'F'))), WRN_OK);
    EXPECT_EQ(wrn_table_validate(S(Nest(WRN_TABLE_MAX_DEPTH, 'F'))), WRN_EPROTO);
    EXPECT_EQ(wrn_table_validate(S(Nest(1000, 'F'))), WRN_EPROTO);
    EXPECT_EQ(wrn_array_validate(S(Nest(WRN_TABLE_MAX_DEPTH - 1, 'A'))), WRN_OK);
    EXPECT_EQ(wrn_array_validate(S(Nest(WRN_TABLE_MAX_DEPTH, 'A'))), WRN_EPROTO);
    EXPECT_EQ(wrn_array_validate(S(Nest(1000, 'A'))), WRN_EPROTO);
}

TEST(Table, EquivalenceIgnoresOrder)
{
    const std::vector<uint8_t> ab = {0x01, 'a', 'I', 0, 0, 0, 1, 0x01, 'b', 'S', 0, 0, 0, 1, 'x'};
    const std::vector<uint8_t> ba = {0x01, 'b', 'S', 0, 0, 0, 1, 'x', 0x01, 'a', 'I', 0, 0, 0, 1};
    const std::vector<uint8_t> a_long = {0x01, 'a',  'l', 0,   0, 0, 0, 0, 0,  0,
                                         1,    0x01, 'b', 'S', 0, 0, 0, 1, 'x'};
    const std::vector<uint8_t> a2 = {0x01, 'a', 'I', 0, 0, 0, 2, 0x01, 'b', 'S', 0, 0, 0, 1, 'x'};
    const std::vector<uint8_t> a_only = {0x01, 'a', 'I', 0, 0, 0, 1};
    const std::vector<uint8_t> empty;

    EXPECT_TRUE(wrn_table_equivalent(S(ab), S(ba)));
    EXPECT_TRUE(wrn_table_equivalent(S(ba), S(ab)));
    EXPECT_TRUE(wrn_table_equivalent(S(empty), S(empty)));
    EXPECT_FALSE(wrn_table_equivalent(S(ab), S(a_long))); /* same number, other letter */
    EXPECT_FALSE(wrn_table_equivalent(S(ab), S(a2)));     /* other value */
    EXPECT_FALSE(wrn_table_equivalent(S(ab), S(a_only))); /* missing key */
    EXPECT_FALSE(wrn_table_equivalent(S(a_only), S(ab))); /* extra key */
    EXPECT_FALSE(wrn_table_equivalent(S(empty), S(a_only)));
}

TEST(Table, EquivalenceWithDuplicateKeys)
{
    const std::vector<uint8_t> k12 = {0x01, 'k', 'B', 1, 0x01, 'k', 'B', 2};
    const std::vector<uint8_t> k21 = {0x01, 'k', 'B', 2, 0x01, 'k', 'B', 1};
    const std::vector<uint8_t> k1 = {0x01, 'k', 'B', 1};

    EXPECT_TRUE(wrn_table_equivalent(S(k12), S(k12)));
    EXPECT_TRUE(wrn_table_equivalent(S(k12), S(k21)));
    EXPECT_FALSE(wrn_table_equivalent(S(k12), S(k1)));
    EXPECT_FALSE(wrn_table_equivalent(S(k1), S(k12)));
}

TEST(Table, RealHeadersFromAPublish)
{
    /* A headers table RabbitMQ 3.10 accepted and forwarded unchanged. */
    const std::vector<uint8_t> h = {
        0x03, 's',  '1',  '6',  's',  0xff, 0xfe, 0x03, 'a',  'r',  'r',  'A',  0x00, 0x00,
        0x00, 0x0b, 'I',  0x00, 0x00, 0x00, 0x01, 'S',  0x00, 0x00, 0x00, 0x01, 'x',  0x06,
        'n',  'e',  's',  't',  'e',  'd',  'F',  0x00, 0x00, 0x00, 0x04, 0x01, 'k',  't',
        0x01, 0x05, 'b',  'y',  't',  'e',  's',  'x',  0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
        0x03, 'd',  'e',  'c',  'D',  0x02, 0x00, 0x00, 0x01, 0x3a, 0x04, 'v',  'o',  'i',
        'd',  'V',  0x02, 't',  's',  'T',  0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00,
        0x03, 'd',  'b',  'l',  'd',  0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    struct wrn_field f;
    int64_t i;

    ASSERT_EQ(wrn_table_validate(S(h)), WRN_OK);
    ASSERT_TRUE(wrn_table_get(S(h), "s16", &f));
    ASSERT_TRUE(wrn_field_as_int(&f, &i));
    EXPECT_EQ(i, -2);
    ASSERT_TRUE(wrn_table_get(S(h), "dec", &f));
    EXPECT_EQ(f.v.dec.value, 314u);
    ASSERT_TRUE(wrn_table_get(S(h), "dbl", &f));
    EXPECT_EQ(f.v.d, 1.5);
    EXPECT_EQ(Reencode(h), h);
}
