/*
 * Publishing: returns for unroutable mandatory messages, publish errors,
 * properties and header values surviving byte for byte, and bodies of
 * every awkward size under small and large frame_max.
 */
#include "client.h"

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

using namespace interop;

namespace {

class Publish : public fixture {};

TEST_F(Publish, MandatoryUnroutableIsReturnedWith312NoRoute)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("noroute");
    c.declare_exchange(ch, x, "direct");
    amqp_basic_properties_t props;
    std::memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = amqp_cstring_bytes("returned-1");
    c.publish(ch, x, "nowhere", "unroutable", &props, true);
    event e = c.next();
    ASSERT_EQ(e.kind, event::returned) << e.describe();
    EXPECT_EQ(e.channel, ch);
    EXPECT_EQ(e.code, 312);
    EXPECT_EQ(e.text, "NO_ROUTE");
    EXPECT_EQ(e.exchange, x);
    EXPECT_EQ(e.routing_key, "nowhere");
    EXPECT_EQ(e.msg.body, "unroutable");
    EXPECT_EQ(str(e.msg.props().message_id), "returned-1");
    EXPECT_TRUE(is_ok(c.sync(ch)));
}

TEST_F(Publish, MandatoryToMissingQueueOnDefaultExchangeIsReturned)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_name("not-declared");
    c.publish(ch, "", q, "lost", nullptr, true);
    event e = c.next();
    ASSERT_EQ(e.kind, event::returned) << e.describe();
    EXPECT_EQ(e.code, 312);
    EXPECT_EQ(e.exchange, "");
    EXPECT_EQ(e.routing_key, q);
}

TEST_F(Publish, NonMandatoryUnroutableIsDroppedSilently)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("drop");
    c.declare_exchange(ch, x, "fanout");
    c.publish(ch, x, "k", "dropped");
    EXPECT_TRUE(is_ok(c.sync(ch)));
    event e = c.next(0.4);
    EXPECT_EQ(e.kind, event::timeout) << e.describe();
}

TEST_F(Publish, PublishToMissingExchangeIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    c.publish(ch, exchange_name("absent"), "k", "body");
    EXPECT_TRUE(is_channel_error(c.sync(ch), 404, "NOT_FOUND - no exchange '"));
    expect_usable(c);
}

TEST_F(Publish, ImmediatePublishIs540NotImplementedConnectionError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    c.consume(ch, q, "", true);
    c.publish(ch, "", q, "immediate", nullptr, false, true);
    event e = c.next();
    ASSERT_EQ(e.kind, event::connection_close) << e.describe();
    EXPECT_EQ(e.code, 540);
    EXPECT_EQ(e.text.rfind("NOT_IMPLEMENTED - ", 0), 0u) << e.text;
    EXPECT_FALSE(c.alive());
}

TEST_F(Publish, UserIdOtherThanTheLoginIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    amqp_basic_properties_t props;
    std::memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_USER_ID_FLAG;
    props.user_id = amqp_cstring_bytes("someone-else");
    c.publish(ch, "", q, "spoofed", &props);
    EXPECT_TRUE(is_channel_error(c.sync(ch), 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

/*
 * Builds every basic property and a headers table holding each field type
 * rabbitmq-c can encode, nested tables and arrays included.
 */
class all_properties {
public:
    all_properties()
    {
        std::memset(&props, 0, sizeof props);
        add_scalar("bool-true", AMQP_FIELD_KIND_BOOLEAN).value.boolean = 1;
        add_scalar("bool-false", AMQP_FIELD_KIND_BOOLEAN).value.boolean = 0;
        add_scalar("i8", AMQP_FIELD_KIND_I8).value.i8 = -100;
        add_scalar("u8", AMQP_FIELD_KIND_U8).value.u8 = 200;
        add_scalar("i16", AMQP_FIELD_KIND_I16).value.i16 = -30000;
        add_scalar("u16", AMQP_FIELD_KIND_U16).value.u16 = 60000;
        add_scalar("i32", AMQP_FIELD_KIND_I32).value.i32 = -2000000000;
        add_scalar("u32", AMQP_FIELD_KIND_U32).value.u32 = 4000000000u;
        add_scalar("i64", AMQP_FIELD_KIND_I64).value.i64 = -9000000000000000000LL;
        add_scalar("u64", AMQP_FIELD_KIND_U64).value.u64 = 18000000000000000000ull;
        add_scalar("f32", AMQP_FIELD_KIND_F32).value.f32 = 3.25f;
        add_scalar("f64", AMQP_FIELD_KIND_F64).value.f64 = -1.0e300;
        amqp_field_value_t &dec = add_scalar("decimal", AMQP_FIELD_KIND_DECIMAL);
        dec.value.decimal.decimals = 2;
        dec.value.decimal.value = 12345;
        add_scalar("timestamp", AMQP_FIELD_KIND_TIMESTAMP).value.u64 =
            1700000000u;
        add_scalar("void", AMQP_FIELD_KIND_VOID);
        amqp_field_value_t &s = add_scalar("utf8", AMQP_FIELD_KIND_UTF8);
        s.value.bytes = keep("h\xc3\xa9llo w\xc3\xb6rld");
        amqp_field_value_t &b = add_scalar("bytes", AMQP_FIELD_KIND_BYTES);
        b.value.bytes = keep(std::string("\x00\x01\xff\xfe", 4));
        amqp_field_value_t &e = add_scalar("empty-string", AMQP_FIELD_KIND_UTF8);
        e.value.bytes = amqp_empty_bytes;

        /* A nested table and an array of mixed values. */
        nested_.resize(2);
        nested_[0].key = keep("inner-int");
        nested_[0].value.kind = AMQP_FIELD_KIND_I32;
        nested_[0].value.value.i32 = 42;
        nested_[1].key = keep("inner-str");
        nested_[1].value.kind = AMQP_FIELD_KIND_UTF8;
        nested_[1].value.value.bytes = keep("deep");
        array_.resize(3);
        array_[0].kind = AMQP_FIELD_KIND_I32;
        array_[0].value.i32 = 7;
        array_[1].kind = AMQP_FIELD_KIND_UTF8;
        array_[1].value.bytes = keep("seven");
        array_[2].kind = AMQP_FIELD_KIND_BOOLEAN;
        array_[2].value.boolean = 1;
        amqp_field_value_t &t = add_scalar("table", AMQP_FIELD_KIND_TABLE);
        t.value.table.num_entries = (int)nested_.size();
        t.value.table.entries = nested_.data();
        amqp_field_value_t &a = add_scalar("array", AMQP_FIELD_KIND_ARRAY);
        a.value.array.num_entries = (int)array_.size();
        a.value.array.entries = array_.data();
        amqp_field_value_t &ea = add_scalar("empty-array", AMQP_FIELD_KIND_ARRAY);
        ea.value.array.num_entries = 0;
        ea.value.array.entries = nullptr;

        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
                       AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_HEADERS_FLAG |
                       AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
                       AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
                       AMQP_BASIC_EXPIRATION_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                       AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_TYPE_FLAG |
                       AMQP_BASIC_USER_ID_FLAG | AMQP_BASIC_APP_ID_FLAG |
                       AMQP_BASIC_CLUSTER_ID_FLAG;
        props.content_type = keep("application/x-interop");
        props.content_encoding = keep("identity");
        props.headers.num_entries = (int)headers_.size();
        props.headers.entries = headers_.data();
        props.delivery_mode = 2;
        props.priority = 7;
        props.correlation_id = keep("corr-\x01-id");
        props.reply_to = keep("reply.queue");
        props.expiration = keep("600000");
        props.message_id = keep("msg-0001");
        props.timestamp = 1234567890123ull;
        props.type = keep("interop.type");
        props.user_id = keep("guest"); /* must match the login */
        props.app_id = keep("interop-c");
        props.cluster_id = keep("cluster-x");
    }

    /* The property block exactly as rabbitmq-c puts it on the wire. */
    std::string
    encoded()
    {
        std::string buf(65536, '\0');
        int n = amqp_encode_properties(AMQP_BASIC_CLASS, &props, bytes(buf));
        if (n < 0)
            throw std::runtime_error("cannot encode properties");
        buf.resize((size_t)n);
        return buf;
    }

    amqp_basic_properties_t props;

private:
    amqp_field_value_t &
    add_scalar(const std::string &key, uint8_t kind)
    {
        amqp_table_entry_t e;
        std::memset(&e, 0, sizeof e);
        e.key = keep(key);
        e.value.kind = kind;
        headers_.push_back(e);
        return headers_.back().value;
    }

    amqp_bytes_t
    keep(const std::string &s)
    {
        strings_.push_back(s);
        return bytes(strings_.back());
    }

    std::deque<std::string> strings_;
    std::vector<amqp_table_entry_t> headers_;
    std::vector<amqp_table_entry_t> nested_;
    std::vector<amqp_field_value_t> array_;
};

void
expect_same_properties(const amqp_basic_properties_t &got_props,
                       const amqp_basic_properties_t &sent)
{
    EXPECT_EQ(got_props._flags, sent._flags);
    EXPECT_EQ(str(got_props.content_type), str(sent.content_type));
    EXPECT_EQ(str(got_props.content_encoding), str(sent.content_encoding));
    EXPECT_EQ(got_props.delivery_mode, sent.delivery_mode);
    EXPECT_EQ(got_props.priority, sent.priority);
    EXPECT_EQ(str(got_props.correlation_id), str(sent.correlation_id));
    EXPECT_EQ(str(got_props.reply_to), str(sent.reply_to));
    EXPECT_EQ(str(got_props.expiration), str(sent.expiration));
    EXPECT_EQ(str(got_props.message_id), str(sent.message_id));
    EXPECT_EQ(got_props.timestamp, sent.timestamp);
    EXPECT_EQ(str(got_props.type), str(sent.type));
    EXPECT_EQ(str(got_props.user_id), str(sent.user_id));
    EXPECT_EQ(str(got_props.app_id), str(sent.app_id));
    EXPECT_EQ(str(got_props.cluster_id), str(sent.cluster_id));
    ASSERT_EQ(got_props.headers.num_entries, sent.headers.num_entries);
    for (int i = 0; i < sent.headers.num_entries; i++) {
        const amqp_table_entry_t &want = sent.headers.entries[i];
        SCOPED_TRACE("header " + str(want.key));
        const amqp_field_value_t *have = find(got_props.headers, str(want.key));
        ASSERT_NE(have, nullptr);
        EXPECT_EQ(have->kind, want.value.kind);
    }
    const amqp_field_value_t *d = find(got_props.headers, "decimal");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->value.decimal.decimals, 2u);
    EXPECT_EQ(d->value.decimal.value, 12345u);
    const amqp_field_value_t *u = find(got_props.headers, "u32");
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->value.u32, 4000000000u);
    const amqp_field_value_t *f = find(got_props.headers, "f64");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->value.f64, -1.0e300);
    const amqp_field_value_t *t = find(got_props.headers, "table");
    ASSERT_NE(t, nullptr);
    const amqp_field_value_t *inner = find(t->value.table, "inner-str");
    ASSERT_NE(inner, nullptr);
    EXPECT_EQ(str(inner->value.bytes), "deep");
    const amqp_field_value_t *a = find(got_props.headers, "array");
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a->value.array.num_entries, 3);
    EXPECT_EQ(str(a->value.array.entries[1].value.bytes), "seven");
}

TEST_F(Publish, AllBasicPropertiesAndHeaderTypesSurviveByteForByteOnDeliver)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    all_properties p;
    std::string wire = p.encoded();
    c.publish(ch, "", q, "with-properties", &p.props);
    c.consume(ch, q, "", true);
    event e = c.delivery();
    EXPECT_EQ(e.msg.body, "with-properties");
    EXPECT_EQ(e.msg.raw_properties, wire);
    expect_same_properties(e.msg.props(), p.props);
}

TEST_F(Publish, AllBasicPropertiesSurviveByteForByteOnGetAndReturn)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    all_properties p;
    std::string wire = p.encoded();
    c.publish(ch, "", q, "via-get", &p.props);
    got g = c.get(ch, q);
    ASSERT_TRUE(is_ok(g.reply));
    ASSERT_FALSE(g.empty);
    EXPECT_EQ(g.msg.raw_properties, wire);
    expect_same_properties(g.msg.props(), p.props);

    c.publish(ch, "", queue_name("nowhere"), "via-return", &p.props, true);
    event e = c.next();
    ASSERT_EQ(e.kind, event::returned) << e.describe();
    EXPECT_EQ(e.msg.raw_properties, wire);
}

TEST_F(Publish, MessageWithoutPropertiesArrivesWithNone)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    c.publish(ch, "", q, "bare");
    got g = c.get(ch, q);
    ASSERT_TRUE(is_ok(g.reply));
    ASSERT_FALSE(g.empty);
    EXPECT_EQ(g.msg.props()._flags, 0u);
    EXPECT_EQ(g.msg.raw_properties, std::string(2, '\0'));
}

TEST_F(Publish, MessagesOnOneChannelArriveInPublishOrder)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    std::vector<std::string> sent;
    for (int i = 0; i < 200; i++) {
        sent.push_back("n" + std::to_string(i));
        c.publish(ch, "", q, sent.back());
    }
    c.consume(ch, q, "", true);
    for (const std::string &want : sent) {
        event e = c.delivery();
        ASSERT_EQ(e.msg.body, want);
    }
}

/* Deterministic bytes that differ at every offset of a frame. */
std::string
pattern_body(size_t n)
{
    std::string s(n, '\0');
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s[i] = (char)(x & 0xff);
    }
    return s;
}

/* FNV-1a, to report a mismatch without printing megabytes. */
uint64_t
fnv1a(const std::string &s)
{
    uint64_t h = 14695981039346656037ull;
    for (unsigned char ch : s) {
        h ^= ch;
        h *= 1099511628211ull;
    }
    return h;
}

enum body_size { zero, one, frame_payload, frame_payload_plus_one, mib3, mib16 };

size_t
size_for(body_size s, int frame_max)
{
    switch (s) {
    case zero:
        return 0;
    case one:
        return 1;
    case frame_payload:
        return (size_t)frame_max - 8;
    case frame_payload_plus_one:
        return (size_t)frame_max - 8 + 1;
    case mib3:
        return 3u << 20;
    case mib16:
        return 16u << 20;
    }
    return 0;
}

class Body : public fixture,
             public ::testing::WithParamInterface<std::tuple<int, body_size>> {};

/*
 * rabbitmq-c rejects any incoming frame larger than the negotiated
 * frame_max, so these also check that the server honours a small one.
 */
TEST_P(Body, SurvivesIntactThroughDeliverAndGet)
{
    int frame_max = std::get<0>(GetParam());
    size_t n = size_for(std::get<1>(GetParam()), frame_max);
    options o;
    o.frame_max = frame_max;
    conn c(o);
    ASSERT_EQ(amqp_get_frame_max(c.get()), frame_max);
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    std::string body = pattern_body(n);
    c.publish(ch, "", q, body);
    c.publish(ch, "", q, body);

    got g = c.get(ch, q);
    ASSERT_TRUE(is_ok(g.reply));
    ASSERT_FALSE(g.empty);
    ASSERT_EQ(g.msg.body.size(), n);
    EXPECT_EQ(fnv1a(g.msg.body), fnv1a(body));
    EXPECT_TRUE(g.msg.body == body);

    c.consume(ch, q, "", true);
    event e = c.delivery(30.0);
    ASSERT_EQ(e.msg.body.size(), n);
    EXPECT_EQ(fnv1a(e.msg.body), fnv1a(body));
    EXPECT_TRUE(e.msg.body == body);
}

std::string
body_case_name(const ::testing::TestParamInfo<std::tuple<int, body_size>> &info)
{
    static const char *const size_names[] = {
        "Empty", "OneByte", "FramePayload", "FramePayloadPlusOne", "ThreeMiB",
        "SixteenMiB"};
    return std::string(size_names[std::get<1>(info.param)]) + "_FrameMax" +
           std::to_string(std::get<0>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    Publish, Body,
    ::testing::Combine(::testing::Values(131072, 4096),
                       ::testing::Values(zero, one, frame_payload,
                                         frame_payload_plus_one, mib3, mib16)),
    body_case_name);

} /* namespace */
