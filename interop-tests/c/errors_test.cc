/*
 * Errors keep things usable: a channel error closes only its channel, the
 * connection and its other channels (and other connections) carry on, and
 * the closed channel's number can be opened again.
 */
#include "client.h"

#include <string>
#include <vector>

using namespace interop;

namespace {

class Errors : public fixture {};

TEST_F(Errors, ChannelErrorDoesNotDisturbAnotherChannelsConsumer)
{
    conn c;
    amqp_channel_t cons = c.open_channel();
    std::string q = c.declare_queue(cons, "", exclusive);
    std::string tag = c.consume(cons, q);
    c.publish(cons, "", q, "before");
    event before = c.delivery();
    EXPECT_EQ(before.msg.body, "before");

    amqp_channel_t bad = c.open_channel();
    reply r = c.queue_declare(bad, queue_name("missing"), passive,
                              amqp_empty_table, nullptr);
    ASSERT_TRUE(is_channel_error(r, 404, "NOT_FOUND - "));

    amqp_channel_t pub = c.open_channel();
    c.publish(pub, "", q, "after");
    event after = c.delivery();
    EXPECT_EQ(after.channel, cons);
    EXPECT_EQ(after.consumer_tag, tag);
    EXPECT_EQ(after.msg.body, "after");
    /* Acks for deliveries on the healthy channel still work. */
    c.ack(cons, before.delivery_tag);
    c.ack(cons, after.delivery_tag);
    EXPECT_TRUE(is_ok(c.sync(cons)));
}

TEST_F(Errors, AsynchronousChannelErrorDoesNotDisturbAnotherChannelsConsumer)
{
    conn c;
    amqp_channel_t cons = c.open_channel();
    std::string q = c.declare_queue(cons, "", exclusive);
    c.consume(cons, q, "steady", true);

    amqp_channel_t bad = c.open_channel();
    c.publish(bad, exchange_name("absent"), "k", "lost");
    c.publish(cons, "", q, "still-flowing");
    bool closed = false, delivered = false;
    for (int i = 0; i < 2; i++) {
        event e = c.next();
        if (e.kind == event::channel_close) {
            EXPECT_EQ(e.channel, bad);
            EXPECT_EQ(e.code, 404);
            closed = true;
        } else if (e.kind == event::deliver) {
            EXPECT_EQ(e.channel, cons);
            EXPECT_EQ(e.msg.body, "still-flowing");
            delivered = true;
        } else {
            ADD_FAILURE() << "unexpected " << e.describe();
        }
    }
    EXPECT_TRUE(closed);
    EXPECT_TRUE(delivered);
    EXPECT_TRUE(is_ok(c.sync(cons)));
}

TEST_F(Errors, ChannelCloseCarriesTheFailingMethodsIds)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.queue_declare(ch, queue_name("missing"), passive,
                              amqp_empty_table, nullptr);
    ASSERT_TRUE(is_channel_error(r, 404, "NOT_FOUND - "));
    EXPECT_EQ(r.class_id, AMQP_QUEUE_DECLARE_METHOD >> 16);
    EXPECT_EQ(r.method_id, AMQP_QUEUE_DECLARE_METHOD & 0xffff);

    ch = c.open_channel();
    r = c.exchange_declare(ch, exchange_name("missing"), "direct", passive);
    ASSERT_TRUE(is_channel_error(r, 404, "NOT_FOUND - "));
    EXPECT_EQ(r.class_id, AMQP_EXCHANGE_DECLARE_METHOD >> 16);
    EXPECT_EQ(r.method_id, AMQP_EXCHANGE_DECLARE_METHOD & 0xffff);
}

TEST_F(Errors, ChannelNumberCanBeReopenedAfterChannelError)
{
    conn c;
    ASSERT_TRUE(is_ok(c.open_channel(1)));
    reply r = c.queue_declare(1, queue_name("missing"), passive,
                              amqp_empty_table, nullptr);
    ASSERT_TRUE(is_channel_error(r, 404, "NOT_FOUND - "));
    ASSERT_TRUE(is_ok(c.open_channel(1)));
    std::string q = c.declare_queue(1, "", exclusive);
    c.publish(1, "", q, "reopened");
    EXPECT_EQ(c.drain(1, q), std::vector<std::string>{"reopened"});
}

TEST_F(Errors, UsingChannelClosedByServerWithoutReopeningIs504)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.queue_declare(ch, queue_name("missing"), passive,
                              amqp_empty_table, nullptr);
    ASSERT_TRUE(is_channel_error(r, 404, "NOT_FOUND - "));
    r = c.sync(ch);
    EXPECT_TRUE(is_connection_error(r, 504, "CHANNEL_ERROR - "));
}

TEST_F(Errors, FramesSentAfterChannelErrorAreDiscarded)
{
    conn c;
    amqp_channel_t keep = c.open_channel();
    std::string q = c.declare_queue(keep, "", exclusive);
    amqp_channel_t bad = c.open_channel();
    /* The first publish fails; the rest arrive before our close-ok. */
    c.publish(bad, exchange_name("absent"), "k", "fails");
    for (int i = 0; i < 3; i++)
        c.publish(bad, "", q, "discarded");
    event e = c.next();
    ASSERT_EQ(e.kind, event::channel_close) << e.describe();
    EXPECT_EQ(e.code, 404);
    EXPECT_EQ(c.next(0.4).kind, event::timeout);
    EXPECT_EQ(c.message_count(keep, q), 0u);
    expect_usable(c);
}

TEST_F(Errors, ManyChannelErrorsInARowLeaveConnectionUsable)
{
    conn c;
    for (int i = 0; i < 25; i++) {
        amqp_channel_t ch = c.open_channel();
        reply r = c.queue_declare(ch, queue_name("missing"), passive,
                                  amqp_empty_table, nullptr);
        ASSERT_TRUE(is_channel_error(r, 404, "NOT_FOUND - ")) << "round " << i;
    }
    expect_usable(c);
}

TEST_F(Errors, ConnectionErrorOnOneConnectionLeavesOthersWorking)
{
    conn steady;
    amqp_channel_t sch = steady.open_channel();
    std::string q = steady.declare_queue(sch, "", exclusive);
    steady.consume(sch, q, "steady", true);

    conn doomed;
    amqp_channel_t dch = doomed.open_channel();
    amqp_channel_flow(doomed.get(), dch, 0);
    ASSERT_TRUE(is_connection_error(doomed.last(dch), 540, "NOT_IMPLEMENTED - "));
    EXPECT_FALSE(doomed.alive());

    steady.publish(sch, "", q, "unaffected");
    EXPECT_EQ(steady.delivery().msg.body, "unaffected");
}

TEST_F(Errors, UnackedMessagesOnChannelClosedByErrorAreRequeued)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("err-requeue"));
    c.fill_queue(q, 1);
    amqp_channel_t cch = c.open_channel();
    got g = c.get(cch, q, false);
    ASSERT_FALSE(g.empty);
    EXPECT_FALSE(g.redelivered);
    c.ack(cch, g.delivery_tag + 100);
    EXPECT_TRUE(is_channel_error(c.sync(cch), 406, "PRECONDITION_FAILED - "));
    /* A consumer sees the message once it is back in the queue. */
    c.consume(ch, q, "", true);
    event back = c.delivery();
    EXPECT_EQ(back.msg.body, "m0");
    EXPECT_TRUE(back.redelivered);
}

} /* namespace */
