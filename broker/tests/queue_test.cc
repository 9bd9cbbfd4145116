/*
 * queue_test.cc - the ready ring (order by sequence number, requeue in
 * place), consumer selection (priority levels, round-robin, skipping a
 * consumer that cannot take), purge, delete, auto-delete and the reference
 * count, against the recording channel fake.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fake_channel.h"

extern "C" {
#include "dict.h"
#include "exchange.h"
}

namespace
{

class Queue : public ::testing::Test
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
        /* the vhost deletes its queues; settling the deliveries frees the last of them */
        server.vhosts = NULL;
        wrn_vhost_free(v);
        fake::reset();
    }

    struct wrn_queue *
    NewQueue(const std::string &name, bool auto_delete = false, uint8_t max_priority = 0)
    {
        return ::NewQueue(v, name, auto_delete, max_priority);
    }

    /* A consumer owned by the test, attached to q unless attach is false. */
    struct wrn_consumer *
    NewConsumer(struct wrn_queue *q, int32_t priority = 0, uint16_t prefetch = 0,
                bool attach = true)
    {
        consumers.push_back(std::unique_ptr<struct wrn_consumer>(new wrn_consumer()));
        struct wrn_consumer *c = consumers.back().get();
        c->ch = &fake::channel;
        c->q = q;
        c->priority = priority;
        c->prefetch = prefetch;
        if (attach)
            wrn_queue_add_consumer(q, c);
        return c;
    }

    /* Publish as a channel does: the queue takes its own ref, the publisher drops its. */
    void
    Publish(struct wrn_queue *q, const std::string &label)
    {
        struct wrn_msg *m = NewMsg(label);
        wrn_queue_publish(q, m);
        wrn_msg_unref(m);
    }

    struct wrn_vhost *v = NULL;
    std::vector<std::unique_ptr<struct wrn_consumer>> consumers;
};

/* The ready entries of one priority level, head first, read straight from its ring. */
std::vector<struct wrn_qentry>
Level(const struct wrn_queue *q, unsigned l)
{
    const struct wrn_qlevel *lv = &q->levels[l];
    std::vector<struct wrn_qentry> out;
    for (uint32_t i = 0; i < lv->count; i++)
        out.push_back(lv->ring[(lv->head + i) & (lv->cap - 1)]);
    return out;
}

/* All ready entries in delivery order: highest priority level first. */
std::vector<struct wrn_qentry>
Ready(const struct wrn_queue *q)
{
    std::vector<struct wrn_qentry> out;
    for (unsigned l = q->nlevels; l-- > 0;) {
        std::vector<struct wrn_qentry> lv = Level(q, l);
        out.insert(out.end(), lv.begin(), lv.end());
    }
    return out;
}

/* Level 0's ring: the only one of a queue without x-max-priority. */
const struct wrn_qlevel *
Ring(const struct wrn_queue *q)
{
    return &q->levels[0];
}

std::vector<uint64_t>
ReadySeqs(const struct wrn_queue *q)
{
    std::vector<uint64_t> out;
    for (const auto &e : Ready(q))
        out.push_back(e.seq);
    return out;
}

std::vector<std::string>
DeliveredLabels()
{
    std::vector<std::string> out;
    for (const auto &d : fake::deliveries)
        out.push_back(Label(d.e.msg));
    return out;
}

std::vector<struct wrn_consumer *>
DeliveredTo()
{
    std::vector<struct wrn_consumer *> out;
    for (const auto &d : fake::deliveries)
        out.push_back(d.c);
    return out;
}

TEST_F(Queue, DeliversInPublishOrder)
{
    struct wrn_queue *q = NewQueue("q");

    Publish(q, "a");
    Publish(q, "b");
    Publish(q, "c");
    EXPECT_EQ(wrn_queue_ready(q), 3u);
    EXPECT_TRUE(fake::deliveries.empty());

    NewConsumer(q);
    EXPECT_EQ(wrn_queue_ready(q), 0u);
    Publish(q, "d");
    Publish(q, "e");
    ASSERT_EQ(DeliveredLabels(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
    for (size_t i = 0; i < fake::deliveries.size(); i++) {
        EXPECT_EQ(fake::deliveries[i].e.seq, i);
        EXPECT_FALSE(fake::deliveries[i].e.redelivered);
        EXPECT_EQ(fake::deliveries[i].q, q);
    }
}

TEST_F(Queue, PopTakesTheHeadAndItsRef)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_qentry e;

    EXPECT_FALSE(wrn_queue_pop(q, &e));
    Publish(q, "a");
    Publish(q, "b");
    ASSERT_TRUE(wrn_queue_pop(q, &e));
    EXPECT_EQ(Label(e.msg), "a");
    EXPECT_EQ(e.seq, 0u);
    EXPECT_FALSE(e.redelivered);
    EXPECT_EQ(e.msg->refs, 1u); /* the queue's ref, now the caller's */
    EXPECT_EQ(wrn_queue_ready(q), 1u);
    wrn_msg_unref(e.msg);
}

TEST_F(Queue, RequeueRestoresSeqOrderAtFrontAndMiddle)
{
    struct wrn_queue *q = NewQueue("q");
    std::vector<struct wrn_qentry> popped(6);

    for (int i = 0; i < 10; i++)
        Publish(q, "m" + std::to_string(i));
    for (auto &e : popped)
        ASSERT_TRUE(wrn_queue_pop(q, &e));
    ASSERT_EQ(ReadySeqs(q), (std::vector<uint64_t>{6, 7, 8, 9}));

    /* 3 and 0 go to the front; 5, 4, 1 and 2 land between entries */
    wrn_queue_requeue(q, &popped[3]);
    EXPECT_EQ(ReadySeqs(q), (std::vector<uint64_t>{3, 6, 7, 8, 9}));
    wrn_queue_requeue(q, &popped[5]);
    EXPECT_EQ(ReadySeqs(q), (std::vector<uint64_t>{3, 5, 6, 7, 8, 9}));
    wrn_queue_requeue(q, &popped[0]);
    EXPECT_EQ(ReadySeqs(q), (std::vector<uint64_t>{0, 3, 5, 6, 7, 8, 9}));
    wrn_queue_requeue(q, &popped[4]);
    EXPECT_EQ(ReadySeqs(q), (std::vector<uint64_t>{0, 3, 4, 5, 6, 7, 8, 9}));
    wrn_queue_requeue(q, &popped[1]);
    wrn_queue_requeue(q, &popped[2]);
    EXPECT_EQ(ReadySeqs(q), (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

    for (uint64_t i = 0; i < 10; i++) {
        struct wrn_qentry e;
        ASSERT_TRUE(wrn_queue_pop(q, &e));
        EXPECT_EQ(e.seq, i);
        EXPECT_EQ(Label(e.msg), "m" + std::to_string(i));
        EXPECT_EQ(e.redelivered, i < 6) << "seq " << i;
        wrn_msg_unref(e.msg);
    }
}

/*
 * Ready entries that run past the end of the ring's array: requeues must
 * shift across the wrap, and growing the ring must keep the order.
 */
TEST_F(Queue, RequeueWrapsAroundAndGrowsTheRing)
{
    struct wrn_queue *q = NewQueue("q");
    std::vector<struct wrn_qentry> popped(20);
    std::vector<uint64_t> model;
    bool shifted_across_wrap = false;

    for (int i = 0; i < 20; i++)
        Publish(q, "m" + std::to_string(i));
    ASSERT_EQ(Ring(q)->cap, 32u);
    for (auto &e : popped)
        ASSERT_TRUE(wrn_queue_pop(q, &e));
    for (int i = 20; i < 34; i++)
        Publish(q, "m" + std::to_string(i));
    ASSERT_EQ(Ring(q)->cap, 32u);
    ASSERT_GT(Ring(q)->head + Ring(q)->count, Ring(q)->cap) << "entries should wrap";
    for (uint64_t s = 20; s < 34; s++)
        model.push_back(s);

    std::mt19937 rng(7);
    std::shuffle(popped.begin(), popped.end(), rng);
    for (auto &e : popped) {
        bool wrapped = Ring(q)->head + Ring(q)->count > Ring(q)->cap;
        bool middle = e.seq > model.front();
        wrn_queue_requeue(q, &e);
        model.insert(std::lower_bound(model.begin(), model.end(), e.seq), e.seq);
        ASSERT_EQ(ReadySeqs(q), model) << "after requeue of " << e.seq;
        shifted_across_wrap = shifted_across_wrap || (wrapped && middle);
    }
    EXPECT_TRUE(shifted_across_wrap);
    EXPECT_EQ(Ring(q)->cap, 64u) << "34 entries need a bigger ring";

    for (uint64_t i = 0; i < 34; i++) {
        struct wrn_qentry e;
        ASSERT_TRUE(wrn_queue_pop(q, &e));
        EXPECT_EQ(Label(e.msg), "m" + std::to_string(i));
        EXPECT_EQ(e.redelivered, i < 20);
        wrn_msg_unref(e.msg);
    }
}

TEST_F(Queue, RequeueIntoAFullWrappedRingGrowsIt)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_qentry first;

    for (int i = 0; i < 16; i++)
        Publish(q, "m" + std::to_string(i));
    ASSERT_EQ(Ring(q)->cap, 16u);
    ASSERT_TRUE(wrn_queue_pop(q, &first));
    Publish(q, "m16"); /* lands in slot 0: full, and wrapped */
    ASSERT_EQ(Ring(q)->cap, 16u);
    ASSERT_EQ(wrn_queue_ready(q), 16u);
    ASSERT_EQ(Ring(q)->head, 1u);

    wrn_queue_requeue(q, &first);
    EXPECT_EQ(Ring(q)->cap, 32u);
    std::vector<uint64_t> want;
    for (uint64_t s = 0; s <= 16; s++)
        want.push_back(s);
    EXPECT_EQ(ReadySeqs(q), want);
    std::vector<struct wrn_qentry> ready = Ready(q);
    EXPECT_EQ(Label(ready.front().msg), "m0");
    EXPECT_EQ(Label(ready.back().msg), "m16");
}

TEST_F(Queue, RequeuedMessagesAreRedeliveredFirstWithTheirSeq)
{
    struct wrn_queue *q = NewQueue("q");
    NewConsumer(q);

    Publish(q, "a");
    Publish(q, "b");
    Publish(q, "c");
    ASSERT_EQ(fake::deliveries.size(), 3u);
    fake::requeue(1); /* b */
    fake::requeue(0); /* a */
    /* requeue does not dispatch: the channel does once all are back */
    EXPECT_EQ(wrn_queue_ready(q), 2u);
    EXPECT_EQ(fake::deliveries.size(), 1u);

    wrn_queue_dispatch(q);
    ASSERT_EQ(DeliveredLabels(), (std::vector<std::string>{"c", "a", "b"}));
    EXPECT_EQ(fake::deliveries[1].e.seq, 0u);
    EXPECT_TRUE(fake::deliveries[1].e.redelivered);
    EXPECT_EQ(fake::deliveries[2].e.seq, 1u);
    EXPECT_TRUE(fake::deliveries[2].e.redelivered);
    Publish(q, "d");
    EXPECT_EQ(fake::deliveries.back().e.seq, 3u);
    EXPECT_FALSE(fake::deliveries.back().e.redelivered);
}

TEST_F(Queue, RoundRobinAcrossConsumers)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c0 = NewConsumer(q), *c1 = NewConsumer(q), *c2 = NewConsumer(q);

    for (int i = 0; i < 9; i++)
        Publish(q, "m" + std::to_string(i));
    EXPECT_EQ(DeliveredTo(),
              (std::vector<struct wrn_consumer *>{c0, c1, c2, c0, c1, c2, c0, c1, c2}));
}

TEST_F(Queue, ConsumerThatCannotTakeIsSkipped)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c0 = NewConsumer(q), *c1 = NewConsumer(q), *c2 = NewConsumer(q);

    fake::set_credit(c1, 0);
    for (int i = 0; i < 4; i++)
        Publish(q, "m" + std::to_string(i));
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{c0, c2, c0, c2}));

    fake::set_credit(c1, -1);
    for (int i = 4; i < 7; i++)
        Publish(q, "m" + std::to_string(i));
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{c0, c2, c0, c2, c0, c1, c2}));
}

TEST_F(Queue, PrefetchFullConsumersLeaveMessagesReady)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c0 = NewConsumer(q, 0, 1), *c1 = NewConsumer(q, 0, 1);

    Publish(q, "a");
    Publish(q, "b");
    Publish(q, "c");
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{c0, c1}));
    EXPECT_EQ(wrn_queue_ready(q), 1u);

    fake::ack(0); /* c0 has room again */
    wrn_queue_dispatch(q);
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{c1, c0}));
    EXPECT_EQ(DeliveredLabels(), (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(wrn_queue_ready(q), 0u);
}

TEST_F(Queue, NobodyCanTakeKeepsEverythingReady)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c = NewConsumer(q);

    fake::set_credit(c, 0);
    for (int i = 0; i < 5; i++)
        Publish(q, "m" + std::to_string(i));
    EXPECT_TRUE(fake::deliveries.empty());
    EXPECT_EQ(wrn_queue_ready(q), 5u);
    fake::set_credit(c, 2);
    wrn_queue_dispatch(q);
    EXPECT_EQ(DeliveredLabels(), (std::vector<std::string>{"m0", "m1"}));
    EXPECT_EQ(wrn_queue_ready(q), 3u);
}

TEST_F(Queue, HigherPriorityServedFirstWhileItCanTake)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *neg = NewConsumer(q, -5);
    struct wrn_consumer *lo = NewConsumer(q, 0);
    struct wrn_consumer *hi = NewConsumer(q, 10, 2);

    ASSERT_EQ(q->nconsumers, 3u);
    EXPECT_EQ(q->consumers[0], hi);
    EXPECT_EQ(q->consumers[1], lo);
    EXPECT_EQ(q->consumers[2], neg);

    for (int i = 0; i < 4; i++)
        Publish(q, "m" + std::to_string(i));
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{hi, hi, lo, lo}));

    fake::ack(0); /* hi has room again and gets the next one */
    Publish(q, "m4");
    EXPECT_EQ(fake::deliveries.back().c, hi);

    fake::set_credit(lo, 0); /* hi full and lo refusing: the lowest level gets it */
    Publish(q, "m5");
    EXPECT_EQ(fake::deliveries.back().c, neg);
}

TEST_F(Queue, RoundRobinWithinAPriorityLevel)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *lo = NewConsumer(q, 0);
    struct wrn_consumer *a = NewConsumer(q, 3, 1);
    struct wrn_consumer *b = NewConsumer(q, 3, 1);

    for (int i = 0; i < 4; i++)
        Publish(q, "m" + std::to_string(i));
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{a, b, lo, lo}));
}

/* Removing a consumer before the round-robin position keeps the turn order fair. */
TEST_F(Queue, RemovingAConsumerKeepsTheTurn)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c0 = NewConsumer(q), *c1 = NewConsumer(q), *c2 = NewConsumer(q);

    Publish(q, "a");
    Publish(q, "b");
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{c0, c1}));
    wrn_queue_remove_consumer(q, c0);
    Publish(q, "c");
    Publish(q, "d");
    EXPECT_EQ(DeliveredTo(), (std::vector<struct wrn_consumer *>{c0, c1, c2, c1}));
}

TEST_F(Queue, PurgeCountsReadyMessagesOnly)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c = NewConsumer(q, 0, 2);

    for (int i = 0; i < 7; i++)
        Publish(q, "m" + std::to_string(i));
    ASSERT_EQ(fake::deliveries.size(), 2u);
    EXPECT_EQ(wrn_queue_purge(q), 5u);
    EXPECT_EQ(wrn_queue_ready(q), 0u);
    EXPECT_EQ(wrn_queue_purge(q), 0u);
    /* the deliveries in flight are not purged and can still come back */
    fake::requeue(1);
    EXPECT_EQ(ReadySeqs(q), (std::vector<uint64_t>{1}));
    (void)c;
}

TEST_F(Queue, DeleteReturnsReadyCountAndCancelsConsumers)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_exchange *x = wrn_vhost_exchange(v, Sl("amq.direct"));
    struct wrn_consumer *c0 = NewConsumer(q), *c1 = NewConsumer(q), *c2 = NewConsumer(q);
    struct wrn_route r = {};

    ASSERT_NE(x, nullptr);
    wrn_binding_add(x, q, NULL, Sl("k"), Sl(""));
    for (auto *c : {c0, c1, c2})
        fake::set_credit(c, 0);
    for (int i = 0; i < 4; i++)
        Publish(q, "m" + std::to_string(i));

    EXPECT_EQ(wrn_queue_delete(q), 4u); /* frees q: nothing holds a ref */
    std::vector<struct wrn_consumer *> gone = fake::gone;
    std::sort(gone.begin(), gone.end());
    std::vector<struct wrn_consumer *> want = {c0, c1, c2};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(gone, want);
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q")), nullptr);
    EXPECT_EQ(x->nbindings, 0u);
    struct wrn_msg *m = NewMsg("k");
    struct wrn_slice k = Sl("k");
    wrn_exchange_route(x, m, &k, 1, &r);
    EXPECT_EQ(r.count, 0u);
    wrn_msg_unref(m);
    wrn_route_fini(&r);
}

TEST_F(Queue, AutoDeleteGoesWithItsLastConsumer)
{
    struct wrn_queue *q = NewQueue("q", true);
    struct wrn_consumer *c0 = NewConsumer(q), *c1 = NewConsumer(q);

    Publish(q, "a");
    wrn_queue_remove_consumer(q, c0);
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q")), q);
    wrn_queue_remove_consumer(q, c1);
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q")), nullptr);
    /* the channel removed them itself: no cancel notification */
    EXPECT_TRUE(fake::gone.empty());
    /* q lives on through the delivery's ref until it is settled */
    ASSERT_EQ(fake::deliveries.size(), 1u);
    EXPECT_TRUE(q->deleted);
    EXPECT_EQ(q->refs, 1u);
}

TEST_F(Queue, AutoDeleteNeedsAConsumerFirst)
{
    struct wrn_queue *q = NewQueue("q", true);
    struct wrn_consumer *never = NewConsumer(q, 0, 0, false);
    struct wrn_qentry e;

    Publish(q, "a");
    ASSERT_TRUE(wrn_queue_pop(q, &e));
    wrn_msg_unref(e.msg);
    Publish(q, "b");
    EXPECT_EQ(wrn_queue_purge(q), 1u);
    wrn_queue_remove_consumer(q, never); /* not attached: nothing to lose */
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q")), q);
    EXPECT_FALSE(q->deleted);
}

TEST_F(Queue, PlainQueueStaysWhenItsLastConsumerLeaves)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c = NewConsumer(q);

    wrn_queue_remove_consumer(q, c);
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q")), q);
    EXPECT_EQ(q->nconsumers, 0u);
    Publish(q, "a");
    EXPECT_EQ(wrn_queue_ready(q), 1u);
}

TEST_F(Queue, DeletedQueueLivesUntilTheLastUnref)
{
    struct wrn_queue *q = NewQueue("q");
    struct wrn_consumer *c = NewConsumer(q);

    EXPECT_EQ(q->refs, 1u);
    wrn_queue_ref(q);
    EXPECT_EQ(q->refs, 2u);
    wrn_queue_unref(q);
    EXPECT_EQ(q->refs, 1u);

    Publish(q, "a");
    Publish(q, "b");
    ASSERT_EQ(fake::deliveries.size(), 2u);
    EXPECT_EQ(q->refs, 3u); /* the vhost's and one per delivery */
    struct wrn_msg *a = wrn_msg_ref(fake::deliveries[0].e.msg);
    EXPECT_EQ(a->refs, 2u);

    EXPECT_EQ(wrn_queue_delete(q), 0u);
    EXPECT_TRUE(q->deleted);
    EXPECT_EQ(q->refs, 2u);
    EXPECT_EQ(fake::gone, (std::vector<struct wrn_consumer *>{c}));
    EXPECT_EQ(fake::deliveries[0].c, nullptr);
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q")), nullptr);
    EXPECT_EQ(wrn_queue_delete(q), 0u) << "a second delete is a no-op";

    /* a message requeued to a deleted queue is dropped, not stored */
    fake::requeue(0);
    EXPECT_EQ(a->refs, 1u);
    EXPECT_EQ(wrn_queue_ready(q), 0u);
    EXPECT_EQ(q->refs, 1u);
    wrn_queue_dispatch(q); /* nothing to deliver to, and no crash */
    EXPECT_EQ(fake::deliveries.size(), 1u);

    fake::ack(0); /* the last ref: q is freed here (ASan checks the rest) */
    wrn_msg_unref(a);
}

/*
 * Random publish / pop / requeue-or-ack of a popped message, checked after every
 * step against a model: one deque per priority level, each sorted by seq,
 * the highest level served first. Phases alternate between growing and
 * draining so the rings grow, wrap and empty many times.
 */
struct ModelEntry {
    uint64_t seq;
    struct wrn_msg *msg;
    bool redelivered;
};

struct RunStats {
    uint64_t requeues = 0, front_requeues = 0, pops = 0;
    uint32_t max_cap = 0;
    size_t max_ready = 0;
};

void
RunAgainstModel(struct wrn_queue *q, unsigned msg_priorities, uint32_t seed, RunStats *stats)
{
    std::vector<std::deque<ModelEntry>> model(q->nlevels);
    std::vector<struct wrn_qentry> popped;
    std::mt19937 rng(seed);
    uint64_t next_seq = 0;

    for (int step = 0; step < 20000; step++) {
        bool growing = (step / 700) % 2 == 0;
        unsigned r = rng() % 100;
        unsigned publish_pct = growing ? 50 : 20, pop_pct = growing ? 30 : 55;
        int top = -1;
        for (int l = static_cast<int>(q->nlevels) - 1; l >= 0 && top < 0; l--)
            if (!model[l].empty())
                top = l;

        if (r < publish_pct) {
            struct wrn_msg *m = NewMsg("s" + std::to_string(next_seq));
            m->priority = static_cast<uint8_t>(rng() % msg_priorities);
            /* above the maximum counts as the maximum */
            unsigned l = std::min<unsigned>(m->priority, q->nlevels - 1u);
            ASSERT_TRUE(wrn_queue_publish(q, m));
            model[l].push_back(ModelEntry{next_seq++, m, false});
            wrn_msg_unref(m);
        } else if (r < publish_pct + pop_pct) {
            struct wrn_qentry e;
            bool got = wrn_queue_pop(q, &e);
            ASSERT_EQ(got, top >= 0) << "step " << step;
            if (got) {
                ASSERT_EQ(e.seq, model[top].front().seq) << "step " << step;
                ASSERT_EQ(e.msg, model[top].front().msg) << "step " << step;
                ASSERT_EQ(e.redelivered, model[top].front().redelivered) << "step " << step;
                model[top].pop_front();
                popped.push_back(e);
                stats->pops++;
            }
        } else if (!popped.empty()) {
            size_t i = rng() % popped.size();
            struct wrn_qentry e = popped[i];
            popped[i] = popped.back();
            popped.pop_back();
            if (rng() % 4 == 0) {
                wrn_msg_unref(e.msg); /* acked: gone for good, which bounds the sizes */
            } else {
                wrn_queue_requeue(q, &e);
                std::deque<ModelEntry> &lv =
                    model[std::min<unsigned>(e.msg->priority, q->nlevels - 1u)];
                auto pos =
                    std::lower_bound(lv.begin(), lv.end(), e.seq,
                                     [](const ModelEntry &a, uint64_t seq) { return a.seq < seq; });
                stats->front_requeues += pos == lv.begin();
                lv.insert(pos, ModelEntry{e.seq, e.msg, true});
                stats->requeues++;
            }
        }

        std::vector<ModelEntry> want;
        for (unsigned l = q->nlevels; l-- > 0;)
            want.insert(want.end(), model[l].begin(), model[l].end());
        std::vector<struct wrn_qentry> ready = Ready(q);
        ASSERT_EQ(ready.size(), want.size()) << "step " << step;
        ASSERT_EQ(wrn_queue_ready(q), want.size()) << "step " << step;
        size_t k = 0; /* the first difference, if any, is reported */
        while (k < ready.size() && ready[k].seq == want[k].seq && ready[k].msg == want[k].msg &&
               ready[k].redelivered == want[k].redelivered)
            k++;
        if (k < ready.size()) {
            ASSERT_EQ(ready[k].seq, want[k].seq) << "step " << step << " index " << k;
            ASSERT_EQ(ready[k].msg, want[k].msg) << "step " << step << " index " << k;
            ASSERT_EQ(ready[k].redelivered, want[k].redelivered)
                << "step " << step << " index " << k;
        }
        stats->max_ready = std::max(stats->max_ready, ready.size());
        for (unsigned l = 0; l < q->nlevels; l++)
            stats->max_cap = std::max(stats->max_cap, q->levels[l].cap);
    }
    for (auto &e : popped)
        wrn_msg_unref(e.msg);
}

TEST_F(Queue, RandomOperationsMatchASortedModel)
{
    struct wrn_queue *q = NewQueue("q");
    RunStats stats;

    ASSERT_EQ(q->nlevels, 1u);
    RunAgainstModel(q, 1, 20240601, &stats);
    /* the run exercised what it is meant to */
    EXPECT_GT(stats.requeues, 1000u);
    EXPECT_GT(stats.front_requeues, 100u);
    EXPECT_GT(stats.requeues - stats.front_requeues, 100u);
    EXPECT_GE(stats.max_cap, 256u);
    EXPECT_GE(stats.max_ready, 1000u);
}

TEST_F(Queue, RandomOperationsWithPrioritiesMatchTheModel)
{
    struct wrn_queue *q = NewQueue("q", false, 4);
    RunStats stats;

    ASSERT_EQ(q->nlevels, 5u);
    RunAgainstModel(q, 7, 77, &stats);
    EXPECT_GT(stats.requeues, 1000u);
    EXPECT_GT(stats.front_requeues, 100u);
    EXPECT_GT(stats.requeues - stats.front_requeues, 100u);
    EXPECT_GE(stats.max_cap, 128u);
}

/* 256 levels: the non-empty bitmap spans four words. */
TEST_F(Queue, PriorityLevelsAcrossBitmapWords)
{
    struct wrn_queue *q = NewQueue("q", false, 255);
    const unsigned prios[] = {0, 64, 63, 255, 128, 127, 200, 1, 65};

    ASSERT_EQ(q->nlevels, 256u);
    for (unsigned p : prios) {
        struct wrn_msg *m = NewMsg("p" + std::to_string(p));
        m->priority = static_cast<uint8_t>(p);
        wrn_queue_publish(q, m);
        wrn_msg_unref(m);
    }
    std::vector<std::string> got;
    struct wrn_qentry e;
    while (wrn_queue_pop(q, &e)) {
        got.push_back(Label(e.msg));
        wrn_msg_unref(e.msg);
    }
    EXPECT_EQ(got, (std::vector<std::string>{"p255", "p200", "p128", "p127", "p65", "p64", "p63",
                                             "p1", "p0"}));
}

/* A requeued message goes back to its own level, ahead of newer ones there. */
TEST_F(Queue, RequeueKeepsPriorityOrder)
{
    struct wrn_queue *q = NewQueue("q", false, 9);
    struct wrn_consumer *c = NewConsumer(q);
    const unsigned prios[] = {1, 5, 1, 5, 9};

    fake::set_credit(c, 0);
    for (size_t i = 0; i < 5; i++) {
        struct wrn_msg *m = NewMsg("m" + std::to_string(i));
        m->priority = static_cast<uint8_t>(prios[i]);
        wrn_queue_publish(q, m);
        wrn_msg_unref(m);
    }
    fake::set_credit(c, 3);
    wrn_queue_dispatch(q);
    ASSERT_EQ(DeliveredLabels(), (std::vector<std::string>{"m4", "m1", "m3"}));
    fake::requeue(1); /* m1, priority 5 */
    fake::requeue(0); /* m4, priority 9 */
    EXPECT_EQ(wrn_queue_ready(q), 4u);
    fake::set_credit(c, -1);
    wrn_queue_dispatch(q);
    EXPECT_EQ(DeliveredLabels(), (std::vector<std::string>{"m3", "m4", "m1", "m0", "m2"}));
}

} // namespace
