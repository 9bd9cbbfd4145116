/*
 * message_test.cc - messages (one allocation, reference counts, headers) and
 * the allocation counter, including the proof that the publish, route,
 * deliver and ack path costs exactly one allocation per message.
 */
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fake_channel.h"

extern "C" {
#include "alloc.h"
#include "exchange.h"
}

namespace
{

TEST(Message, NewIsOneAllocation)
{
    uint64_t before = wrn_alloc_count();
    struct wrn_msg *m = wrn_msg_new(Sl("ex"), Sl("key"), Sl("props"), 1000);
    EXPECT_EQ(wrn_alloc_count() - before, 1u);
    wrn_msg_unref(m);
    EXPECT_EQ(wrn_alloc_count() - before, 1u);
}

TEST(Message, KeepsRoutingFactsPropertiesAndBodyRoom)
{
    struct wrn_msg *m =
        wrn_msg_new(Sl("amq.topic"), Sl("a.b.c"), Sl(std::string("\x80\x00", 2)), 5);

    EXPECT_EQ(m->refs, 1u);
    EXPECT_EQ(Str(wrn_msg_exchange(m)), "amq.topic");
    EXPECT_EQ(Str(wrn_msg_routing_key(m)), "a.b.c");
    EXPECT_EQ(Str(wrn_msg_props(m)), std::string("\x80\x00", 2));
    EXPECT_EQ(m->body_size, 5u);
    EXPECT_EQ(m->body_filled, 0u);
    EXPECT_EQ(m->body, m->props + m->props_len);
    memcpy(m->body, "hello", 5); /* the body is writable inside the block (ASan) */
    EXPECT_EQ(std::string(reinterpret_cast<char *>(m->body), 5), "hello");
    wrn_msg_unref(m);
}

TEST(Message, EmptyEverything)
{
    struct wrn_msg *m = wrn_msg_new(Sl(""), Sl(""), Sl(""), 0);
    EXPECT_EQ(wrn_msg_exchange(m).len, 0u);
    EXPECT_EQ(wrn_msg_routing_key(m).len, 0u);
    EXPECT_EQ(wrn_msg_props(m).len, 0u);
    EXPECT_EQ(wrn_msg_headers(m).len, 0u);
    wrn_msg_unref(m);
}

/* Under ASan a missing free is a leak report and an early one a use-after-free. */
TEST(Message, RefcountFreesAtZero)
{
    struct wrn_msg *m = NewMsg("a");

    EXPECT_EQ(wrn_msg_ref(m), m);
    wrn_msg_ref(m);
    EXPECT_EQ(m->refs, 3u);
    wrn_msg_unref(m);
    wrn_msg_unref(m);
    EXPECT_EQ(m->refs, 1u);
    wrn_msg_unref(m);
}

TEST(Message, HeadersComeFromTheProperties)
{
    std::string table = Table({{"format", "pdf"}, {"type", "report"}});
    struct wrn_msg *with = NewMsg("a", PropsWithHeaders(table));
    struct wrn_msg *without = NewMsg("b", std::string("\x80\x00\x03", 3) + "a/b");
    struct wrn_msg *broken = NewMsg("c", std::string("\x20\x00\x00\x00\x00\x09", 6));

    EXPECT_EQ(Str(wrn_msg_headers(with)), table);
    EXPECT_EQ(wrn_msg_headers(without).len, 0u); /* content-type only */
    EXPECT_EQ(wrn_msg_headers(broken).len, 0u);  /* headers length past the end */
    wrn_msg_unref(with);
    wrn_msg_unref(without);
    wrn_msg_unref(broken);
}

TEST(Alloc, CountsEveryAllocatingCall)
{
    uint64_t before = wrn_alloc_count();
    void *a = wrn_xmalloc(10);
    void *b = wrn_xcalloc(3, 4);
    void *c = wrn_xmalloc(0); /* a real pointer even for zero bytes */
    EXPECT_NE(c, nullptr);
    EXPECT_EQ(wrn_alloc_count() - before, 3u);
    a = wrn_xrealloc(a, 1000);
    char *s = wrn_xstrndup("abcdef", 3);
    EXPECT_STREQ(s, "abc");
    EXPECT_EQ(wrn_alloc_count() - before, 5u);
    EXPECT_EQ(static_cast<unsigned char *>(b)[11], 0);
    wrn_free(a);
    wrn_free(b);
    wrn_free(c);
    wrn_free(s);
    wrn_free(NULL);
    EXPECT_EQ(wrn_alloc_count() - before, 5u);
}

/*
 * The hot path: a message is created, routed, enqueued, delivered and acked,
 * and only the message itself is allocated. The queue keeps a backlog so its
 * ring wraps all the time; the warm-up lets the ring and the route vector
 * reach their size first.
 */
class HotPath : public ::testing::Test
{
  protected:
    void
    SetUp() override
    {
        fake::reset();
        v = wrn_vhost_new("/");
    }

    void
    TearDown() override
    {
        wrn_route_fini(&route);
        server.vhosts = NULL;
        wrn_vhost_free(v);
        fake::reset();
    }

    struct wrn_consumer *
    Consume(struct wrn_queue *q, bool no_ack)
    {
        consumers.push_back(std::unique_ptr<struct wrn_consumer>(new wrn_consumer()));
        struct wrn_consumer *c = consumers.back().get();
        c->ch = &fake::channel;
        c->q = q;
        c->no_ack = no_ack;
        wrn_queue_add_consumer(q, c);
        return c;
    }

    /* What basic.publish does once the body is in: route, enqueue, drop our ref. */
    void
    PublishVia(struct wrn_exchange *x, const std::string &key)
    {
        struct wrn_msg *m = wrn_msg_new(Sl(x->name), Sl(key), Sl(props), 64);
        memset(m->body, 'x', 64);
        m->body_filled = 64;
        struct wrn_slice rk = wrn_msg_routing_key(m);
        wrn_exchange_route(x, m, &rk, 1, &route);
        for (uint32_t i = 0; i < route.count; i++)
            wrn_queue_publish(route.queues[i], m);
        wrn_msg_unref(m);
    }

    struct wrn_vhost *v = NULL;
    struct wrn_route route = {};
    std::string props = std::string("\x10\x00\x02", 3); /* delivery-mode 2 */
    std::vector<std::unique_ptr<struct wrn_consumer>> consumers;
};

TEST_F(HotPath, OneAllocationPerMessageThroughDirectExchange)
{
    struct wrn_queue *q = NewQueue(v, "work");
    struct wrn_exchange *x = wrn_vhost_exchange(v, Sl("amq.direct"));
    struct wrn_consumer *c = Consume(q, false);

    ASSERT_NE(x, nullptr);
    wrn_binding_add(x, q, NULL, Sl("work"), Sl(""));
    /* a backlog of 100, then one in and one out per cycle */
    fake::set_credit(c, 0);
    for (int i = 0; i < 100; i++)
        PublishVia(x, "work");
    ASSERT_EQ(wrn_queue_ready(q), 100u);

    auto cycle = [&]() {
        fake::set_credit(c, 1);
        PublishVia(x, "work");
        if (fake::deliveries.size() != 1)
            return false;
        fake::ack(0);
        return true;
    };
    for (int i = 0; i < 1000; i++)
        ASSERT_TRUE(cycle());

    uint64_t start = wrn_alloc_count(), bad_cycles = 0, wrapped = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t before = wrn_alloc_count();
        ASSERT_TRUE(cycle()) << "cycle " << i;
        bad_cycles += wrn_alloc_count() - before != 1;
        wrapped += q->levels[0].head + q->levels[0].count > q->levels[0].cap;
    }
    EXPECT_EQ(wrn_alloc_count() - start, 10000u);
    EXPECT_EQ(bad_cycles, 0u);
    EXPECT_EQ(wrn_queue_ready(q), 100u);
    EXPECT_GT(wrapped, 1000u) << "the backlog should run across the ring's end";
}

TEST_F(HotPath, OneAllocationPerMessageFannedOutToThreeQueues)
{
    struct wrn_exchange *x = wrn_vhost_exchange(v, Sl("amq.fanout"));
    ASSERT_NE(x, nullptr);
    for (const char *name : {"q1", "q2", "q3"}) {
        struct wrn_queue *q = NewQueue(v, name);
        wrn_binding_add(x, q, NULL, Sl(""), Sl(""));
        Consume(q, true);
    }
    for (int i = 0; i < 1000; i++)
        PublishVia(x, "any");
    ASSERT_EQ(fake::no_ack_deliveries, 3000u);

    uint64_t start = wrn_alloc_count();
    for (int i = 0; i < 10000; i++)
        PublishVia(x, "any");
    EXPECT_EQ(wrn_alloc_count() - start, 10000u);
    EXPECT_EQ(fake::no_ack_deliveries, 33000u);
}

} // namespace
