/*
 * Exchange declaration, deletion and exchange-to-exchange bindings,
 * including the errors RabbitMQ raises for reserved names, non-equivalent
 * redeclares and internal exchanges.
 */
#include "client.h"

#include <string>
#include <vector>

using namespace interop;

namespace {

class Exchange : public fixture {};

TEST_F(Exchange, DeclaresEachStandardTypeAndFindsItPassively)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    for (const char *type : {"direct", "fanout", "topic", "headers"}) {
        SCOPED_TRACE(type);
        std::string x = exchange_name(type);
        EXPECT_TRUE(is_ok(c.exchange_declare(ch, x, type)));
        EXPECT_TRUE(is_ok(c.exchange_declare(ch, x, type, passive)));
        /* An identical redeclare is fine. */
        EXPECT_TRUE(is_ok(c.exchange_declare(ch, x, type)));
    }
}

TEST_F(Exchange, PassiveDeclareOfMissingExchangeIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.exchange_declare(ch, exchange_name("missing"), "direct", passive);
    EXPECT_TRUE(is_channel_error(r, 404, "NOT_FOUND - no exchange '"));
    expect_usable(c);
}

TEST_F(Exchange, RedeclareWithDifferentTypeIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("retype");
    c.declare_exchange(ch, x, "direct");
    reply r = c.exchange_declare(ch, x, "fanout");
    EXPECT_TRUE(is_channel_error(r, 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Exchange, RedeclareWithDifferentDurableIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("redurable");
    c.declare_exchange(ch, x, "direct");
    reply r = c.exchange_declare(ch, x, "direct", durable);
    EXPECT_TRUE(is_channel_error(r, 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Exchange, RedeclareWithDifferentAutoDeleteIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("readelete");
    c.declare_exchange(ch, x, "topic");
    reply r = c.exchange_declare(ch, x, "topic", auto_delete);
    EXPECT_TRUE(is_channel_error(r, 406, "PRECONDITION_FAILED - "));
}

TEST_F(Exchange, PassiveDeclareIgnoresTypeAndFlags)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("passive");
    c.declare_exchange(ch, x, "direct");
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, x, "fanout", passive | durable)));
}

/* RabbitMQ 3.10 treats an unknown type as a connection error. */
TEST_F(Exchange, UnknownTypeIs503CommandInvalidConnectionError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.exchange_declare(ch, exchange_name("badtype"), "no-such-type");
    EXPECT_TRUE(is_connection_error(r, 503, "COMMAND_INVALID - "));
}

TEST_F(Exchange, DeclaringAmqPrefixedNameIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.exchange_declare(ch, "amq." + unique_name("x"), "direct");
    EXPECT_TRUE(is_channel_error(r, 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Exchange, PassiveDeclareOfAmqExchangesSucceeds)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, "amq.direct", "direct", passive)));
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, "amq.fanout", "fanout", passive)));
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, "amq.topic", "topic", passive)));
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, "amq.headers", "headers", passive)));
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, "amq.match", "headers", passive)));
}

TEST_F(Exchange, DeletingAmqDirectIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_exchange_delete(c.get(), ch, amqp_cstring_bytes("amq.direct"), 0);
    EXPECT_TRUE(is_channel_error(c.last(ch), 403, "ACCESS_REFUSED - "));
    ch = c.open_channel();
    EXPECT_TRUE(is_ok(c.exchange_declare(ch, "amq.direct", "direct", passive)));
}

TEST_F(Exchange, DeclaringDefaultExchangeIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.exchange_declare(ch, "", "direct");
    EXPECT_TRUE(is_channel_error(r, 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

/* RabbitMQ 3.10 refuses even a passive declare of the default exchange. */
TEST_F(Exchange, PassiveDeclareOfDefaultExchangeIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.exchange_declare(ch, "", "direct", passive);
    EXPECT_TRUE(is_channel_error(r, 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Exchange, DeletingDefaultExchangeIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_exchange_delete(c.get(), ch, amqp_empty_bytes, 0);
    EXPECT_TRUE(is_channel_error(c.last(ch), 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Exchange, BindingAndUnbindingOnDefaultExchangeIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    amqp_queue_bind(c.get(), ch, bytes(q), amqp_empty_bytes, bytes(q),
                    amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 403, "ACCESS_REFUSED - "));

    ch = c.open_channel();
    amqp_queue_unbind(c.get(), ch, bytes(q), amqp_empty_bytes, bytes(q),
                      amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Exchange, ExchangeBindWithDefaultExchangeIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("src");
    c.declare_exchange(ch, x, "fanout");
    amqp_exchange_bind(c.get(), ch, amqp_empty_bytes, bytes(x),
                       amqp_cstring_bytes("k"), amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Exchange, DeletingMissingExchangeSucceeds)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_exchange_delete(c.get(), ch, bytes(exchange_name("never")), 0);
    EXPECT_TRUE(is_ok(c.last(ch)));
    amqp_exchange_delete(c.get(), ch, bytes(exchange_name("never")), 1);
    EXPECT_TRUE(is_ok(c.last(ch)));
}

TEST_F(Exchange, DeleteRemovesTheExchange)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("gone");
    c.declare_exchange(ch, x, "topic");
    amqp_exchange_delete(c.get(), ch, bytes(x), 0);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_FALSE(c.exchange_exists(ch, x));
}

TEST_F(Exchange, DeleteIfUnusedWithBindingIs406ThenSucceedsUnbound)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("used");
    c.declare_exchange(ch, x, "direct");
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, x, "k");
    amqp_exchange_delete(c.get(), ch, bytes(x), 1);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));

    ch = c.open_channel();
    EXPECT_TRUE(c.exchange_exists(ch, x));
    amqp_queue_unbind(c.get(), ch, bytes(q), bytes(x), amqp_cstring_bytes("k"),
                      amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));
    amqp_exchange_delete(c.get(), ch, bytes(x), 1);
    EXPECT_TRUE(is_ok(c.last(ch)));
    EXPECT_FALSE(c.exchange_exists(ch, x));
}

TEST_F(Exchange, PublishingToInternalExchangeIs403AccessRefused)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("internal");
    c.declare_exchange(ch, x, "fanout", internal);
    c.publish(ch, x, "", "nope");
    EXPECT_TRUE(is_channel_error(c.sync(ch), 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Exchange, InternalExchangeStillRoutesThroughExchangeBinding)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string front = exchange_name("front");
    std::string inner = exchange_name("inner");
    c.declare_exchange(ch, front, "fanout");
    c.declare_exchange(ch, inner, "fanout", internal);
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, inner, "");
    amqp_exchange_bind(c.get(), ch, bytes(inner), bytes(front),
                       amqp_empty_bytes, amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));
    c.publish(ch, front, "any", "via-internal");
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"via-internal"});
}

TEST_F(Exchange, ExchangeBindRoutesAndUnbindStopsRouting)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string src = exchange_name("e2e-src");
    std::string dst = exchange_name("e2e-dst");
    c.declare_exchange(ch, src, "direct");
    c.declare_exchange(ch, dst, "topic");
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, dst, "#");
    amqp_exchange_bind(c.get(), ch, bytes(dst), bytes(src),
                       amqp_cstring_bytes("rk"), amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));

    c.publish(ch, src, "rk", "bound");
    c.publish(ch, src, "other", "wrong-key");
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"bound"});

    amqp_exchange_unbind(c.get(), ch, bytes(dst), bytes(src),
                         amqp_cstring_bytes("rk"), amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));
    c.publish(ch, src, "rk", "after-unbind");
    c.publish(ch, dst, "direct.to.dst", "direct");
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"direct"});
}

TEST_F(Exchange, ExchangeBindToMissingExchangeIs404)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("present");
    c.declare_exchange(ch, x, "fanout");
    amqp_exchange_bind(c.get(), ch, bytes(exchange_name("absent")), bytes(x),
                       amqp_empty_bytes, amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 404, "NOT_FOUND - "));
    ch = c.open_channel();
    amqp_exchange_bind(c.get(), ch, bytes(x), bytes(exchange_name("absent")),
                       amqp_empty_bytes, amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 404, "NOT_FOUND - "));
    expect_usable(c);
}

TEST_F(Exchange, AlternateExchangeReceivesUnroutableMessages)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string ae = exchange_name("ae");
    std::string x = exchange_name("with-ae");
    c.declare_exchange(ch, ae, "fanout");
    table args;
    args.str("alternate-exchange", ae);
    c.declare_exchange(ch, x, "direct", 0, args.get());
    std::string routed = c.declare_queue(ch, "", exclusive);
    std::string spill = c.declare_queue(ch, "", exclusive);
    c.bind(ch, routed, x, "known");
    c.bind(ch, spill, ae, "");

    c.publish(ch, x, "known", "routed");
    /* Mandatory is satisfied by the alternate route: no basic.return. */
    c.publish(ch, x, "unknown", "spilled", nullptr, true);
    EXPECT_EQ(c.drain(ch, routed), std::vector<std::string>{"routed"});
    EXPECT_EQ(c.drain(ch, spill), std::vector<std::string>{"spilled"});
    event e = c.next(0.4);
    EXPECT_EQ(e.kind, event::timeout) << e.describe();
}

TEST_F(Exchange, AutoDeleteExchangeGoesWhenLastBindingIsRemoved)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("autodel");
    c.declare_exchange(ch, x, "direct", auto_delete);
    /* Never bound: it stays. */
    EXPECT_TRUE(c.exchange_exists(ch, x));
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, x, "a");
    c.bind(ch, q, x, "b");
    amqp_queue_unbind(c.get(), ch, bytes(q), bytes(x), amqp_cstring_bytes("a"),
                      amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_TRUE(c.exchange_exists(ch, x));
    amqp_queue_unbind(c.get(), ch, bytes(q), bytes(x), amqp_cstring_bytes("b"),
                      amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_FALSE(c.exchange_exists(ch, x));
}

TEST_F(Exchange, AutoDeleteExchangeGoesWhenItsOnlyBoundQueueIsDeleted)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("autodel-q");
    c.declare_exchange(ch, x, "fanout", auto_delete);
    std::string q = c.declare_queue(ch, queue_name("autodel-q"));
    c.bind(ch, q, x, "");
    amqp_queue_delete(c.get(), ch, bytes(q), 0, 0);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_FALSE(c.exchange_exists(ch, x));
}

} /* namespace */
