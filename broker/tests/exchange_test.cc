/*
 * exchange_test.cc - bindings and routing: direct, fanout, topic and headers
 * exchanges (the last two through router.c), exchange-to-exchange bindings
 * and their cycles, alternate exchanges, each queue reached once, and
 * auto-delete exchanges.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fake_channel.h"

extern "C" {
#include "dict.h"
#include "exchange.h"
}

namespace
{

using Names = std::vector<std::string>;

class Exchange : public ::testing::Test
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
        wrn_route_fini(&r);
        server.vhosts = NULL;
        wrn_vhost_free(v);
        fake::reset();
    }

    struct wrn_exchange *
    X(const std::string &name, enum wrn_exchange_type type, bool auto_delete = false,
      const std::string &args = std::string())
    {
        return wrn_exchange_new(v, Sl(name), type, false, auto_delete, false, Sl(args));
    }

    struct wrn_queue *
    Q(const std::string &name)
    {
        return NewQueue(v, name);
    }

    struct wrn_binding *
    Bind(struct wrn_exchange *src, struct wrn_queue *q, const std::string &key,
         const std::string &args = std::string())
    {
        return wrn_binding_add(src, q, NULL, Sl(key), Sl(args));
    }

    struct wrn_binding *
    BindX(struct wrn_exchange *src, struct wrn_exchange *dst, const std::string &key,
          const std::string &args = std::string())
    {
        return wrn_binding_add(src, NULL, dst, Sl(key), Sl(args));
    }

    /* The names of the queues reached, sorted; a duplicate would show twice. */
    Names
    Route(struct wrn_exchange *x, const std::string &key, const std::string &props = "")
    {
        return RouteKeys(x, {key}, props);
    }

    /* Routing with several keys at once, as for a message with CC/BCC headers. */
    Names
    RouteKeys(struct wrn_exchange *x, const std::vector<std::string> &keys,
              const std::string &props = "")
    {
        struct wrn_msg *m = wrn_msg_new(Sl(x->name), Sl(keys.at(0)), Sl(props), 0);
        std::vector<struct wrn_slice> rks;
        for (const auto &k : keys)
            rks.push_back(Sl(k));
        wrn_exchange_route(x, m, rks.data(), static_cast<uint32_t>(rks.size()), &r);
        wrn_msg_unref(m);
        Names out;
        for (uint32_t i = 0; i < r.count; i++)
            out.push_back(r.queues[i]->name);
        std::sort(out.begin(), out.end());
        return out;
    }

    bool
    Exists(const std::string &exchange)
    {
        return wrn_vhost_exchange(v, Sl(exchange)) != NULL;
    }

    struct wrn_vhost *v = NULL;
    struct wrn_route r = {};
};

TEST_F(Exchange, TypeNamesRoundTrip)
{
    enum wrn_exchange_type t;

    for (auto want :
         {WRN_EXCHANGE_DIRECT, WRN_EXCHANGE_FANOUT, WRN_EXCHANGE_TOPIC, WRN_EXCHANGE_HEADERS}) {
        ASSERT_TRUE(wrn_exchange_type_parse(wrn_slice_str(wrn_exchange_type_name(want)), &t));
        EXPECT_EQ(t, want);
    }
    EXPECT_STREQ(wrn_exchange_type_name(WRN_EXCHANGE_TOPIC), "topic");
    EXPECT_FALSE(wrn_exchange_type_parse(Sl("Direct"), &t));
    EXPECT_FALSE(wrn_exchange_type_parse(Sl("x-delayed-message"), &t));
    EXPECT_FALSE(wrn_exchange_type_parse(Sl(""), &t));
}

TEST_F(Exchange, DirectRoutesByKey)
{
    struct wrn_exchange *x = X("d", WRN_EXCHANGE_DIRECT);
    Bind(x, Q("q1"), "k1");
    Bind(x, Q("q2"), "k2");
    Bind(x, Q("q3"), "k1");
    Bind(x, Q("q4"), "");

    EXPECT_EQ(Route(x, "k1"), (Names{"q1", "q3"}));
    EXPECT_EQ(Route(x, "k2"), (Names{"q2"}));
    EXPECT_EQ(Route(x, ""), (Names{"q4"}));
    EXPECT_EQ(Route(x, "k"), Names{});
    EXPECT_EQ(Route(x, "K1"), Names{});
}

TEST_F(Exchange, FanoutIgnoresTheKey)
{
    struct wrn_exchange *x = X("f", WRN_EXCHANGE_FANOUT);
    EXPECT_EQ(Route(x, "a"), Names{});
    Bind(x, Q("q1"), "a");
    Bind(x, Q("q2"), "b");
    EXPECT_EQ(Route(x, "zzz"), (Names{"q1", "q2"}));
    EXPECT_EQ(Route(x, ""), (Names{"q1", "q2"}));
}

TEST_F(Exchange, TopicMatchesPatterns)
{
    struct wrn_exchange *x = X("t", WRN_EXCHANGE_TOPIC);
    Bind(x, Q("star"), "a.*.c");
    Bind(x, Q("hash"), "a.#");
    Bind(x, Q("tail"), "#.c");
    Bind(x, Q("exact"), "a.b");

    EXPECT_EQ(Route(x, "a.b.c"), (Names{"hash", "star", "tail"}));
    EXPECT_EQ(Route(x, "a.b"), (Names{"exact", "hash"}));
    EXPECT_EQ(Route(x, "a"), (Names{"hash"}));
    EXPECT_EQ(Route(x, "x.y.c"), (Names{"tail"}));
    EXPECT_EQ(Route(x, "b.a"), Names{});
}

TEST_F(Exchange, HeadersMatchAllOrAny)
{
    struct wrn_exchange *x = X("h", WRN_EXCHANGE_HEADERS);
    Bind(x, Q("all"), "", Table({{"x-match", "all"}, {"format", "pdf"}, {"type", "report"}}));
    Bind(x, Q("any"), "", Table({{"x-match", "any"}, {"format", "pdf"}, {"type", "report"}}));
    Bind(x, Q("default"), "", Table({{"format", "zip"}})); /* x-match defaults to all */

    auto with = [](std::vector<std::pair<std::string, std::string>> h) {
        return PropsWithHeaders(Table(h));
    };
    EXPECT_EQ(Route(x, "", with({{"format", "pdf"}, {"type", "report"}})), (Names{"all", "any"}));
    EXPECT_EQ(Route(x, "", with({{"type", "report"}, {"format", "pdf"}, {"extra", "1"}})),
              (Names{"all", "any"}));
    EXPECT_EQ(Route(x, "", with({{"format", "pdf"}})), (Names{"any"}));
    EXPECT_EQ(Route(x, "", with({{"format", "zip"}})), (Names{"default"}));
    EXPECT_EQ(Route(x, "", with({{"format", "doc"}})), Names{});
    EXPECT_EQ(Route(x, ""), Names{}); /* no properties at all */
    /* the routing key plays no part */
    EXPECT_EQ(Route(x, "pdf", with({{"format", "pdf"}})), (Names{"any"}));
}

TEST_F(Exchange, EachQueueOnceWhenSeveralBindingsHitIt)
{
    struct wrn_exchange *d = X("d", WRN_EXCHANGE_DIRECT);
    struct wrn_exchange *f = X("f", WRN_EXCHANGE_FANOUT);
    struct wrn_exchange *t = X("t", WRN_EXCHANGE_TOPIC);
    struct wrn_exchange *h = X("h", WRN_EXCHANGE_HEADERS);
    struct wrn_queue *q = Q("q");

    Bind(d, q, "k");
    Bind(d, q, "k", Table({{"a", "1"}})); /* same key, other arguments: a second binding */
    Bind(f, q, "1");
    Bind(f, q, "2");
    Bind(t, q, "a.*");
    Bind(t, q, "#");
    Bind(t, q, "a.b");
    Bind(h, q, "", Table({{"x-match", "any"}, {"a", "1"}}));
    Bind(h, q, "", Table({{"x-match", "any"}, {"b", "2"}}));
    /* and the same queue again through another exchange */
    struct wrn_exchange *f2 = X("f2", WRN_EXCHANGE_FANOUT);
    BindX(f, f2, "");
    Bind(f2, q, "");

    EXPECT_EQ(Route(d, "k"), (Names{"q"}));
    EXPECT_EQ(Route(f, "k"), (Names{"q"}));
    EXPECT_EQ(Route(t, "a.b"), (Names{"q"}));
    EXPECT_EQ(Route(h, "", PropsWithHeaders(Table({{"a", "1"}, {"b", "2"}}))), (Names{"q"}));
}

TEST_F(Exchange, SeveralKeysReachEachQueueOnce)
{
    struct wrn_exchange *d = X("d", WRN_EXCHANGE_DIRECT);
    struct wrn_exchange *t = X("t", WRN_EXCHANGE_TOPIC);
    struct wrn_queue *both = Q("both");
    Bind(d, Q("qa"), "a");
    Bind(d, Q("qb"), "b");
    Bind(d, both, "a");
    Bind(d, both, "b");
    BindX(d, t, "b"); /* the exchange is visited again for each key */
    Bind(t, Q("tb"), "b");
    Bind(t, Q("tc"), "c");
    BindX(d, t, "c");

    EXPECT_EQ(RouteKeys(d, {"a", "b"}), (Names{"both", "qa", "qb", "tb"}));
    EXPECT_EQ(RouteKeys(d, {"b", "c", "zz"}), (Names{"both", "qb", "tb", "tc"}));
    EXPECT_EQ(RouteKeys(d, {"a", "a"}), (Names{"both", "qa"}));
    EXPECT_EQ(RouteKeys(d, {"zz", "yy"}), Names{});
}

TEST_F(Exchange, RouteResultIsClearedEachTime)
{
    struct wrn_exchange *x = X("d", WRN_EXCHANGE_DIRECT);
    Bind(x, Q("q1"), "a");
    EXPECT_EQ(Route(x, "a"), (Names{"q1"}));
    EXPECT_EQ(Route(x, "b"), Names{});
    EXPECT_EQ(Route(x, "a"), (Names{"q1"}));
    EXPECT_EQ(Route(x, "a"), (Names{"q1"})); /* the same queue again in a new pass */
}

TEST_F(Exchange, DefaultExchangeRoutesByQueueName)
{
    struct wrn_exchange *def = wrn_vhost_exchange(v, Sl(""));
    ASSERT_NE(def, nullptr);
    Q("orders");
    Q("orders.eu");
    EXPECT_EQ(Route(def, "orders"), (Names{"orders"}));
    EXPECT_EQ(Route(def, "orders.eu"), (Names{"orders.eu"}));
    EXPECT_EQ(Route(def, "missing"), Names{});
    EXPECT_EQ(Route(def, ""), Names{});
}

TEST_F(Exchange, ExchangeToExchangeChainKeepsTheRoutingKey)
{
    struct wrn_exchange *a = X("a", WRN_EXCHANGE_DIRECT);
    struct wrn_exchange *b = X("b", WRN_EXCHANGE_FANOUT);
    struct wrn_exchange *c = X("c", WRN_EXCHANGE_TOPIC);
    BindX(a, b, "k");
    Bind(a, Q("direct-other"), "other");
    Bind(b, Q("fan"), "");
    BindX(b, c, "ignored by fanout");
    Bind(c, Q("topic-k"), "k");
    Bind(c, Q("topic-other"), "other");

    EXPECT_EQ(Route(a, "k"), (Names{"fan", "topic-k"}));
    EXPECT_EQ(Route(a, "other"), (Names{"direct-other"}));
    EXPECT_EQ(Route(b, "other"), (Names{"fan", "topic-other"}));
}

TEST_F(Exchange, CyclesEnd)
{
    struct wrn_exchange *a = X("a", WRN_EXCHANGE_FANOUT);
    struct wrn_exchange *b = X("b", WRN_EXCHANGE_FANOUT);
    BindX(a, b, "");
    BindX(b, a, "");
    BindX(a, a, "");
    Bind(a, Q("qa"), "");
    Bind(b, Q("qb"), "");

    EXPECT_EQ(Route(a, "x"), (Names{"qa", "qb"}));
    EXPECT_EQ(Route(b, "x"), (Names{"qa", "qb"}));
}

TEST_F(Exchange, AlternateOnlyWhenNothingMatched)
{
    std::string ae_args = Table({{"alternate-exchange", "ae"}});
    struct wrn_exchange *ae = X("ae", WRN_EXCHANGE_FANOUT);
    struct wrn_exchange *d = X("d", WRN_EXCHANGE_DIRECT, false, ae_args);
    struct wrn_exchange *f = X("f", WRN_EXCHANGE_FANOUT, false, ae_args);
    struct wrn_exchange *t = X("t", WRN_EXCHANGE_TOPIC, false, ae_args);
    struct wrn_exchange *h = X("h", WRN_EXCHANGE_HEADERS, false, ae_args);
    std::string pdf = PropsWithHeaders(Table({{"format", "pdf"}}));
    std::string zip = PropsWithHeaders(Table({{"format", "zip"}}));
    Bind(ae, Q("unrouted"), "");

    EXPECT_EQ(Str(d->alternate), "ae");
    EXPECT_EQ(Route(f, "k"), (Names{"unrouted"})) << "a fanout with no bindings";
    struct wrn_queue *primary = Q("main");
    Bind(d, primary, "k");
    Bind(f, primary, "");
    Bind(t, primary, "a.*");
    Bind(h, primary, "", Table({{"format", "pdf"}}));

    EXPECT_EQ(Route(d, "k"), (Names{"main"}));
    EXPECT_EQ(Route(d, "nope"), (Names{"unrouted"}));
    EXPECT_EQ(Route(f, "k"), (Names{"main"}));
    EXPECT_EQ(Route(t, "a.b"), (Names{"main"}));
    EXPECT_EQ(Route(t, "b.a"), (Names{"unrouted"}));
    EXPECT_EQ(Route(h, "", pdf), (Names{"main"}));
    EXPECT_EQ(Route(h, "", zip), (Names{"unrouted"}));
}

TEST_F(Exchange, AlternateIsLookedUpWhenRouting)
{
    struct wrn_exchange *x =
        X("x", WRN_EXCHANGE_TOPIC, false, Table({{"alternate-exchange", "later"}}));
    Bind(x, Q("main"), "a.#");

    EXPECT_EQ(Route(x, "b"), Names{}); /* missing alternate: simply unroutable */
    struct wrn_exchange *later = X("later", WRN_EXCHANGE_FANOUT);
    Bind(later, Q("unrouted"), "");
    EXPECT_EQ(Route(x, "b"), (Names{"unrouted"}));
    EXPECT_EQ(Route(x, "a.b"), (Names{"main"}));
    wrn_exchange_delete(later);
    EXPECT_EQ(Route(x, "b"), Names{});
}

TEST_F(Exchange, AlternateChainsAndCyclesEnd)
{
    struct wrn_exchange *x =
        X("x", WRN_EXCHANGE_DIRECT, false, Table({{"alternate-exchange", "y"}}));
    struct wrn_exchange *y =
        X("y", WRN_EXCHANGE_DIRECT, false, Table({{"alternate-exchange", "x"}}));
    Bind(y, Q("yq"), "y-key");

    EXPECT_EQ(Route(x, "nothing"), Names{});
    EXPECT_EQ(Route(x, "y-key"), (Names{"yq"}));
    EXPECT_EQ(Route(y, "nothing"), Names{});
}

TEST_F(Exchange, BindingFindAndRemove)
{
    struct wrn_exchange *x = X("x", WRN_EXCHANGE_DIRECT);
    struct wrn_exchange *dst = X("dst", WRN_EXCHANGE_FANOUT);
    struct wrn_queue *q = Q("q");
    std::string ab = Table({{"a", "1"}, {"b", "2"}});
    struct wrn_binding *b = Bind(x, q, "k", ab);
    struct wrn_binding *e2e = BindX(x, dst, "k");

    EXPECT_EQ(wrn_binding_find(x, q, NULL, Sl("k"), Sl(ab)), b);
    /* arguments compare as sets */
    EXPECT_EQ(wrn_binding_find(x, q, NULL, Sl("k"), Sl(Table({{"b", "2"}, {"a", "1"}}))), b);
    EXPECT_EQ(wrn_binding_find(x, q, NULL, Sl("k"), Sl("")), nullptr);
    EXPECT_EQ(wrn_binding_find(x, q, NULL, Sl("k2"), Sl(ab)), nullptr);
    EXPECT_EQ(wrn_binding_find(dst, q, NULL, Sl("k"), Sl(ab)), nullptr);
    EXPECT_EQ(wrn_binding_find(x, NULL, dst, Sl("k"), Sl("")), e2e);
    EXPECT_EQ(x->nbindings, 2u);

    wrn_binding_remove(b);
    EXPECT_EQ(wrn_binding_find(x, q, NULL, Sl("k"), Sl(ab)), nullptr);
    EXPECT_EQ(q->incoming, nullptr);
    EXPECT_EQ(x->nbindings, 1u);
    Bind(dst, Q("via-dst"), "");
    EXPECT_EQ(Route(x, "k"), (Names{"via-dst"}));
    wrn_binding_remove(e2e);
    EXPECT_EQ(dst->incoming, nullptr);
    EXPECT_EQ(Route(x, "k"), Names{});
    EXPECT_TRUE(Exists("x")) << "not auto-delete";
}

TEST_F(Exchange, RemovingDirectBindingsSharingAKey)
{
    struct wrn_exchange *x = X("x", WRN_EXCHANGE_DIRECT);
    struct wrn_binding *b1 = Bind(x, Q("q1"), "k");
    struct wrn_binding *b2 = Bind(x, Q("q2"), "k");
    struct wrn_binding *b3 = Bind(x, Q("q3"), "k");
    Bind(x, Q("other"), "o");

    wrn_binding_remove(b2); /* middle of the key's chain */
    EXPECT_EQ(Route(x, "k"), (Names{"q1", "q3"}));
    wrn_binding_remove(b3); /* its head */
    EXPECT_EQ(Route(x, "k"), (Names{"q1"}));
    EXPECT_EQ(wrn_dict_size(x->direct_index), 2u);
    wrn_binding_remove(b1); /* the last: the key leaves the index */
    EXPECT_EQ(Route(x, "k"), Names{});
    EXPECT_EQ(wrn_dict_size(x->direct_index), 1u);
    EXPECT_EQ(Route(x, "o"), (Names{"other"}));
}

TEST_F(Exchange, RemovingTopicBindings)
{
    struct wrn_exchange *x = X("t", WRN_EXCHANGE_TOPIC);
    struct wrn_queue *q = Q("q");
    struct wrn_binding *b1 = Bind(x, q, "a.*");
    Bind(x, q, "#.b");

    wrn_binding_remove(b1);
    EXPECT_EQ(Route(x, "a.c"), Names{});
    EXPECT_EQ(Route(x, "a.b"), (Names{"q"}));
}

TEST_F(Exchange, AutoDeleteGoesWithItsLastBinding)
{
    struct wrn_exchange *x = X("x", WRN_EXCHANGE_FANOUT, true);
    EXPECT_TRUE(Exists("x")) << "an auto-delete exchange starts with no bindings";
    struct wrn_binding *b1 = Bind(x, Q("q1"), "");
    struct wrn_binding *b2 = Bind(x, Q("q2"), "");

    wrn_binding_remove(b1);
    EXPECT_TRUE(Exists("x"));
    wrn_binding_remove(b2);
    EXPECT_FALSE(Exists("x"));
}

TEST_F(Exchange, AutoDeleteWhenTheBoundQueueIsDeleted)
{
    struct wrn_exchange *x = X("x", WRN_EXCHANGE_DIRECT, true);
    struct wrn_queue *q1 = Q("q1");
    struct wrn_queue *q2 = Q("q2");
    Bind(x, q1, "a");
    Bind(x, q1, "b");
    Bind(x, q2, "a");

    wrn_queue_delete(q1);
    EXPECT_TRUE(Exists("x"));
    EXPECT_EQ(x->nbindings, 1u);
    wrn_queue_delete(q2);
    EXPECT_FALSE(Exists("x"));
}

TEST_F(Exchange, AutoDeleteWhenTheDestinationExchangeIsDeleted)
{
    struct wrn_exchange *src = X("src", WRN_EXCHANGE_FANOUT, true);
    struct wrn_exchange *dst = X("dst", WRN_EXCHANGE_FANOUT);
    struct wrn_exchange *up = X("up", WRN_EXCHANGE_FANOUT);
    BindX(src, dst, "");
    BindX(up, src, "");
    Bind(dst, Q("q"), "");

    wrn_exchange_delete(dst);
    EXPECT_FALSE(Exists("dst"));
    EXPECT_FALSE(Exists("src"));
    EXPECT_TRUE(Exists("up"));
    EXPECT_EQ(up->nbindings, 0u) << "the binding into src went with it";
    EXPECT_EQ(wrn_vhost_queue(v, Sl("q"))->incoming, nullptr);
}

TEST_F(Exchange, BuiltinExchangesAreNotAutoDeleted)
{
    struct wrn_exchange *fan = wrn_vhost_exchange(v, Sl("amq.fanout"));
    ASSERT_NE(fan, nullptr);
    fan->auto_delete = true; /* even if flagged, a builtin stays */
    wrn_binding_remove(Bind(fan, Q("q"), ""));
    EXPECT_TRUE(Exists("amq.fanout"));
    fan->auto_delete = false;
}

TEST_F(Exchange, DeleteRemovesBindingsBothWays)
{
    struct wrn_exchange *a = X("a", WRN_EXCHANGE_FANOUT);
    struct wrn_exchange *b = X("b", WRN_EXCHANGE_TOPIC);
    struct wrn_queue *q = Q("q");
    BindX(a, b, "");
    Bind(b, q, "#");
    Bind(a, q, "");

    wrn_exchange_delete(b);
    EXPECT_FALSE(Exists("b"));
    EXPECT_EQ(a->nbindings, 1u);
    EXPECT_EQ(Route(a, "x"), (Names{"q"}));
    ASSERT_NE(q->incoming, nullptr);
    EXPECT_EQ(q->incoming->source, a);
    EXPECT_EQ(q->incoming->dst_next, nullptr);
}

} // namespace
