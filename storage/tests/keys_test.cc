/*
 * keys_test.cc - the store's binary key layout: exact bytes, byte order
 * equal to numeric order, range bounds at the edges (id 0 and 2^64-1, vhost
 * names of 0xFF bytes), and names holding 0x00 that must not collide.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "keys.h"

namespace
{

std::string
Bytes(const uint8_t *p, size_t n)
{
    return std::string(reinterpret_cast<const char *>(p), n);
}

std::string
Entry(uint64_t q, uint64_t seq)
{
    uint8_t k[WRN_KEY_ENTRY_LEN];
    wrn_key_entry(k, q, seq);
    return Bytes(k, sizeof(k));
}

std::string
Scoped(uint8_t tag, const std::string &vhost, const std::string &name)
{
    std::vector<uint8_t> k(WRN_KEY_SCOPED_LEN(vhost.size(), name.size()));
    size_t n = wrn_key_scoped(k.data(), k.size(), tag, vhost.data(), vhost.size(), name.data(),
                              name.size());
    EXPECT_EQ(n, k.size());
    return Bytes(k.data(), n);
}

/* Whether key falls in [lo, hi) under bytewise comparison, as RocksDB sees it. */
bool
InRange(const std::string &key, const std::string &lo, const std::string &hi)
{
    return key >= lo && key < hi;
}

} // namespace

TEST(Keys, EntryBytesAreTagThenBigEndianIds)
{
    uint8_t k[WRN_KEY_ENTRY_LEN];
    const uint8_t want[WRN_KEY_ENTRY_LEN] = {'E',  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
    uint64_t q, seq;

    wrn_key_entry(k, 0x0102030405060708ULL, 256);
    EXPECT_EQ(0, memcmp(k, want, sizeof(want)));
    ASSERT_EQ(0, wrn_key_entry_decode(k, sizeof(k), &q, &seq));
    EXPECT_EQ(0x0102030405060708ULL, q);
    EXPECT_EQ(256u, seq);
}

TEST(Keys, EntryDecodeRejectsWrongTagOrLength)
{
    uint8_t k[WRN_KEY_ENTRY_LEN];
    uint64_t q, seq;

    wrn_key_entry(k, 1, 2);
    EXPECT_EQ(-1, wrn_key_entry_decode(k, sizeof(k) - 1, &q, &seq));
    EXPECT_EQ(-1, wrn_key_entry_decode(k, 0, &q, &seq));
    k[0] = WRN_KEY_MESSAGE;
    EXPECT_EQ(-1, wrn_key_entry_decode(k, sizeof(k), &q, &seq));
}

TEST(Keys, EntryByteOrderIsNumericOrder)
{
    const uint64_t vals[] = {0,
                             1,
                             255,
                             256,
                             65535,
                             65536,
                             0xFFFFFFFFULL,
                             0x100000000ULL,
                             0x7FFFFFFFFFFFFFFFULL,
                             0x8000000000000000ULL,
                             UINT64_MAX};
    std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> keys;

    for (uint64_t q : vals)
        for (uint64_t s : vals)
            keys.push_back({{q, s}, Entry(q, s)});
    std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> by_bytes = keys;
    std::sort(keys.begin(), keys.end());
    std::sort(by_bytes.begin(), by_bytes.end(),
              [](const auto &a, const auto &b) { return a.second < b.second; });
    EXPECT_EQ(keys, by_bytes);
}

TEST(Keys, QueueRangeHoldsExactlyThatQueue)
{
    const uint64_t ids[] = {0, 1, 255, 256, 0xFFFFFFFFULL, UINT64_MAX - 1, UINT64_MAX};

    for (uint64_t q : ids) {
        uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], hi[WRN_KEY_QUEUE_RANGE_LEN];
        wrn_key_queue_range(lo, hi, q);
        std::string l = Bytes(lo, sizeof(lo)), h = Bytes(hi, sizeof(hi));

        EXPECT_TRUE(InRange(Entry(q, 0), l, h)) << q;
        EXPECT_TRUE(InRange(Entry(q, 1), l, h)) << q;
        EXPECT_TRUE(InRange(Entry(q, UINT64_MAX), l, h)) << q;
        if (q > 0) {
            EXPECT_FALSE(InRange(Entry(q - 1, UINT64_MAX), l, h)) << q;
        }
        if (q < UINT64_MAX) {
            EXPECT_FALSE(InRange(Entry(q + 1, 0), l, h)) << q;
        }
    }
}

TEST(Keys, LastQueueRangeCarriesIntoTheTag)
{
    uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], hi[WRN_KEY_QUEUE_RANGE_LEN];
    const uint8_t want[WRN_KEY_QUEUE_RANGE_LEN] = {'F', 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t other[WRN_KEY_SCOPED_LEN(1, 1)];

    wrn_key_queue_range(lo, hi, UINT64_MAX);
    EXPECT_EQ(0, memcmp(hi, want, sizeof(want)));
    /* Keys of other tags stay outside. */
    wrn_key_scoped(other, sizeof(other), WRN_KEY_QUEUE, "/", 1, "q", 1);
    EXPECT_FALSE(InRange(Bytes(other, sizeof(other)), Bytes(lo, 9), Bytes(hi, 9)));
}

TEST(Keys, MessageRoundTrip)
{
    uint8_t k[WRN_KEY_MESSAGE_LEN];
    uint64_t id;

    wrn_key_message(k, 0xA1B2C3D4E5F60718ULL);
    EXPECT_EQ('M', k[0]);
    EXPECT_EQ(0xA1, k[1]);
    EXPECT_EQ(0x18, k[8]);
    ASSERT_EQ(0, wrn_key_message_decode(k, sizeof(k), &id));
    EXPECT_EQ(0xA1B2C3D4E5F60718ULL, id);
    EXPECT_EQ(-1, wrn_key_message_decode(k, sizeof(k) - 1, &id));
    k[0] = WRN_KEY_ENTRY;
    EXPECT_EQ(-1, wrn_key_message_decode(k, sizeof(k), &id));
}

TEST(Keys, PageKeysAreApartFromMessageKeys)
{
    uint8_t k[WRN_KEY_MESSAGE_LEN];
    uint64_t id;

    wrn_key_page(k, 42);
    EXPECT_EQ('N', k[0]);
    ASSERT_EQ(0, wrn_key_page_decode(k, sizeof(k), &id));
    EXPECT_EQ(42u, id);
    /* a page is never mistaken for a stored body, nor the other way round */
    EXPECT_EQ(-1, wrn_key_message_decode(k, sizeof(k), &id));
    wrn_key_message(k, 42);
    EXPECT_EQ(-1, wrn_key_page_decode(k, sizeof(k), &id));
}

TEST(Keys, TagRangeHoldsOnlyThatTag)
{
    uint8_t lo[1], hi[1], m[WRN_KEY_MESSAGE_LEN];
    std::string l, h;

    wrn_key_tag_range(lo, hi, WRN_KEY_MESSAGE);
    l = Bytes(lo, 1);
    h = Bytes(hi, 1);
    wrn_key_message(m, 0);
    EXPECT_TRUE(InRange(Bytes(m, sizeof(m)), l, h));
    wrn_key_message(m, UINT64_MAX);
    EXPECT_TRUE(InRange(Bytes(m, sizeof(m)), l, h));
    EXPECT_FALSE(InRange(Entry(UINT64_MAX, UINT64_MAX), l, h));
    EXPECT_FALSE(InRange(Scoped(WRN_KEY_QUEUE, "", ""), l, h));
}

TEST(Keys, NamedRoundTripAndCapacity)
{
    uint8_t k[8];
    const uint8_t *name;
    size_t nlen;

    ASSERT_EQ(6u, wrn_key_named(k, sizeof(k), WRN_KEY_USER, "guest", 5));
    EXPECT_EQ("Uguest", Bytes(k, 6));
    ASSERT_EQ(0, wrn_key_named_decode(k, 6, WRN_KEY_USER, &name, &nlen));
    EXPECT_EQ("guest", Bytes(name, nlen));
    EXPECT_EQ(-1, wrn_key_named_decode(k, 6, WRN_KEY_VHOST, &name, &nlen));
    EXPECT_EQ(-1, wrn_key_named_decode(k, 0, WRN_KEY_USER, &name, &nlen));
    EXPECT_EQ(0u, wrn_key_named(k, sizeof(k), WRN_KEY_USER, "12345678", 8)); /* needs 9 */
    EXPECT_EQ(1u, wrn_key_named(k, sizeof(k), WRN_KEY_META, NULL, 0));
}

TEST(Keys, ScopedBytesCarryTheVhostLength)
{
    EXPECT_EQ(std::string("Q\x00\x01/orders", 10), Scoped(WRN_KEY_QUEUE, "/", "orders"));
    EXPECT_EQ(std::string("X\x00\x00", 3), Scoped(WRN_KEY_EXCHANGE, "", ""));
}

/*
 * With "vhost 0x00 name" these two would both be "a\0b\0c"; the length
 * prefix keeps them apart and decodes each back to its own parts.
 */
TEST(Keys, ScopedNamesWithNulDoNotCollide)
{
    const std::string v1("a", 1), n1("b\0c", 3);
    const std::string v2("a\0b", 3), n2("c", 1);
    std::string k1 = Scoped(WRN_KEY_QUEUE, v1, n1), k2 = Scoped(WRN_KEY_QUEUE, v2, n2);
    const uint8_t *vh, *nm;
    size_t vl, nl;

    EXPECT_NE(k1, k2);
    ASSERT_EQ(0, wrn_key_scoped_decode(k1.data(), k1.size(), WRN_KEY_QUEUE, &vh, &vl, &nm, &nl));
    EXPECT_EQ(v1, Bytes(vh, vl));
    EXPECT_EQ(n1, Bytes(nm, nl));
    ASSERT_EQ(0, wrn_key_scoped_decode(k2.data(), k2.size(), WRN_KEY_QUEUE, &vh, &vl, &nm, &nl));
    EXPECT_EQ(v2, Bytes(vh, vl));
    EXPECT_EQ(n2, Bytes(nm, nl));
}

TEST(Keys, ScopedDecodeRejectsBadShapes)
{
    std::string k = Scoped(WRN_KEY_QUEUE, "vh", "q");
    const uint8_t *vh, *nm;
    size_t vl, nl;

    EXPECT_EQ(-1, wrn_key_scoped_decode(k.data(), k.size(), WRN_KEY_EXCHANGE, &vh, &vl, &nm, &nl));
    EXPECT_EQ(-1, wrn_key_scoped_decode(k.data(), 2, WRN_KEY_QUEUE, &vh, &vl, &nm, &nl));
    /* The vhost length runs past the end of the key. */
    EXPECT_EQ(-1, wrn_key_scoped_decode(k.data(), 4, WRN_KEY_QUEUE, &vh, &vl, &nm, &nl));
    /* Exactly the vhost, empty name: fine. */
    ASSERT_EQ(0, wrn_key_scoped_decode(k.data(), 5, WRN_KEY_QUEUE, &vh, &vl, &nm, &nl));
    EXPECT_EQ(0u, nl);
}

TEST(Keys, ScopedRefusesOverlongVhostAndSmallBuffers)
{
    std::string big(WRN_KEY_VHOST_MAX + 1, 'v');
    std::vector<uint8_t> k(WRN_KEY_SCOPED_LEN(big.size(), 1));
    uint8_t small[4];

    EXPECT_EQ(0u,
              wrn_key_scoped(k.data(), k.size(), WRN_KEY_QUEUE, big.data(), big.size(), "q", 1));
    EXPECT_EQ(k.size() - 1, wrn_key_scoped(k.data(), k.size(), WRN_KEY_QUEUE, big.data(),
                                           big.size() - 1, "q", 1));
    EXPECT_EQ(0u, wrn_key_scoped(small, sizeof(small), WRN_KEY_QUEUE, "ab", 2, "", 0));
    EXPECT_EQ(4u, wrn_key_scoped(small, sizeof(small), WRN_KEY_QUEUE, "a", 1, "", 0));
}

TEST(Keys, ScopedRangeHoldsOneVhostOfOneTag)
{
    const std::string vhosts[] = {"",
                                  "/",
                                  "a",
                                  std::string("a\0", 2),
                                  "ab",
                                  std::string("\xff\xff", 2),
                                  std::string("a\xff", 2)};

    for (const std::string &v : vhosts) {
        std::vector<uint8_t> lo(WRN_KEY_SCOPED_LEN(v.size(), 0)), hi(lo.size());
        size_t ll, hl;
        ASSERT_EQ(0, wrn_key_scoped_range(lo.data(), &ll, hi.data(), &hl, lo.size(), WRN_KEY_QUEUE,
                                          v.data(), v.size()));
        std::string l = Bytes(lo.data(), ll), h = Bytes(hi.data(), hl);

        EXPECT_TRUE(InRange(Scoped(WRN_KEY_QUEUE, v, ""), l, h));
        EXPECT_TRUE(InRange(Scoped(WRN_KEY_QUEUE, v, "q"), l, h));
        EXPECT_TRUE(InRange(Scoped(WRN_KEY_QUEUE, v, std::string(300, '\xff')), l, h));
        for (const std::string &other : vhosts) {
            if (other == v)
                continue;
            EXPECT_FALSE(InRange(Scoped(WRN_KEY_QUEUE, other, "q"), l, h));
            EXPECT_FALSE(InRange(Scoped(WRN_KEY_QUEUE, other, ""), l, h));
            EXPECT_FALSE(InRange(Scoped(WRN_KEY_QUEUE, other, std::string(300, '\xff')), l, h));
        }
        EXPECT_FALSE(InRange(Scoped(WRN_KEY_EXCHANGE, v, "q"), l, h));
        EXPECT_FALSE(InRange(Scoped(WRN_KEY_BINDING, v, "q"), l, h));
    }
}

TEST(Keys, ScopedRangeNeedsRoom)
{
    uint8_t lo[3], hi[3];
    size_t ll, hl;

    EXPECT_EQ(-1, wrn_key_scoped_range(lo, &ll, hi, &hl, sizeof(lo), WRN_KEY_QUEUE, "a", 1));
    ASSERT_EQ(0, wrn_key_scoped_range(lo, &ll, hi, &hl, sizeof(lo), WRN_KEY_QUEUE, "", 0));
    EXPECT_EQ(3u, ll);
    EXPECT_EQ(std::string("Q\x00\x01", 3), Bytes(hi, hl));
}
