/*
 * Consuming: consumer tags, exclusive consumers, cancel and cancel
 * notification, round-robin, prefetch, basic.get, acknowledgements and
 * redelivery of unacked messages.
 */
#include "client.h"

#include <string>
#include <vector>

using namespace interop;

namespace {

class Consume : public fixture {
protected:
    /* A fresh server-named queue holding n messages "m0".."m<n-1>". */
    std::string
    queue_with(conn &c, amqp_channel_t ch, int n)
    {
        std::string q = c.declare_queue(ch, "", exclusive);
        for (int i = 0; i < n; i++)
            c.publish(ch, "", q, "m" + std::to_string(i));
        return q;
    }

    void
    expect_quiet(conn &c)
    {
        event e = c.next(0.4);
        EXPECT_EQ(e.kind, event::timeout) << e.describe();
    }
};

TEST_F(Consume, ServerGeneratedConsumerTagHasAmqCtagPrefix)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 1);
    std::string tag = c.consume(ch, q, "", true);
    EXPECT_EQ(tag.rfind("amq.ctag-", 0), 0u) << tag;
    event e = c.delivery();
    EXPECT_EQ(e.consumer_tag, tag);
    EXPECT_EQ(e.msg.body, "m0");
}

TEST_F(Consume, ClientChosenConsumerTagIsUsedInDeliveries)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 1);
    EXPECT_EQ(c.consume(ch, q, "my-tag", true), "my-tag");
    EXPECT_EQ(c.delivery().consumer_tag, "my-tag");
}

TEST_F(Consume, ConsumeOnMissingQueueIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_basic_consume(c.get(), ch, bytes(queue_name("absent")),
                       amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 404, "NOT_FOUND - "));
    expect_usable(c);
}

TEST_F(Consume, NoAckDeliveriesAreNotRequeuedWhenChannelCloses)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("noack"));
    amqp_channel_t cch = c.open_channel();
    c.fill_queue(q, 3);
    ASSERT_EQ(c.message_count(ch, q), 3u);
    c.consume(cch, q, "", true);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(c.delivery().msg.body, "m" + std::to_string(i));
    ASSERT_TRUE(is_ok(c.close_channel(cch)));
    EXPECT_EQ(c.message_count(ch, q), 0u);
}

TEST_F(Consume, ExclusiveConsumerBlocksSecondConsumerWith403)
{
    conn c;
    amqp_channel_t a = c.open_channel();
    std::string q = c.declare_queue(a, queue_name("excl-consumer"));
    c.consume(a, q, "first", false, true);
    amqp_channel_t b = c.open_channel();
    amqp_basic_consume(c.get(), b, bytes(q), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(b), 403, "ACCESS_REFUSED - "));

    /* The exclusive consumer still gets messages. */
    c.publish(a, "", q, "for-first");
    event e = c.delivery();
    EXPECT_EQ(e.consumer_tag, "first");
    EXPECT_EQ(e.msg.body, "for-first");
}

TEST_F(Consume, ExclusiveConsumeOnQueueWithConsumerIs403)
{
    conn c;
    amqp_channel_t a = c.open_channel();
    std::string q = c.declare_queue(a, queue_name("excl-late"));
    c.consume(a, q);
    amqp_channel_t b = c.open_channel();
    amqp_basic_consume(c.get(), b, bytes(q), amqp_empty_bytes, 0, 0, 1,
                       amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(b), 403, "ACCESS_REFUSED - "));
    expect_usable(c);
}

TEST_F(Consume, ReusingConsumerTagOnChannelIs530ConnectionError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q1 = c.declare_queue(ch, "", exclusive);
    std::string q2 = c.declare_queue(ch, "", exclusive);
    c.consume(ch, q1, "dup");
    amqp_basic_consume(c.get(), ch, bytes(q2), amqp_cstring_bytes("dup"), 0, 0,
                       0, amqp_empty_table);
    EXPECT_TRUE(is_connection_error(c.last(ch), 530, "NOT_ALLOWED - "));
    EXPECT_FALSE(c.alive());
}

TEST_F(Consume, SameConsumerTagOnDifferentChannelsIsAllowed)
{
    conn c;
    amqp_channel_t a = c.open_channel();
    amqp_channel_t b = c.open_channel();
    std::string q = c.declare_queue(a, "", exclusive);
    c.consume(a, q, "shared-tag");
    c.consume(b, q, "shared-tag");
    EXPECT_TRUE(is_ok(c.sync(a)));
    EXPECT_TRUE(is_ok(c.sync(b)));
}

TEST_F(Consume, CancelStopsDeliveryAndLeavesMessagesQueued)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 1);
    std::string tag = c.consume(ch, q, "", true);
    EXPECT_EQ(c.delivery().msg.body, "m0");
    ASSERT_TRUE(is_ok(c.cancel(ch, tag)));
    c.publish(ch, "", q, "after-cancel");
    expect_quiet(c);
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"after-cancel"});
}

TEST_F(Consume, CancelOfUnknownConsumerTagSucceeds)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    EXPECT_TRUE(is_ok(c.cancel(ch, "no-such-consumer")));
    EXPECT_TRUE(is_ok(c.sync(ch)));
}

TEST_F(Consume, DeletingQueueSendsBasicCancelToItsConsumers)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("cancel-notify"));
    amqp_channel_t cch = c.open_channel();
    std::string tag = c.consume(cch, q, "notify-me");
    conn other;
    amqp_channel_t och = other.open_channel();
    amqp_queue_delete(other.get(), och, bytes(q), 0, 0);
    ASSERT_TRUE(is_ok(other.last(och)));
    event e = c.next();
    ASSERT_EQ(e.kind, event::cancel) << e.describe();
    EXPECT_EQ(e.channel, cch);
    EXPECT_EQ(e.consumer_tag, "notify-me");
    /* The consumer's channel stays open. */
    EXPECT_TRUE(is_ok(c.sync(cch)));
}

TEST_F(Consume, WithoutCancelNotifyCapabilityQueueDeletionSendsNothing)
{
    options o;
    o.cancel_notify = false;
    conn c(o);
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("no-notify"));
    c.consume(ch, q, "silent");
    conn other;
    amqp_channel_t och = other.open_channel();
    amqp_queue_delete(other.get(), och, bytes(q), 0, 0);
    ASSERT_TRUE(is_ok(other.last(och)));
    expect_quiet(c);
    EXPECT_TRUE(is_ok(c.sync(ch)));
}

TEST_F(Consume, ConsumersOnOneQueueReceiveRoundRobin)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    c.consume(ch, q, "c1", true);
    c.consume(ch, q, "c2", true);
    c.consume(ch, q, "c3", true);
    for (int i = 0; i < 9; i++)
        c.publish(ch, "", q, "m" + std::to_string(i));
    std::map<std::string, int> count;
    std::vector<std::string> order;
    for (int i = 0; i < 9; i++) {
        event e = c.delivery();
        count[e.consumer_tag]++;
        order.push_back(e.consumer_tag);
    }
    EXPECT_EQ(count["c1"], 3);
    EXPECT_EQ(count["c2"], 3);
    EXPECT_EQ(count["c3"], 3);
    /* No consumer gets two in a row. */
    for (size_t i = 1; i < order.size(); i++)
        EXPECT_NE(order[i], order[i - 1]) << "at delivery " << i;
}

TEST_F(Consume, PerConsumerPrefetchLimitsUnackedDeliveries)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 5);
    c.qos(ch, 2, false);
    c.consume(ch, q);
    event a = c.delivery();
    event b = c.delivery();
    EXPECT_EQ(a.msg.body, "m0");
    EXPECT_EQ(b.msg.body, "m1");
    expect_quiet(c);
    c.ack(ch, a.delivery_tag);
    EXPECT_EQ(c.delivery().msg.body, "m2");
    expect_quiet(c);
}

TEST_F(Consume, PerConsumerPrefetchAppliesToEachConsumerSeparately)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q1 = queue_with(c, ch, 3);
    std::string q2 = queue_with(c, ch, 3);
    c.qos(ch, 1, false);
    c.consume(ch, q1, "one");
    c.consume(ch, q2, "two");
    std::map<std::string, int> count;
    count[c.delivery().consumer_tag]++;
    count[c.delivery().consumer_tag]++;
    expect_quiet(c);
    EXPECT_EQ(count["one"], 1);
    EXPECT_EQ(count["two"], 1);
}

TEST_F(Consume, GlobalPrefetchIsSharedByTheChannelsConsumers)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q1 = queue_with(c, ch, 3);
    std::string q2 = queue_with(c, ch, 3);
    c.qos(ch, 3, true);
    c.consume(ch, q1, "one");
    c.consume(ch, q2, "two");
    uint64_t last = 0;
    for (int i = 0; i < 3; i++)
        last = c.delivery().delivery_tag;
    expect_quiet(c);
    c.ack(ch, last, true);
    for (int i = 0; i < 3; i++)
        c.delivery();
    expect_quiet(c);
}

TEST_F(Consume, PrefetchSizeIsNotImplemented540)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_basic_qos(c.get(), ch, 4096, 0, 0);
    EXPECT_TRUE(is_connection_error(c.last(ch), 540, "NOT_IMPLEMENTED - "));
}

TEST_F(Consume, GetReturnsMessageAndRemainingCountThenGetEmpty)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 3);
    for (int i = 0; i < 3; i++) {
        got g = c.get(ch, q);
        ASSERT_TRUE(is_ok(g.reply));
        ASSERT_FALSE(g.empty);
        EXPECT_EQ(g.msg.body, "m" + std::to_string(i));
        EXPECT_EQ(g.message_count, (uint32_t)(2 - i));
        EXPECT_FALSE(g.redelivered);
        EXPECT_EQ(g.exchange, "");
        EXPECT_EQ(g.routing_key, q);
    }
    got g = c.get(ch, q);
    ASSERT_TRUE(is_ok(g.reply));
    EXPECT_TRUE(g.empty);
}

TEST_F(Consume, GetFromMissingQueueIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    got g = c.get(ch, queue_name("absent"));
    EXPECT_TRUE(is_channel_error(g.reply, 404, "NOT_FOUND - "));
    expect_usable(c);
}

TEST_F(Consume, DeliveryTagsStartAtOnePerChannel)
{
    conn c;
    amqp_channel_t a = c.open_channel();
    amqp_channel_t b = c.open_channel();
    std::string q = queue_with(c, a, 4);
    for (uint64_t want = 1; want <= 2; want++) {
        got g = c.get(a, q, false);
        ASSERT_FALSE(g.empty);
        EXPECT_EQ(g.delivery_tag, want);
    }
    for (uint64_t want = 1; want <= 2; want++) {
        got g = c.get(b, q, false);
        ASSERT_FALSE(g.empty);
        EXPECT_EQ(g.delivery_tag, want);
    }
}

TEST_F(Consume, AckedMessageIsGoneAfterChannelCloses)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("ack"));
    c.fill_queue(q, 2);
    amqp_channel_t cch = c.open_channel();
    got g = c.get(cch, q, false);
    ASSERT_FALSE(g.empty);
    EXPECT_EQ(g.msg.body, "m0");
    c.ack(cch, g.delivery_tag);
    ASSERT_TRUE(is_ok(c.sync(cch)));
    ASSERT_TRUE(is_ok(c.close_channel(cch)));
    c.consume(ch, q, "", true);
    event e = c.delivery();
    EXPECT_EQ(e.msg.body, "m1");
    EXPECT_FALSE(e.redelivered);
    expect_quiet(c);
}

TEST_F(Consume, AckMultipleAcknowledgesEverythingUpToTheTag)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("ack-multi"));
    for (int i = 0; i < 4; i++)
        c.publish(ch, "", q, "m" + std::to_string(i));
    amqp_channel_t cch = c.open_channel();
    c.consume(cch, q);
    std::vector<event> d;
    for (int i = 0; i < 4; i++)
        d.push_back(c.delivery());
    c.ack(cch, d[2].delivery_tag, true);
    ASSERT_TRUE(is_ok(c.sync(cch)));
    ASSERT_TRUE(is_ok(c.close_channel(cch)));
    /* Only the unacked fourth comes back. */
    c.consume(ch, q, "", true);
    event e = c.delivery();
    EXPECT_EQ(e.msg.body, "m3");
    EXPECT_TRUE(e.redelivered);
    expect_quiet(c);
}

TEST_F(Consume, AckMultipleWithTagZeroAcknowledgesAllOutstanding)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("ack-zero"));
    for (int i = 0; i < 3; i++)
        c.publish(ch, "", q, "m" + std::to_string(i));
    amqp_channel_t cch = c.open_channel();
    c.consume(cch, q);
    for (int i = 0; i < 3; i++)
        c.delivery();
    c.ack(cch, 0, true);
    ASSERT_TRUE(is_ok(c.sync(cch)));
    ASSERT_TRUE(is_ok(c.close_channel(cch)));
    c.consume(ch, q, "", true);
    expect_quiet(c);
    EXPECT_EQ(c.message_count(ch, q), 0u);
}

TEST_F(Consume, NackMultipleWithRequeueRedeliversWithRedeliveredFlag)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 3);
    c.consume(ch, q);
    std::vector<event> first;
    for (int i = 0; i < 3; i++) {
        first.push_back(c.delivery());
        EXPECT_FALSE(first.back().redelivered);
    }
    ASSERT_EQ(amqp_basic_nack(c.get(), ch, first[2].delivery_tag, 1, 1),
              AMQP_STATUS_OK);
    for (int i = 0; i < 3; i++) {
        event e = c.delivery();
        EXPECT_TRUE(e.redelivered);
        EXPECT_EQ(e.msg.body, "m" + std::to_string(i));
        EXPECT_GT(e.delivery_tag, first[2].delivery_tag);
    }
}

TEST_F(Consume, RejectWithRequeueRedeliversWithRedeliveredFlag)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 1);
    c.consume(ch, q);
    event e = c.delivery();
    EXPECT_FALSE(e.redelivered);
    ASSERT_EQ(amqp_basic_reject(c.get(), ch, e.delivery_tag, 1), AMQP_STATUS_OK);
    event again = c.delivery();
    EXPECT_TRUE(again.redelivered);
    EXPECT_EQ(again.msg.body, "m0");
    EXPECT_NE(again.delivery_tag, e.delivery_tag);
}

TEST_F(Consume, RejectAndNackWithoutRequeueDropTheMessage)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("drop"));
    c.publish(ch, "", q, "m0");
    c.publish(ch, "", q, "m1");
    c.publish(ch, "", q, "m2");
    amqp_channel_t cch = c.open_channel();
    c.consume(cch, q);
    event a = c.delivery();
    event b = c.delivery();
    c.delivery();
    ASSERT_EQ(amqp_basic_reject(c.get(), cch, a.delivery_tag, 0), AMQP_STATUS_OK);
    ASSERT_EQ(amqp_basic_nack(c.get(), cch, b.delivery_tag, 0, 0), AMQP_STATUS_OK);
    expect_quiet(c);
    ASSERT_TRUE(is_ok(c.close_channel(cch)));
    /* Only the third, never settled, is back in the queue. */
    c.consume(ch, q, "", true);
    event e = c.delivery();
    EXPECT_EQ(e.msg.body, "m2");
    EXPECT_TRUE(e.redelivered);
    expect_quiet(c);
}

TEST_F(Consume, AckOfUnknownDeliveryTagIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    c.ack(ch, 99);
    EXPECT_TRUE(is_channel_error(c.sync(ch), 406,
                                 "PRECONDITION_FAILED - unknown delivery tag 99"));
    expect_usable(c);
}

TEST_F(Consume, DoubleAckIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 1);
    got g = c.get(ch, q, false);
    ASSERT_FALSE(g.empty);
    c.ack(ch, g.delivery_tag);
    c.ack(ch, g.delivery_tag);
    EXPECT_TRUE(is_channel_error(c.sync(ch), 406,
                                 "PRECONDITION_FAILED - unknown delivery tag"));
    expect_usable(c);
}

TEST_F(Consume, RejectOfUnknownDeliveryTagIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    ASSERT_EQ(amqp_basic_reject(c.get(), ch, 7, 1), AMQP_STATUS_OK);
    EXPECT_TRUE(is_channel_error(c.sync(ch), 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Consume, RecoverWithRequeueRedeliversUnacked)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_with(c, ch, 2);
    c.consume(ch, q);
    event a = c.delivery();
    event b = c.delivery();
    c.ack(ch, a.delivery_tag);
    amqp_basic_recover(c.get(), ch, 1);
    ASSERT_TRUE(is_ok(c.last(ch)));
    event again = c.delivery();
    EXPECT_EQ(again.msg.body, "m1");
    EXPECT_TRUE(again.redelivered);
    expect_quiet(c);
}

TEST_F(Consume, RecoverWithoutRequeueIsNotImplemented540)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_basic_recover(c.get(), ch, 0);
    EXPECT_TRUE(is_connection_error(c.last(ch), 540, "NOT_IMPLEMENTED - "));
}

TEST_F(Consume, UnackedMessagesReturnWithRedeliveredWhenChannelCloses)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("unacked-ch"));
    c.fill_queue(q, 2);
    amqp_channel_t cch = c.open_channel();
    c.consume(cch, q);
    EXPECT_FALSE(c.delivery().redelivered);
    EXPECT_FALSE(c.delivery().redelivered);
    ASSERT_TRUE(is_ok(c.close_channel(cch)));
    c.consume(ch, q, "", true);
    for (const char *want : {"m0", "m1"}) {
        event e = c.delivery();
        EXPECT_EQ(e.msg.body, want);
        EXPECT_TRUE(e.redelivered);
    }
    expect_quiet(c);
}

TEST_F(Consume, UnackedMessagesReturnWithRedeliveredWhenConnectionCloses)
{
    conn keeper;
    amqp_channel_t ch = keeper.open_channel();
    std::string q = keeper.declare_queue(ch, queue_name("unacked-conn"));
    keeper.fill_queue(q, 1);
    ASSERT_EQ(keeper.message_count(ch, q), 1u);
    {
        conn c;
        amqp_channel_t cch = c.open_channel();
        got g = c.get(cch, q, false);
        ASSERT_FALSE(g.empty);
        EXPECT_FALSE(g.redelivered);
        ASSERT_TRUE(is_ok(c.close()));
    }
    keeper.consume(ch, q, "", true);
    event e = keeper.delivery();
    EXPECT_EQ(e.msg.body, "m0");
    EXPECT_TRUE(e.redelivered);
}

} /* namespace */
