/*
 * content_test.cc - content header payloads and basic properties: all
 * fourteen flags, absent properties, the raw block kept as sent, extra flag
 * words, and truncated or malformed headers.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "content.h"

namespace
{

std::vector<uint8_t>
Header(uint16_t class_id, uint64_t body_size, const std::vector<uint8_t> &props)
{
    std::vector<uint8_t> out(12 + props.size());
    int n = wrn_content_header_encode(class_id, body_size,
                                      {props.data(), static_cast<uint32_t>(props.size())},
                                      out.data(), out.size());
    EXPECT_EQ(n, static_cast<int>(out.size()));
    return out;
}

/* Every property set, in wire order; headers = {k: I 5}. */
const std::vector<uint8_t> kAllProps = {
    0xFF, 0xFC,                                                       /* flags: bits 15..2 */
    0x0A, 't',  'e',  'x',  't',  '/',  'p',  'l',  'a',  'i',  'n',  /* content-type */
    0x04, 'g',  'z',  'i',  'p',                                      /* content-encoding */
    0x00, 0x00, 0x00, 0x07, 0x01, 'k',  'I',  0x00, 0x00, 0x00, 0x05, /* headers */
    0x02,                                                             /* delivery-mode */
    0x09,                                                             /* priority */
    0x02, 'c',  '1',                                                  /* correlation-id */
    0x02, 'r',  'q',                                                  /* reply-to */
    0x04, '6',  '0',  '0',  '0',                                      /* expiration */
    0x02, 'm',  '1',                                                  /* message-id */
    0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xF1, 0x00,                   /* timestamp */
    0x01, 't',                                                        /* type */
    0x05, 'g',  'u',  'e',  's',  't',                                /* user-id */
    0x03, 'a',  'p',  'p',                                            /* app-id */
    0x02, 'c',  'l',                                                  /* cluster-id */
};

} // namespace

TEST(Content, AllFourteenPropertiesDecode)
{
    struct wrn_basic_properties p;

    ASSERT_EQ(wrn_basic_properties_decode(kAllProps.data(), kAllProps.size(), &p), WRN_OK);
    EXPECT_EQ(p.flags, WRN_BASIC_PROPERTY_FLAGS);
    EXPECT_EQ(p.flags, 0xFFFC);
    EXPECT_TRUE(wrn_slice_eq_str(p.content_type, "text/plain"));
    EXPECT_TRUE(wrn_slice_eq_str(p.content_encoding, "gzip"));
    EXPECT_EQ(p.headers.len, 7u);
    EXPECT_EQ(p.delivery_mode, 2);
    EXPECT_EQ(p.priority, 9);
    EXPECT_TRUE(wrn_slice_eq_str(p.correlation_id, "c1"));
    EXPECT_TRUE(wrn_slice_eq_str(p.reply_to, "rq"));
    EXPECT_TRUE(wrn_slice_eq_str(p.expiration, "6000"));
    EXPECT_TRUE(wrn_slice_eq_str(p.message_id, "m1"));
    EXPECT_EQ(p.timestamp, 1700000000u);
    EXPECT_TRUE(wrn_slice_eq_str(p.type, "t"));
    EXPECT_TRUE(wrn_slice_eq_str(p.user_id, "guest"));
    EXPECT_TRUE(wrn_slice_eq_str(p.app_id, "app"));
    EXPECT_TRUE(wrn_slice_eq_str(p.cluster_id, "cl"));
}

TEST(Content, FlagBitsFollowWireOrder)
{
    EXPECT_EQ(WRN_BASIC_CONTENT_TYPE_FLAG, 1u << 15);
    EXPECT_EQ(WRN_BASIC_HEADERS_FLAG, 1u << 13);
    EXPECT_EQ(WRN_BASIC_DELIVERY_MODE_FLAG, 1u << 12);
    EXPECT_EQ(WRN_BASIC_TIMESTAMP_FLAG, 1u << 6);
    EXPECT_EQ(WRN_BASIC_CLUSTER_ID_FLAG, 1u << 2);
}

TEST(Content, AllPropertiesRoundTrip)
{
    struct wrn_basic_properties p;
    std::vector<uint8_t> out(kAllProps.size());

    ASSERT_EQ(wrn_basic_properties_decode(kAllProps.data(), kAllProps.size(), &p), WRN_OK);
    ASSERT_EQ(wrn_basic_properties_encode(&p, out.data(), out.size()),
              static_cast<int>(kAllProps.size()));
    EXPECT_EQ(out, kAllProps);
    for (size_t cap = 0; cap < kAllProps.size(); cap++)
        EXPECT_EQ(wrn_basic_properties_encode(&p, out.data(), cap), WRN_ENOSPC) << cap;
}

TEST(Content, EachPropertyAlone)
{
    /* Encode with one flag set at a time; decoding gives that one back only. */
    struct wrn_basic_properties all;
    ASSERT_EQ(wrn_basic_properties_decode(kAllProps.data(), kAllProps.size(), &all), WRN_OK);
    for (int bit = 15; bit >= 2; bit--) {
        struct wrn_basic_properties one = all, back;
        uint8_t buf[128];
        int n;

        one.flags = static_cast<uint16_t>(1u << bit);
        n = wrn_basic_properties_encode(&one, buf, sizeof(buf));
        ASSERT_GT(n, 2) << bit;
        EXPECT_EQ(buf[0], static_cast<uint8_t>((1u << bit) >> 8));
        EXPECT_EQ(buf[1], static_cast<uint8_t>(1u << bit));
        ASSERT_EQ(wrn_basic_properties_decode(buf, static_cast<size_t>(n), &back), WRN_OK) << bit;
        EXPECT_EQ(back.flags, one.flags);
        /* Everything not flagged decodes as zero or empty. */
        int present = (back.content_type.len > 0) + (back.content_encoding.len > 0) +
                      (back.headers.len > 0) + (back.delivery_mode != 0) + (back.priority != 0) +
                      (back.correlation_id.len > 0) + (back.reply_to.len > 0) +
                      (back.expiration.len > 0) + (back.message_id.len > 0) +
                      (back.timestamp != 0) + (back.type.len > 0) + (back.user_id.len > 0) +
                      (back.app_id.len > 0) + (back.cluster_id.len > 0);
        EXPECT_EQ(present, 1) << bit;
    }
}

TEST(Content, NoPropertiesIsJustTheFlagWord)
{
    const uint8_t none[] = {0x00, 0x00};
    struct wrn_basic_properties p;
    uint8_t out[2];

    ASSERT_EQ(wrn_basic_properties_decode(none, sizeof(none), &p), WRN_OK);
    EXPECT_EQ(p.flags, 0);
    EXPECT_EQ(wrn_basic_properties_encode(&p, out, sizeof(out)), 2);
    EXPECT_EQ(memcmp(out, none, 2), 0);
}

TEST(Content, ExtraFlagWordsAreSkipped)
{
    /* delivery-mode set, bit 0 chains a second word, which chains a third. */
    const uint8_t p3[] = {0x10, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02};
    struct wrn_basic_properties p;

    ASSERT_EQ(wrn_basic_properties_decode(p3, sizeof(p3), &p), WRN_OK);
    EXPECT_EQ(p.flags, WRN_BASIC_DELIVERY_MODE_FLAG);
    EXPECT_EQ(p.delivery_mode, 2);
    /* The chained word itself missing. */
    EXPECT_EQ(wrn_basic_properties_decode(p3, 3, &p), WRN_EPROTO);
}

TEST(Content, TruncatedPropertiesAtEveryOffset)
{
    struct wrn_basic_properties p;

    for (size_t n = 0; n < kAllProps.size(); n++) {
        std::vector<uint8_t> part(kAllProps.begin(), kAllProps.begin() + static_cast<long>(n));
        EXPECT_EQ(wrn_basic_properties_decode(part.data(), part.size(), &p), WRN_EPROTO) << n;
    }
}

TEST(Content, BadHeadersTableIsEproto)
{
    std::vector<uint8_t> bad = {0x20, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 'k', 'Q'};
    struct wrn_basic_properties p;

    EXPECT_EQ(wrn_basic_properties_decode(bad.data(), bad.size(), &p), WRN_EPROTO);
    bad.back() = 'V';
    EXPECT_EQ(wrn_basic_properties_decode(bad.data(), bad.size(), &p), WRN_OK);
}

TEST(Content, HeaderKeepsTheRawPropertiesBlock)
{
    std::vector<uint8_t> h = Header(WRN_CLASS_BASIC, 0x0102030405060708ull, kAllProps);
    struct wrn_content_header ch;

    EXPECT_EQ(h[0], 0x00);
    EXPECT_EQ(h[1], 0x3C);
    EXPECT_EQ(h[2], 0x00); /* weight */
    EXPECT_EQ(h[3], 0x00);
    EXPECT_EQ(h[4], 0x01);
    EXPECT_EQ(h[11], 0x08);
    ASSERT_EQ(wrn_content_header_decode(h.data(), h.size(), &ch), WRN_OK);
    EXPECT_EQ(ch.class_id, WRN_CLASS_BASIC);
    EXPECT_EQ(ch.weight, 0);
    EXPECT_EQ(ch.body_size, 0x0102030405060708ull);
    EXPECT_EQ(ch.properties.p, h.data() + 12); /* into the input, not a copy */
    ASSERT_EQ(ch.properties.len, kAllProps.size());
    EXPECT_EQ(memcmp(ch.properties.p, kAllProps.data(), kAllProps.size()), 0);
}

TEST(Content, RealHeaderFromRabbitMQ)
{
    /* basic.return's content header: content-type and delivery-mode 1. */
    const uint8_t h[] = {0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                         0x00, 0x03, 0x90, 0x00, 0x18, 'a',  'p',  'p',  'l',  'i',
                         'c',  'a',  't',  'i',  'o',  'n',  '/',  'o',  'c',  't',
                         'e',  't',  '-',  's',  't',  'r',  'e',  'a',  'm',  0x01};
    struct wrn_content_header ch;
    struct wrn_basic_properties p;

    ASSERT_EQ(wrn_content_header_decode(h, sizeof(h), &ch), WRN_OK);
    EXPECT_EQ(ch.body_size, 3u);
    ASSERT_EQ(wrn_basic_properties_decode(ch.properties.p, ch.properties.len, &p), WRN_OK);
    EXPECT_TRUE(wrn_slice_eq_str(p.content_type, "application/octet-stream"));
    EXPECT_EQ(p.delivery_mode, 1);
}

TEST(Content, TruncatedHeaderAtEveryOffset)
{
    std::vector<uint8_t> h = Header(WRN_CLASS_BASIC, 12, kAllProps);
    struct wrn_content_header ch;

    for (size_t n = 0; n < h.size(); n++) {
        std::vector<uint8_t> part(h.begin(), h.begin() + static_cast<long>(n));
        EXPECT_EQ(wrn_content_header_decode(part.data(), part.size(), &ch), WRN_EPROTO) << n;
    }
}

TEST(Content, OtherClassesNeedOnlyAFlagWord)
{
    /* No class but basic defines properties, so nothing more can be checked. */
    std::vector<uint8_t> h = Header(WRN_CLASS_QUEUE, 0, {0xFF, 0xFF});
    struct wrn_content_header ch;

    ASSERT_EQ(wrn_content_header_decode(h.data(), h.size(), &ch), WRN_OK);
    EXPECT_EQ(ch.class_id, WRN_CLASS_QUEUE);
    EXPECT_EQ(wrn_content_header_decode(h.data(), 13, &ch), WRN_EPROTO);
    /* The same bytes are not valid basic properties (flag bits promise fields). */
    h = Header(WRN_CLASS_BASIC, 0, {0xFF, 0xFC});
    EXPECT_EQ(wrn_content_header_decode(h.data(), h.size(), &ch), WRN_EPROTO);
}

TEST(Content, EncodeNeedsRoom)
{
    uint8_t props[] = {0x00, 0x00};
    uint8_t out[14];

    for (size_t cap = 0; cap < sizeof(out); cap++)
        EXPECT_EQ(wrn_content_header_encode(60, 1, {props, 2}, out, cap), WRN_ENOSPC) << cap;
    EXPECT_EQ(wrn_content_header_encode(60, 1, {props, 2}, out, sizeof(out)), 14);
}
