/*
 * Connection-level behaviour seen through rabbitmq-c: the handshake and the
 * server's properties, login failures, negotiated limits, heartbeats,
 * channel numbering and client-initiated close.
 */
#include "client.h"

#include <string>

using namespace interop;

namespace {

class Connection : public fixture {};

TEST_F(Connection, ServerPropertiesHaveProductAndAllCapabilities)
{
    conn c;
    amqp_table_t *props = amqp_get_server_properties(c.get());
    ASSERT_NE(props, nullptr);

    const amqp_field_value_t *product = find(*props, "product");
    ASSERT_NE(product, nullptr);
    ASSERT_TRUE(product->kind == AMQP_FIELD_KIND_UTF8 ||
                product->kind == AMQP_FIELD_KIND_BYTES);
    EXPECT_GT(product->value.bytes.len, 0u);

    const amqp_field_value_t *caps = find(*props, "capabilities");
    ASSERT_NE(caps, nullptr);
    ASSERT_EQ(caps->kind, AMQP_FIELD_KIND_TABLE);
    for (const char *name :
         {"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
          "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
          "authentication_failure_close", "per_consumer_qos",
          "direct_reply_to"}) {
        SCOPED_TRACE(name);
        const amqp_field_value_t *v = find(caps->value.table, name);
        ASSERT_NE(v, nullptr);
        ASSERT_EQ(v->kind, AMQP_FIELD_KIND_BOOLEAN);
        EXPECT_TRUE(v->value.boolean);
    }
}

TEST_F(Connection, PlainLoginNegotiatesRequestedLimits)
{
    options o;
    o.channel_max = 10;
    o.frame_max = 4096;
    o.heartbeat = 0;
    conn c(o);
    EXPECT_EQ(amqp_get_channel_max(c.get()), 10);
    EXPECT_EQ(amqp_get_frame_max(c.get()), 4096);
    EXPECT_EQ(amqp_get_heartbeat(c.get()), 0);
    expect_usable(c);
}

TEST_F(Connection, ServerOffersNonZeroLimitsWhenClientAsksForNone)
{
    options o;
    o.channel_max = 0;
    o.frame_max = 0;
    conn c(o);
    /* rabbitmq-c takes the server's tune values when asked for "no limit". */
    EXPECT_GT(amqp_get_channel_max(c.get()), 0);
    EXPECT_GE(amqp_get_frame_max(c.get()), 4096);
    expect_usable(c);
}

TEST_F(Connection, WrongPasswordIsRefusedWithAccessRefused403)
{
    options o;
    o.password = "not-the-password";
    reply r = conn::try_login(o);
    EXPECT_TRUE(is_connection_error(r, 403, "ACCESS_REFUSED - "));
}

TEST_F(Connection, WrongPasswordWithoutAuthFailureCloseCapabilityDropsSocket)
{
    options o;
    o.password = "not-the-password";
    o.auth_failure_close = false;
    reply r = conn::try_login(o);
    /* No connection.close: the socket is closed (RabbitMQ waits ~3 s). */
    EXPECT_EQ(r.kind, reply::library_error) << r.describe();
    EXPECT_NE(r.status, AMQP_STATUS_TIMEOUT) << r.describe();
}

TEST_F(Connection, UnknownUserIsRefusedWithAccessRefused403)
{
    options o;
    o.user = unique_name("nobody");
    reply r = conn::try_login(o);
    EXPECT_TRUE(is_connection_error(r, 403, "ACCESS_REFUSED - "));
}

TEST_F(Connection, UnknownVhostIsClosedWith530NotAllowed)
{
    options o;
    o.vhost = unique_name("no-such-vhost");
    reply r = conn::try_login(o);
    EXPECT_TRUE(is_connection_error(r, 530, "NOT_ALLOWED - "));
}

TEST_F(Connection, OneSecondHeartbeatKeepsIdleConnectionOpen)
{
    options o;
    o.heartbeat = 1;
    conn c(o);
    ASSERT_EQ(amqp_get_heartbeat(c.get()), 1);
    /*
     * rabbitmq-c sends heartbeats while it waits, and gives up with
     * HEARTBEAT_TIMEOUT if nothing arrives for two intervals; so a quiet
     * wait of several intervals proves the server keeps beating too.
     */
    event e = c.next(3.5);
    EXPECT_EQ(e.kind, event::timeout) << e.describe();
    expect_usable(c);
}

TEST_F(Connection, FrameLargerThanNegotiatedFrameMaxIs501FrameError)
{
    options o;
    o.frame_max = 4096;
    conn c(o);
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    /* Let the library send bigger frames than were agreed with the server. */
    ASSERT_EQ(amqp_tune_connection(c.get(), amqp_get_channel_max(c.get()),
                                   65536, 0),
              AMQP_STATUS_OK);
    c.publish(ch, "", q, std::string(10000, 'x'));
    event e = c.next();
    EXPECT_EQ(e.kind, event::connection_close) << e.describe();
    EXPECT_EQ(e.code, 501);
    EXPECT_EQ(e.text.rfind("FRAME_ERROR - ", 0), 0u) << e.text;
}

/*
 * RabbitMQ 3.10 enforces channel_max as a limit on open channels: with
 * channel_max 5, five channels open and the sixth is refused.
 */
TEST_F(Connection, OpeningMoreChannelsThanChannelMaxIsConnectionError530)
{
    options o;
    o.channel_max = 5;
    conn c(o);
    ASSERT_EQ(amqp_get_channel_max(c.get()), 5);
    for (amqp_channel_t ch = 1; ch <= 5; ch++)
        ASSERT_TRUE(is_ok(c.open_channel(ch))) << "channel " << ch;
    reply r = c.open_channel(6);
    EXPECT_TRUE(is_connection_error(r, 530, "NOT_ALLOWED - "));
    EXPECT_FALSE(c.alive());
}

TEST_F(Connection, OpeningAnOpenChannelAgainIs504ChannelError)
{
    conn c;
    ASSERT_TRUE(is_ok(c.open_channel(3)));
    reply r = c.open_channel(3);
    EXPECT_TRUE(is_connection_error(r, 504, "CHANNEL_ERROR - "));
}

TEST_F(Connection, MethodOnUnopenedChannelIs504ChannelError)
{
    conn c;
    amqp_queue_declare(c.get(), 7, amqp_empty_bytes, 0, 0, 1, 1,
                       amqp_empty_table);
    reply r = c.last(7);
    EXPECT_TRUE(is_connection_error(r, 504, "CHANNEL_ERROR - "));
}

TEST_F(Connection, ClientInitiatedCloseGetsCloseOk)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    c.declare_queue(ch, "", exclusive);
    EXPECT_TRUE(is_ok(c.close()));
}

TEST_F(Connection, ClosedChannelNumberCanBeReopened)
{
    conn c;
    ASSERT_TRUE(is_ok(c.open_channel(1)));
    EXPECT_TRUE(is_ok(c.close_channel(1)));
    ASSERT_TRUE(is_ok(c.open_channel(1)));
    EXPECT_TRUE(is_ok(c.sync(1)));
}

TEST_F(Connection, ManyChannelsOnOneConnectionWorkIndependently)
{
    conn c;
    std::vector<amqp_channel_t> chans;
    std::vector<std::string> queues;
    for (int i = 0; i < 20; i++) {
        chans.push_back(c.open_channel());
        queues.push_back(c.declare_queue(chans.back(), "", exclusive));
    }
    for (size_t i = 0; i < chans.size(); i++)
        c.publish(chans[i], "", queues[i], "m" + std::to_string(i));
    for (size_t i = 0; i < chans.size(); i++) {
        got g = c.get(chans[i], queues[i]);
        ASSERT_TRUE(is_ok(g.reply));
        ASSERT_FALSE(g.empty);
        EXPECT_EQ(g.msg.body, "m" + std::to_string(i));
    }
}

TEST_F(Connection, ChannelFlowActiveTrueIsConfirmed)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_channel_flow_ok_t *ok = amqp_channel_flow(c.get(), ch, 1);
    ASSERT_TRUE(is_ok(c.last(ch)));
    ASSERT_NE(ok, nullptr);
    EXPECT_TRUE(ok->active);
    EXPECT_TRUE(is_ok(c.sync(ch)));
}

TEST_F(Connection, ChannelFlowActiveFalseIs540NotImplemented)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_channel_flow(c.get(), ch, 0);
    reply r = c.last(ch);
    EXPECT_TRUE(is_connection_error(r, 540, "NOT_IMPLEMENTED - "));
}

} /* namespace */
