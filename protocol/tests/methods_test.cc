/*
 * methods_test.cc - the generated method codec. Every method round-trips
 * through two samples whose wire bytes the generator computed with its own
 * packer (methods_samples.inc); hand-written frames pin the bit packing;
 * truncated, unknown and malformed input must fail cleanly.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "frame.h"
#include "methods.h"

namespace
{

wrn_slice
Slice(const char *p, size_t n)
{
    struct wrn_slice s = {reinterpret_cast<const uint8_t *>(p), static_cast<uint32_t>(n)};
    return s;
}

bool
SliceIs(struct wrn_slice s, const char *p, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.p, p, n) == 0);
}

std::vector<uint8_t>
Bytes(const char *p, size_t n)
{
    return std::vector<uint8_t>(p, p + n);
}

struct Sample {
    uint32_t id;
    const char *member;
    const char *wire;
    size_t len;
};

#define F_INT(f, v)
#define F_BIT(f, v)
#define F_STR(f, s, n)
#define WIRE(s, n) s, n
#define SAMPLE(idx, id, member, fields, wire) {id, #member, wire},
const Sample kSamples[] = {
#include "methods_samples.inc"
};
#undef SAMPLE
#undef WIRE
#undef F_STR
#undef F_BIT
#undef F_INT

/* Put sample n's argument values into m. */
void
FillSample(size_t n, struct wrn_method *m)
{
    memset(m, 0, sizeof(*m));
    switch (n) {
#define F_INT(f, v) a.f = v;
#define F_BIT(f, v) a.f = v;
#define F_STR(f, s, n) a.f = Slice(s, n);
#define WIRE(s, n)
#define SAMPLE(idx, ID, member, fields, wire)                                                      \
    case idx: {                                                                                    \
        m->id = ID;                                                                                \
        auto &a = m->a.member;                                                                     \
        (void)a;                                                                                   \
        fields                                                                                     \
    } break;
#include "methods_samples.inc"
#undef SAMPLE
#undef WIRE
#undef F_STR
#undef F_BIT
#undef F_INT
    default:
        FAIL() << "no sample " << n;
    }
}

/* Expect m to hold exactly sample n's argument values. */
void
CheckSample(size_t n, const struct wrn_method *m)
{
    switch (n) {
#define F_INT(f, v) EXPECT_EQ(a.f, static_cast<decltype(a.f)>(v)) << #f;
#define F_BIT(f, v) EXPECT_EQ(a.f, v) << #f;
#define F_STR(f, s, n) EXPECT_TRUE(SliceIs(a.f, s, n)) << #f;
#define WIRE(s, n)
#define SAMPLE(idx, ID, member, fields, wire)                                                      \
    case idx: {                                                                                    \
        EXPECT_EQ(m->id, static_cast<uint32_t>(ID));                                               \
        const auto &a = m->a.member;                                                               \
        (void)a;                                                                                   \
        fields                                                                                     \
    } break;
#include "methods_samples.inc"
#undef SAMPLE
#undef WIRE
#undef F_STR
#undef F_BIT
#undef F_INT
    default:
        FAIL() << "no sample " << n;
    }
}

std::set<uint32_t>
AllKnownIds()
{
    std::set<uint32_t> ids;
    for (uint32_t c = 0; c < 256; c++)
        for (uint32_t i = 0; i < 256; i++)
            if (wrn_method_known(WRN_METHOD_ID(c, i)))
                ids.insert(WRN_METHOD_ID(c, i));
    return ids;
}

std::string
Name(size_t n)
{
    return std::string(wrn_method_name(kSamples[n].id)) + " sample " + std::to_string(n);
}

} // namespace

TEST(Methods, SamplesCoverEveryKnownMethodTwice)
{
    std::set<uint32_t> known = AllKnownIds();
    std::multiset<uint32_t> sampled;

    ASSERT_EQ(sizeof(kSamples) / sizeof(kSamples[0]), static_cast<size_t>(SAMPLE_COUNT));
    for (const Sample &s : kSamples)
        sampled.insert(s.id);
    /* 0-9-1 plus RabbitMQ's extensions and the legacy access class. */
    EXPECT_EQ(known.size(), 66u);
    for (uint32_t id : known)
        EXPECT_EQ(sampled.count(id), 2u) << wrn_method_name(id);
    EXPECT_EQ(sampled.size(), 2 * known.size());
}

TEST(Methods, SamplesEncodeToTheSpecBytes)
{
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        struct wrn_method m;
        std::vector<uint8_t> out(kSamples[n].len);

        FillSample(n, &m);
        ASSERT_EQ(wrn_method_encode(&m, out.data(), out.size()), static_cast<int>(out.size()))
            << Name(n);
        EXPECT_EQ(out, Bytes(kSamples[n].wire, kSamples[n].len)) << Name(n);
    }
}

TEST(Methods, SamplesDecodeToTheirFields)
{
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        SCOPED_TRACE(Name(n));
        std::vector<uint8_t> in = Bytes(kSamples[n].wire, kSamples[n].len);
        struct wrn_method m;

        ASSERT_EQ(wrn_method_decode(in.data(), in.size(), &m), WRN_OK);
        CheckSample(n, &m);
    }
}

TEST(Methods, DecodeThenEncodeGivesTheSameBytes)
{
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        std::vector<uint8_t> in = Bytes(kSamples[n].wire, kSamples[n].len);
        std::vector<uint8_t> out(in.size());
        struct wrn_method m;

        ASSERT_EQ(wrn_method_decode(in.data(), in.size(), &m), WRN_OK) << Name(n);
        ASSERT_EQ(wrn_method_encode(&m, out.data(), out.size()), static_cast<int>(in.size()));
        EXPECT_EQ(out, in) << Name(n);
    }
}

TEST(Methods, SlicesPointIntoTheInput)
{
    std::vector<uint8_t> in = Bytes(kSamples[60].wire, kSamples[60].len);
    struct wrn_method m;

    ASSERT_EQ(kSamples[60].id, WRN_QUEUE_DECLARE);
    ASSERT_EQ(wrn_method_decode(in.data(), in.size(), &m), WRN_OK);
    EXPECT_EQ(m.a.queue_declare.queue.p, in.data() + 7); /* ids, ticket, length octet */
    EXPECT_EQ(m.a.queue_declare.arguments.p + m.a.queue_declare.arguments.len,
              in.data() + in.size());
}

TEST(Methods, TruncationAtEveryOffsetIsEproto)
{
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        for (size_t cut = 0; cut < kSamples[n].len; cut++) {
            /* An exact-size heap copy, so ASan sees any read past the cut. */
            std::vector<uint8_t> in = Bytes(kSamples[n].wire, cut);
            struct wrn_method m;

            EXPECT_EQ(wrn_method_decode(in.data(), in.size(), &m), WRN_EPROTO)
                << Name(n) << " cut at " << cut;
        }
    }
}

/* RabbitMQ answers stray bytes after the arguments with 501; so must the decoder. */
TEST(Methods, TrailingBytesAreRefused)
{
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        SCOPED_TRACE(Name(n));
        std::vector<uint8_t> in = Bytes(kSamples[n].wire, kSamples[n].len);
        struct wrn_method m;

        in.push_back(0xEE);
        EXPECT_EQ(wrn_method_decode(in.data(), in.size(), &m), WRN_EPROTO);
    }
}

TEST(Methods, EncodeIntoTooSmallBufferIsEnospcAndStaysInside)
{
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        struct wrn_method m;

        FillSample(n, &m);
        for (size_t cap = 0; cap < kSamples[n].len; cap++) {
            std::vector<uint8_t> out(cap + 8, 0xA5);

            EXPECT_EQ(wrn_method_encode(&m, out.data(), cap), WRN_ENOSPC) << Name(n);
            for (size_t i = cap; i < out.size(); i++)
                ASSERT_EQ(out[i], 0xA5) << Name(n) << " wrote past cap " << cap;
        }
    }
}

/* Hand-written: bits pack LSB first into one octet after the shortstr. */
TEST(Methods, QueueDeclareBitPacking)
{
    const uint8_t wire[] = {
        0x00, 0x32, 0x00, 0x0A, /* queue.declare */
        0x00, 0x00,             /* ticket */
        0x02, 'q',  '1',        /* queue */
        0x1A,                   /* durable 0x02, auto-delete 0x08, nowait 0x10 */
        0x00, 0x00, 0x00, 0x00, /* arguments: empty table */
    };
    struct wrn_method m;
    uint8_t out[sizeof(wire)];

    ASSERT_EQ(wrn_method_decode(wire, sizeof(wire), &m), WRN_OK);
    ASSERT_EQ(m.id, WRN_QUEUE_DECLARE);
    const struct wrn_queue_declare &q = m.a.queue_declare;
    EXPECT_TRUE(wrn_slice_eq_str(q.queue, "q1"));
    EXPECT_FALSE(q.passive);
    EXPECT_TRUE(q.durable);
    EXPECT_FALSE(q.exclusive);
    EXPECT_TRUE(q.auto_delete);
    EXPECT_TRUE(q.nowait);
    EXPECT_EQ(q.arguments.len, 0u);

    memset(&m, 0, sizeof(m));
    m.id = WRN_QUEUE_DECLARE;
    m.a.queue_declare.queue = wrn_slice_str("q1");
    m.a.queue_declare.durable = true;
    m.a.queue_declare.auto_delete = true;
    m.a.queue_declare.nowait = true;
    ASSERT_EQ(wrn_method_encode(&m, out, sizeof(out)), static_cast<int>(sizeof(wire)));
    EXPECT_EQ(memcmp(out, wire, sizeof(wire)), 0);

    m.a.queue_declare.durable = false;
    m.a.queue_declare.passive = true;
    m.a.queue_declare.exclusive = true;
    m.a.queue_declare.auto_delete = false;
    m.a.queue_declare.nowait = false;
    ASSERT_EQ(wrn_method_encode(&m, out, sizeof(out)), static_cast<int>(sizeof(wire)));
    EXPECT_EQ(out[9], 0x05);
}

/* A bit between other fields gets its own octet; the fields after it follow. */
TEST(Methods, BasicDeliverBitBetweenFields)
{
    const uint8_t wire[] = {
        0x00, 0x3C, 0x00, 0x3C,                         /* basic.deliver */
        0x03, 'c',  't',  'g',                          /* consumer-tag */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, /* delivery-tag 258 */
        0x01,                                           /* redelivered */
        0x02, 'e',  'x',                                /* exchange */
        0x02, 'r',  'k',                                /* routing-key */
    };
    struct wrn_method m;

    ASSERT_EQ(wrn_method_decode(wire, sizeof(wire), &m), WRN_OK);
    EXPECT_TRUE(wrn_slice_eq_str(m.a.basic_deliver.consumer_tag, "ctg"));
    EXPECT_EQ(m.a.basic_deliver.delivery_tag, 258u);
    EXPECT_TRUE(m.a.basic_deliver.redelivered);
    EXPECT_TRUE(wrn_slice_eq_str(m.a.basic_deliver.exchange, "ex"));
    EXPECT_TRUE(wrn_slice_eq_str(m.a.basic_deliver.routing_key, "rk"));
}

TEST(Methods, BasicNackTwoBitsInOneOctet)
{
    const uint8_t wire[] = {0x00, 0x3C, 0x00, 0x78, 0, 0, 0, 0, 0, 0, 0, 9, 0x02};
    struct wrn_method m;

    ASSERT_EQ(wrn_method_decode(wire, sizeof(wire), &m), WRN_OK);
    EXPECT_EQ(m.a.basic_nack.delivery_tag, 9u);
    EXPECT_FALSE(m.a.basic_nack.multiple);
    EXPECT_TRUE(m.a.basic_nack.requeue);
}

/* As a real RabbitMQ 3.10 sent them. */
TEST(Methods, FramesFromRabbitMQDecode)
{
    const uint8_t tune[] = {0x00, 0x0a, 0x00, 0x1e, 0x07, 0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x3c};
    const uint8_t declare_ok[] = {0x00, 0x32, 0x00, 0x0b, 0x05, 'c',  'a',  'p',  '-',
                                  'q',  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    const uint8_t basic_return[] = {0x00, 0x3c, 0x00, 0x32, 0x01, 0x38, 0x08, 'N',
                                    'O',  '_',  'R',  'O',  'U',  'T',  'E',  0x00,
                                    0x07, 'n',  'o',  'w',  'h',  'e',  'r',  'e'};
    struct wrn_method m;

    ASSERT_EQ(wrn_method_decode(tune, sizeof(tune), &m), WRN_OK);
    EXPECT_EQ(m.id, WRN_CONNECTION_TUNE);
    EXPECT_EQ(m.a.connection_tune.channel_max, 2047);
    EXPECT_EQ(m.a.connection_tune.frame_max, 131072u);
    EXPECT_EQ(m.a.connection_tune.heartbeat, 60);

    ASSERT_EQ(wrn_method_decode(declare_ok, sizeof(declare_ok), &m), WRN_OK);
    EXPECT_TRUE(wrn_slice_eq_str(m.a.queue_declare_ok.queue, "cap-q"));
    EXPECT_EQ(m.a.queue_declare_ok.message_count, 0u);
    EXPECT_EQ(m.a.queue_declare_ok.consumer_count, 0u);

    ASSERT_EQ(wrn_method_decode(basic_return, sizeof(basic_return), &m), WRN_OK);
    EXPECT_EQ(m.a.basic_return.reply_code, WRN_NO_ROUTE);
    EXPECT_TRUE(wrn_slice_eq_str(m.a.basic_return.reply_text, "NO_ROUTE"));
    EXPECT_EQ(m.a.basic_return.exchange.len, 0u);
    EXPECT_TRUE(wrn_slice_eq_str(m.a.basic_return.routing_key, "nowhere"));
}

TEST(Methods, UnknownClassOrMethodIsEunknown)
{
    const uint8_t unknown_method[] = {0x00, 0x3C, 0x00, 0x29, 1, 2, 3}; /* basic 41 */
    const uint8_t unknown_class[] = {0x00, 0x63, 0x00, 0x0A};           /* class 99 */
    const uint8_t zero[] = {0, 0, 0, 0};
    struct wrn_method m;
    uint8_t out[64];

    EXPECT_EQ(wrn_method_decode(unknown_method, sizeof(unknown_method), &m), WRN_EUNKNOWN);
    EXPECT_EQ(m.id, WRN_METHOD_ID(60, 41)); /* kept for the error report */
    EXPECT_EQ(wrn_method_decode(unknown_class, sizeof(unknown_class), &m), WRN_EUNKNOWN);
    EXPECT_EQ(WRN_METHOD_CLASS(m.id), 99);
    EXPECT_EQ(wrn_method_decode(zero, sizeof(zero), &m), WRN_EUNKNOWN);
    /* Fewer than four bytes cannot even name a method. */
    EXPECT_EQ(wrn_method_decode(unknown_class, 3, &m), WRN_EPROTO);

    memset(&m, 0, sizeof(m));
    m.id = WRN_METHOD_ID(60, 41);
    EXPECT_EQ(wrn_method_encode(&m, out, sizeof(out)), WRN_EUNKNOWN);
}

TEST(Methods, MalformedTableArgumentIsEproto)
{
    /* queue.declare whose arguments table holds an unknown type letter. */
    const uint8_t bad_letter[] = {0x00, 0x32, 0x00, 0x0A, 0x00, 0x00, 0x01, 'q', 0x00,
                                  0x00, 0x00, 0x00, 0x04, 0x01, 'k',  'Z',  0x00};
    /* ...and one whose value string runs past the end of the table. */
    const uint8_t overrun[] = {0x00, 0x32, 0x00, 0x0A, 0x00, 0x00, 0x01, 'q',
                               0x00, 0x00, 0x00, 0x00, 0x08, 0x01, 'k',  'S',
                               0x00, 0x00, 0x00, 0x09, 'a',  'b',  'c',  'd'};
    /* A well-formed table in the same place decodes. */
    const uint8_t good[] = {0x00, 0x32, 0x00, 0x0A, 0x00, 0x00, 0x01, 'q',  0x00, 0x00,
                            0x00, 0x00, 0x07, 0x01, 'k',  'S',  0x00, 0x00, 0x00, 0x00};
    struct wrn_method m;

    EXPECT_EQ(wrn_method_decode(bad_letter, sizeof(bad_letter), &m), WRN_EPROTO);
    EXPECT_EQ(wrn_method_decode(overrun, sizeof(overrun), &m), WRN_EPROTO);
    EXPECT_EQ(wrn_method_decode(good, sizeof(good), &m), WRN_OK);
}

TEST(Methods, ShortstrLongerThan255IsCut)
{
    std::string name(300, 'n');
    struct wrn_method m, back;
    uint8_t out[512];
    int n;

    memset(&m, 0, sizeof(m));
    m.id = WRN_CHANNEL_CLOSE;
    m.a.channel_close.reply_code = WRN_NOT_FOUND;
    m.a.channel_close.reply_text = wrn_slice_str(name.c_str());
    n = wrn_method_encode(&m, out, sizeof(out));
    ASSERT_EQ(n, 4 + 2 + 1 + 255 + 2 + 2);
    ASSERT_EQ(wrn_method_decode(out, static_cast<size_t>(n), &back), WRN_OK);
    EXPECT_EQ(back.a.channel_close.reply_text.len, 255u);
    EXPECT_EQ(back.a.channel_close.reply_code, WRN_NOT_FOUND);
}

TEST(Methods, FrameEncodeWrapsTheMethod)
{
    struct wrn_method m;
    struct wrn_frame f;
    uint8_t out[64];
    const uint8_t expect[] = {
        0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x05,
        0x00, 0x55, 0x00, 0x0A, 0x01, 0xCE}; /* confirm.select nowait on ch 5 */

    memset(&m, 0, sizeof(m));
    m.id = WRN_CONFIRM_SELECT;
    m.a.confirm_select.nowait = true;
    ASSERT_EQ(wrn_frame_encode_method(5, &m, out, sizeof(out)), static_cast<int>(sizeof(expect)));
    EXPECT_EQ(memcmp(out, expect, sizeof(expect)), 0);
    ASSERT_EQ(wrn_frame_parse(out, sizeof(expect), 0, &f), static_cast<int>(sizeof(expect)));
    EXPECT_EQ(f.channel, 5);
    for (size_t cap = 0; cap < sizeof(expect); cap++)
        EXPECT_EQ(wrn_frame_encode_method(5, &m, out, cap), WRN_ENOSPC) << cap;
}

TEST(Methods, IdsAndNames)
{
    EXPECT_EQ(WRN_CONNECTION_START, 0x000A000AU);
    EXPECT_EQ(WRN_BASIC_PUBLISH, 0x003C0028U);
    EXPECT_EQ(WRN_EXCHANGE_UNBIND_OK, 0x00280033U); /* 51, as in the spec */
    EXPECT_EQ(WRN_METHOD_CLASS(WRN_BASIC_PUBLISH), WRN_CLASS_BASIC);
    EXPECT_EQ(WRN_METHOD_INDEX(WRN_BASIC_PUBLISH), 40);
    EXPECT_EQ(WRN_CLASS_CONFIRM, 85);
    EXPECT_EQ(WRN_CLASS_TX, 90);
    EXPECT_EQ(WRN_CLASS_ACCESS, 30);

    EXPECT_STREQ(wrn_method_name(WRN_BASIC_PUBLISH), "basic.publish");
    EXPECT_STREQ(wrn_method_name(WRN_QUEUE_DECLARE_OK), "queue.declare-ok");
    EXPECT_STREQ(wrn_method_name(WRN_CONNECTION_UPDATE_SECRET), "connection.update-secret");
    EXPECT_STREQ(wrn_method_name(WRN_METHOD_ID(60, 41)), "unknown");
    EXPECT_TRUE(wrn_method_known(WRN_BASIC_NACK));
    EXPECT_FALSE(wrn_method_known(WRN_METHOD_ID(60, 41)));
}

TEST(Methods, Traits)
{
    std::set<uint32_t> content;

    EXPECT_TRUE(wrn_method_synchronous(WRN_QUEUE_DECLARE));
    EXPECT_TRUE(wrn_method_synchronous(WRN_BASIC_RECOVER)); /* errata 28 */
    EXPECT_FALSE(wrn_method_synchronous(WRN_BASIC_PUBLISH));
    EXPECT_FALSE(wrn_method_synchronous(WRN_BASIC_ACK));
    EXPECT_FALSE(wrn_method_synchronous(WRN_METHOD_ID(60, 41)));

    for (uint32_t id : AllKnownIds())
        if (wrn_method_has_content(id))
            content.insert(id);
    EXPECT_EQ(content, (std::set<uint32_t>{WRN_BASIC_PUBLISH, WRN_BASIC_RETURN, WRN_BASIC_DELIVER,
                                           WRN_BASIC_GET_OK}));

    /* A client may send these... */
    for (uint32_t id : {WRN_CONNECTION_START_OK, WRN_CONNECTION_TUNE_OK, WRN_CONNECTION_CLOSE,
                        WRN_CONNECTION_CLOSE_OK, WRN_CHANNEL_OPEN, WRN_ACCESS_REQUEST,
                        WRN_QUEUE_DECLARE, WRN_BASIC_PUBLISH, WRN_BASIC_ACK, WRN_BASIC_NACK,
                        WRN_BASIC_CANCEL, WRN_CONFIRM_SELECT, WRN_TX_COMMIT})
        EXPECT_TRUE(wrn_method_server_receives(id)) << wrn_method_name(id);
    /* ...but not these, which only a server sends. */
    for (uint32_t id : {WRN_CONNECTION_START, WRN_CONNECTION_TUNE, WRN_CONNECTION_OPEN_OK,
                        WRN_QUEUE_DECLARE_OK, WRN_BASIC_DELIVER, WRN_BASIC_RETURN, WRN_BASIC_GET_OK,
                        WRN_BASIC_GET_EMPTY, WRN_ACCESS_REQUEST_OK, WRN_CONNECTION_UPDATE_SECRET})
        EXPECT_FALSE(wrn_method_server_receives(id)) << wrn_method_name(id);
    EXPECT_TRUE(wrn_method_client_receives(WRN_BASIC_DELIVER));
    EXPECT_TRUE(wrn_method_client_receives(WRN_BASIC_ACK)); /* publisher confirms */
    EXPECT_FALSE(wrn_method_client_receives(WRN_BASIC_PUBLISH));
    EXPECT_FALSE(wrn_method_server_receives(WRN_METHOD_ID(60, 41)));
}

TEST(Methods, ReplyCodes)
{
    EXPECT_STREQ(wrn_reply_name(WRN_NOT_FOUND), "NOT_FOUND");
    EXPECT_STREQ(wrn_reply_name(406), "PRECONDITION_FAILED");
    EXPECT_STREQ(wrn_reply_name(312), "NO_ROUTE");
    EXPECT_STREQ(wrn_reply_name(200), "REPLY_SUCCESS");
    EXPECT_EQ(wrn_reply_name(0), nullptr);
    EXPECT_EQ(wrn_reply_name(WRN_FRAME_END), nullptr); /* a constant, not a reply code */
    EXPECT_EQ(wrn_reply_name(599), nullptr);

    for (uint16_t code : {311, 312, 313, 403, 404, 405, 406}) {
        EXPECT_FALSE(wrn_reply_is_hard(code)) << code;
        EXPECT_TRUE(wrn_reply_is_soft(code)) << code;
    }
    for (uint16_t code : {320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541}) {
        EXPECT_TRUE(wrn_reply_is_hard(code)) << code;
        EXPECT_FALSE(wrn_reply_is_soft(code)) << code;
    }
    EXPECT_FALSE(wrn_reply_is_hard(200));
    EXPECT_FALSE(wrn_reply_is_soft(200));
}

TEST(Methods, Constants)
{
    EXPECT_EQ(WRN_FRAME_METHOD, 1);
    EXPECT_EQ(WRN_FRAME_HEADER, 2);
    EXPECT_EQ(WRN_FRAME_BODY, 3);
    EXPECT_EQ(WRN_FRAME_HEARTBEAT, 8);
    EXPECT_EQ(WRN_FRAME_END, 206);
    EXPECT_EQ(WRN_FRAME_MIN_SIZE, 8192); /* RabbitMQ 4.1+, spec README */
    EXPECT_EQ(WRN_NOT_FOUND, 404);
    EXPECT_EQ(WRN_NOT_IMPLEMENTED, 540);
}
