/*
 * Queue declaration, exclusivity, auto-delete, purge, delete and bindings,
 * including the channel errors for missing, locked and non-equivalent
 * queues.
 */
#include "client.h"

#include <string>
#include <vector>

using namespace interop;

namespace {

class Queue : public fixture {};

TEST_F(Queue, ServerNamedQueueGetsAmqGenPrefix)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    EXPECT_EQ(q.rfind("amq.gen-", 0), 0u) << q;
    EXPECT_GT(q.size(), std::string("amq.gen-").size());
    std::string q2 = c.declare_queue(ch, "", exclusive);
    EXPECT_NE(q, q2);
}

TEST_F(Queue, PassiveDeclareOfMissingQueueIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    reply r = c.queue_declare(ch, queue_name("missing"), passive,
                              amqp_empty_table, nullptr);
    EXPECT_TRUE(is_channel_error(r, 404, "NOT_FOUND - no queue '"));
    expect_usable(c);
}

TEST_F(Queue, DeclareOkReportsMessageAndConsumerCounts)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("counts"));
    c.fill_queue(q, 3);

    queue_info info;
    ASSERT_TRUE(is_ok(c.queue_declare(ch, q, passive, amqp_empty_table, &info)));
    EXPECT_EQ(info.name, q);
    EXPECT_EQ(info.message_count, 3u);
    EXPECT_EQ(info.consumer_count, 0u);

    /* A consumer with prefetch 1 takes one message; two stay ready. */
    amqp_channel_t cch = c.open_channel();
    c.qos(cch, 1, false);
    c.consume(cch, q);
    c.consume(cch, q);
    event e = c.delivery();
    EXPECT_EQ(e.msg.body, "m0");
    ASSERT_TRUE(is_ok(c.queue_declare(ch, q, 0, amqp_empty_table, &info)));
    EXPECT_EQ(info.message_count, 1u);
    EXPECT_EQ(info.consumer_count, 2u);
}

/*
 * Another connection touching an exclusive queue gets 405 RESOURCE_LOCKED,
 * whatever the method.
 */
class ExclusiveQueue : public fixture,
                       public ::testing::WithParamInterface<const char *> {};

TEST_P(ExclusiveQueue, UseFromOtherConnectionIs405ResourceLocked)
{
    conn owner;
    amqp_channel_t och = owner.open_channel();
    std::string q = owner.declare_queue(och, queue_name("excl"), exclusive);
    std::string x = exchange_name("excl-x");
    owner.declare_exchange(och, x, "direct");
    owner.bind(och, q, x, "bound");

    conn other;
    amqp_channel_t ch = other.open_channel();
    amqp_connection_state_t st = other.get();
    std::string op = GetParam();
    reply r;
    if (op == "declare") {
        r = other.queue_declare(ch, q, exclusive, amqp_empty_table, nullptr);
    } else if (op == "declare-passive") {
        r = other.queue_declare(ch, q, passive, amqp_empty_table, nullptr);
    } else if (op == "consume") {
        amqp_basic_consume(st, ch, bytes(q), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        r = other.last(ch);
    } else if (op == "get") {
        r = other.get(ch, q).reply;
    } else if (op == "bind") {
        amqp_queue_bind(st, ch, bytes(q), bytes(x), amqp_cstring_bytes("k2"),
                        amqp_empty_table);
        r = other.last(ch);
    } else if (op == "unbind") {
        amqp_queue_unbind(st, ch, bytes(q), bytes(x),
                          amqp_cstring_bytes("bound"), amqp_empty_table);
        r = other.last(ch);
    } else if (op == "purge") {
        amqp_queue_purge(st, ch, bytes(q));
        r = other.last(ch);
    } else if (op == "delete") {
        amqp_queue_delete(st, ch, bytes(q), 0, 0);
        r = other.last(ch);
    } else {
        FAIL() << "unknown operation " << op;
    }
    EXPECT_TRUE(is_channel_error(r, 405, "RESOURCE_LOCKED - "));
    expect_usable(other);
    /* The owner still has its queue. */
    EXPECT_TRUE(owner.queue_exists(och, q));
}

std::string
operation_name(const ::testing::TestParamInfo<const char *> &info)
{
    std::string s = info.param;
    for (char &ch : s)
        if (ch == '-')
            ch = '_';
    return s;
}

INSTANTIATE_TEST_SUITE_P(Queue, ExclusiveQueue,
                         ::testing::Values("declare", "declare-passive",
                                           "consume", "get", "bind", "unbind",
                                           "purge", "delete"),
                         operation_name);

TEST_F(Queue, ExclusiveQueueIsUsableFromAnotherChannelOfItsConnection)
{
    conn c;
    amqp_channel_t a = c.open_channel();
    amqp_channel_t b = c.open_channel();
    std::string q = c.declare_queue(a, queue_name("excl-same"), exclusive);
    c.publish(b, "", q, "hello");
    EXPECT_EQ(c.drain(b, q), std::vector<std::string>{"hello"});
}

TEST_F(Queue, ExclusiveQueueDisappearsWhenItsConnectionCloses)
{
    std::string q = queue_name("excl-gone");
    {
        conn owner;
        amqp_channel_t ch = owner.open_channel();
        owner.declare_queue(ch, q, exclusive);
        ASSERT_TRUE(owner.queue_exists(ch, q));
        ASSERT_TRUE(is_ok(owner.close()));
    }
    conn c;
    amqp_channel_t ch = c.open_channel();
    EXPECT_FALSE(c.queue_exists(ch, q));
}

TEST_F(Queue, AutoDeleteQueueGoesWhenLastConsumerCancels)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("autodel"), auto_delete);
    std::string t1 = c.consume(ch, q);
    std::string t2 = c.consume(ch, q);
    ASSERT_TRUE(is_ok(c.cancel(ch, t1)));
    EXPECT_TRUE(c.queue_exists(ch, q));
    ASSERT_TRUE(is_ok(c.cancel(ch, t2)));
    EXPECT_FALSE(c.queue_exists(ch, q));
}

TEST_F(Queue, AutoDeleteQueueWithoutConsumersStaysAfterGet)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("autodel-get"), auto_delete);
    c.publish(ch, "", q, "x");
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"x"});
    EXPECT_TRUE(c.queue_exists(ch, q));
}

TEST_F(Queue, RedeclareWithDifferentDurableIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("redurable"));
    reply r = c.queue_declare(ch, q, durable, amqp_empty_table, nullptr);
    EXPECT_TRUE(is_channel_error(r, 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Queue, RedeclareWithDifferentArgumentsIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    table ten, twenty;
    ten.i32("x-max-length", 10);
    twenty.i32("x-max-length", 20);
    std::string q = c.declare_queue(ch, queue_name("reargs"), 0, ten.get());
    /* The same arguments again are fine. */
    EXPECT_TRUE(is_ok(c.queue_declare(ch, q, 0, ten.get(), nullptr)));
    reply r = c.queue_declare(ch, q, 0, twenty.get(), nullptr);
    EXPECT_TRUE(is_channel_error(r, 406, "PRECONDITION_FAILED - "));

    ch = c.open_channel();
    r = c.queue_declare(ch, q, 0, amqp_empty_table, nullptr);
    EXPECT_TRUE(is_channel_error(r, 406, "PRECONDITION_FAILED - "));
    expect_usable(c);
}

TEST_F(Queue, IdenticalRedeclareSucceeds)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("same"), durable);
    queue_info info;
    EXPECT_TRUE(is_ok(c.queue_declare(ch, q, durable, amqp_empty_table, &info)));
    EXPECT_EQ(info.name, q);
}

TEST_F(Queue, PurgeReturnsTheNumberOfMessagesRemoved)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("purge"));
    c.fill_queue(q, 5);
    amqp_queue_purge_ok_t *ok = amqp_queue_purge(c.get(), ch, bytes(q));
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_EQ(ok->message_count, 5u);
    EXPECT_EQ(c.message_count(ch, q), 0u);
    ok = amqp_queue_purge(c.get(), ch, bytes(q));
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_EQ(ok->message_count, 0u);
}

TEST_F(Queue, DeleteReturnsTheNumberOfMessagesDeleted)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("delete"));
    c.fill_queue(q, 4);
    amqp_queue_delete_ok_t *ok = amqp_queue_delete(c.get(), ch, bytes(q), 0, 0);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_EQ(ok->message_count, 4u);
    EXPECT_FALSE(c.queue_exists(ch, q));
}

TEST_F(Queue, DeletingMissingQueueSucceedsWithZeroCount)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_queue_delete_ok_t *ok =
        amqp_queue_delete(c.get(), ch, bytes(queue_name("never")), 0, 0);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_EQ(ok->message_count, 0u);
}

TEST_F(Queue, DeleteIfUnusedWithConsumerIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("if-unused"));
    amqp_channel_t cch = c.open_channel();
    c.consume(cch, q);
    amqp_queue_delete(c.get(), ch, bytes(q), 1, 0);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));
    ch = c.open_channel();
    EXPECT_TRUE(c.queue_exists(ch, q));
}

TEST_F(Queue, DeleteIfEmptyWithMessagesIs406ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("if-empty"));
    c.fill_queue(q, 1);
    amqp_queue_delete(c.get(), ch, bytes(q), 0, 1);
    EXPECT_TRUE(is_channel_error(c.last(ch), 406, "PRECONDITION_FAILED - "));
    ch = c.open_channel();
    EXPECT_EQ(c.message_count(ch, q), 1u);
}

TEST_F(Queue, DeleteIfUnusedAndIfEmptySucceedOnIdleEmptyQueue)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, queue_name("idle"));
    amqp_queue_delete(c.get(), ch, bytes(q), 1, 1);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_FALSE(c.queue_exists(ch, q));
}

TEST_F(Queue, BindToMissingQueueIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_queue_bind(c.get(), ch, bytes(queue_name("absent")),
                    amqp_cstring_bytes("amq.direct"), amqp_cstring_bytes("k"),
                    amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 404, "NOT_FOUND - "));
    expect_usable(c);
}

TEST_F(Queue, BindToMissingExchangeIs404ChannelError)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    amqp_queue_bind(c.get(), ch, bytes(q), bytes(exchange_name("absent")),
                    amqp_cstring_bytes("k"), amqp_empty_table);
    EXPECT_TRUE(is_channel_error(c.last(ch), 404, "NOT_FOUND - "));
    expect_usable(c);
}

TEST_F(Queue, UnbindOfNonExistentBindingSucceeds)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = c.declare_queue(ch, "", exclusive);
    std::string x = exchange_name("unbind");
    c.declare_exchange(ch, x, "direct");
    amqp_queue_unbind(c.get(), ch, bytes(q), bytes(x),
                      amqp_cstring_bytes("never-bound"), amqp_empty_table);
    EXPECT_TRUE(is_ok(c.last(ch)));
    EXPECT_TRUE(is_ok(c.sync(ch)));
}

TEST_F(Queue, EmptyQueueNameMeansLastQueueDeclaredOnChannel)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("last-q");
    c.declare_exchange(ch, x, "fanout");
    std::string q = c.declare_queue(ch, "", exclusive);
    /* Bind, publish, get and purge all name the queue as "". */
    c.bind(ch, "", x, "");
    c.publish(ch, x, "", "one");
    c.publish(ch, x, "", "two");
    got g = c.get(ch, "");
    ASSERT_TRUE(is_ok(g.reply));
    ASSERT_FALSE(g.empty);
    EXPECT_EQ(g.msg.body, "one");
    amqp_queue_purge_ok_t *ok = amqp_queue_purge(c.get(), ch, amqp_empty_bytes);
    ASSERT_TRUE(is_ok(c.last(ch)));
    EXPECT_EQ(ok->message_count, 1u);
}

TEST_F(Queue, EmptyQueueNameWithoutPriorDeclareIs404)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    amqp_queue_purge(c.get(), ch, amqp_empty_bytes);
    EXPECT_TRUE(is_channel_error(c.last(ch), 404, "NOT_FOUND - "));
    expect_usable(c);
}

TEST_F(Queue, LongQueueNamesUpTo255BytesAreAccepted)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string q = queue_name("long");
    q += std::string(255 - q.size(), 'n');
    ASSERT_EQ(q.size(), 255u);
    EXPECT_EQ(c.declare_queue(ch, q), q);
    c.publish(ch, "", q, "long-name");
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"long-name"});
}

} /* namespace */
