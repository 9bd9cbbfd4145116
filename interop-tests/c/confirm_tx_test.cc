/*
 * Publisher confirms and transactions: ack sequence numbers, returns before
 * acks, commit and rollback of publishes and acks, and the 406 errors for
 * mixing the two modes or committing outside a transaction.
 */
#include "client.h"

#include <set>
#include <string>
#include <vector>

using namespace interop;

namespace {

class Confirm : public fixture {
protected:
    /*
     * Reads confirms on ch until every tag 1..n is covered; fails on a
     * nack, on a tag confirmed twice, or on anything else arriving.
     */
    void
    expect_acks_up_to(conn &c, amqp_channel_t ch, uint64_t n)
    {
        std::set<uint64_t> done;
        uint64_t high = 0;
        while (done.size() < n) {
            event e = c.next();
            ASSERT_EQ(e.kind, event::ack) << e.describe();
            ASSERT_EQ(e.channel, ch);
            ASSERT_GT(e.delivery_tag, high) << "confirms must move forward";
            ASSERT_LE(e.delivery_tag, n);
            uint64_t from = e.multiple ? high + 1 : e.delivery_tag;
            for (uint64_t t = from; t <= e.delivery_tag; t++)
                ASSERT_TRUE(done.insert(t).second) << "tag " << t << " twice";
            high = e.delivery_tag;
        }
        event e = c.next(0.3);
        EXPECT_EQ(e.kind, event::timeout) << e.describe();
    }
};

class Tx : public fixture {};

TEST_F(Confirm, PublishesAreAckedWithDeliveryTagsOneToN)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    c.confirm_select(ch);
    for (int i = 0; i < 50; i++)
        c.publish(ch, "", q, "m" + std::to_string(i));
    expect_acks_up_to(c, ch, 50);
    EXPECT_EQ(c.message_count(ch, q), 50u);
}

TEST_F(Confirm, DeliveryTagsAreCountedPerChannel)
{
    conn c;
    amqp_channel_t a = c.open_channel();
    amqp_channel_t b = c.open_channel();
    std::string q = c.declare_queue(a, "", exclusive);
    c.confirm_select(a);
    c.publish(a, "", q, "a1");
    c.publish(a, "", q, "a2");
    expect_acks_up_to(c, a, 2);
    c.confirm_select(b);
    c.publish(b, "", q, "b1");
    expect_acks_up_to(c, b, 1);
}

TEST_F(Confirm, UnroutableNonMandatoryPublishIsStillAcked)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("confirm-drop");
    c.declare_exchange(ch, x, "direct");
    c.confirm_select(ch);
    c.publish(ch, x, "nowhere", "dropped");
    expect_acks_up_to(c, ch, 1);
}

TEST_F(Confirm, MandatoryUnroutableGetsReturnBeforeAck)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("confirm-return");
    c.declare_exchange(ch, x, "direct");
    c.confirm_select(ch);
    c.publish(ch, x, "nowhere", "returned", nullptr, true);
    event r = c.next();
    ASSERT_EQ(r.kind, event::returned) << r.describe();
    EXPECT_EQ(r.code, 312);
    EXPECT_EQ(r.text, "NO_ROUTE");
    EXPECT_EQ(r.msg.body, "returned");
    event a = c.next();
    ASSERT_EQ(a.kind, event::ack) << a.describe();
    EXPECT_EQ(a.delivery_tag, 1u);
}

TEST_F(Confirm, ConfirmSelectTwiceIsAllowed)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    c.confirm_select(ch);
    amqp_confirm_select(c.get(), ch);
    EXPECT_TRUE(is_ok(c.last(ch)));
}

TEST_F(Confirm, PublishToMissingExchangeInConfirmModeClosesChannelWith404)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    c.confirm_select(ch);
    c.publish(ch, exchange_name("absent"), "k", "lost");
    event e = c.next();
    ASSERT_EQ(e.kind, event::channel_close) << e.describe();
    EXPECT_EQ(e.code, 404);
    EXPECT_EQ(e.text.rfind("NOT_FOUND - ", 0), 0u) << e.text;
    expect_usable(c);
}

TEST_F(Confirm, ConfirmSelectOnTransactionalChannelIs406)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_tx_select(c.get(), ch);
    ASSERT_TRUE(is_ok(c.last(ch)));
    amqp_confirm_select(c.get(), ch);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Tx, TxSelectOnConfirmChannelIs406)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    c.confirm_select(ch);
    amqp_tx_select(c.get(), ch);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Tx, CommitWithoutSelectIs406)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_tx_commit(c.get(), ch);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Tx, RollbackWithoutSelectIs406)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_tx_rollback(c.get(), ch);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Tx, PublishesTakeEffectOnlyOnCommit)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_channel_t tx = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("tx-publish"));
    amqp_tx_select(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    c.publish(tx, "", q, "t0");
    c.publish(tx, "", q, "t1");
    ASSERT_TRUE(is_ok(c.sync(tx)));
    EXPECT_EQ(c.message_count(ch, q), 0u);
    amqp_tx_commit(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    EXPECT_EQ(c.drain(ch, q), (std::vector<std::string>{"t0", "t1"}));

    /* The channel stays transactional after a commit. */
    c.publish(tx, "", q, "t2");
    ASSERT_TRUE(is_ok(c.sync(tx)));
    EXPECT_EQ(c.message_count(ch, q), 0u);
    amqp_tx_commit(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"t2"});
}

TEST_F(Tx, RollbackDiscardsPublishes)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_channel_t tx = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("tx-rollback"));
    amqp_tx_select(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    c.publish(tx, "", q, "discarded");
    amqp_tx_rollback(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    c.publish(tx, "", q, "kept");
    amqp_tx_commit(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"kept"});
}

TEST_F(Tx, AcksTakeEffectOnlyOnCommit)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("tx-ack"));
    c.fill_queue(q, 2);
    ASSERT_EQ(c.message_count(ch, q), 2u);

    amqp_channel_t tx = c.open_channel();
    amqp_tx_select(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    got a = c.get(tx, q, false);
    got b = c.get(tx, q, false);
    ASSERT_FALSE(a.empty);
    ASSERT_FALSE(b.empty);
    /* The ack of "a" is rolled back; the ack of "b" is committed. */
    c.ack(tx, a.delivery_tag);
    amqp_tx_rollback(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    c.ack(tx, b.delivery_tag);
    amqp_tx_commit(c.get(), tx);
    ASSERT_TRUE(is_ok(c.last(tx)));
    ASSERT_TRUE(is_ok(c.close_channel(tx)));

    /* Only "a" (m0), whose ack was rolled back, returns to the queue. */
    c.consume(ch, q, "", true);
    event back = c.delivery();
    EXPECT_EQ(back.msg.body, "m0");
    EXPECT_TRUE(back.redelivered);
    event e = c.next(0.4);
    EXPECT_EQ(e.kind, event::timeout) << e.describe();
}

} /* namespace */
