/*
 * Routing through the default, direct, fanout, topic and headers exchanges,
 * checked by reading back what each of our own queues received.
 */
#include "client.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace interop;

namespace {

class Routing : public fixture {
protected:
    /* Everything in q, sorted, so routing tables compare as sets. */
    std::vector<std::string>
    sorted(conn &c, amqp_channel_t ch, const std::string &q)
    {
        std::vector<std::string> v = c.drain(ch, q);
        std::sort(v.begin(), v.end());
        return v;
    }
};

TEST_F(Routing, DefaultExchangeRoutesByQueueName)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string a = c.declare_queue(ch, queue_name("dflt-a"));
    std::string b = c.declare_queue(ch, queue_name("dflt-b"));
    c.publish(ch, "", a, "to-a");
    c.publish(ch, "", b, "to-b");
    c.publish(ch, "", queue_name("nobody"), "dropped");
    EXPECT_EQ(c.drain(ch, a), std::vector<std::string>{"to-a"});
    EXPECT_EQ(c.drain(ch, b), std::vector<std::string>{"to-b"});
}

TEST_F(Routing, DirectExchangeRoutesByExactKey)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("direct");
    c.declare_exchange(ch, x, "direct");
    std::string red = c.declare_queue(ch, "", exclusive);
    std::string blue = c.declare_queue(ch, "", exclusive);
    std::string both = c.declare_queue(ch, "", exclusive);
    std::string empty = c.declare_queue(ch, "", exclusive);
    c.bind(ch, red, x, "red");
    c.bind(ch, blue, x, "blue");
    c.bind(ch, both, x, "red");
    c.bind(ch, both, x, "blue");
    c.bind(ch, empty, x, "");
    for (const char *k : {"red", "blue", "green", "", "red.x", "RED"})
        c.publish(ch, x, k, std::string("k=") + k);
    EXPECT_EQ(sorted(c, ch, red), std::vector<std::string>{"k=red"});
    EXPECT_EQ(sorted(c, ch, blue), std::vector<std::string>{"k=blue"});
    EXPECT_EQ(sorted(c, ch, both), (std::vector<std::string>{"k=blue", "k=red"}));
    EXPECT_EQ(sorted(c, ch, empty), std::vector<std::string>{"k="});
}

TEST_F(Routing, FanoutExchangeIgnoresRoutingKey)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("fanout");
    c.declare_exchange(ch, x, "fanout");
    std::vector<std::string> qs;
    for (int i = 0; i < 3; i++) {
        qs.push_back(c.declare_queue(ch, "", exclusive));
        c.bind(ch, qs.back(), x, "binding-key-" + std::to_string(i));
    }
    c.publish(ch, x, "anything", "one");
    c.publish(ch, x, "", "two");
    for (const std::string &q : qs)
        EXPECT_EQ(c.drain(ch, q), (std::vector<std::string>{"one", "two"}));
}

TEST_F(Routing, TopicExchangeMatchesStarHashAndEmptyWords)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("topic");
    c.declare_exchange(ch, x, "topic");
    const std::vector<std::string> patterns = {
        "a.b.c", "a.*.c", "a.#", "#", "*", "a.#.c", "#.c", "*.*", "", "#.#",
        "a.*.#"};
    std::map<std::string, std::string> queue_of;
    for (const std::string &p : patterns) {
        queue_of[p] = c.declare_queue(ch, "", exclusive);
        c.bind(ch, queue_of[p], x, p);
    }
    const std::vector<std::string> keys = {
        "a.b.c", "a.c", "a", "", "a..c", "x.c", "a.b.b.c", ".", "b"};
    for (const std::string &k : keys)
        c.publish(ch, x, k, "k=" + k);

    const std::map<std::string, std::vector<std::string>> expected = {
        {"a.b.c", {"k=a.b.c"}},
        {"a.*.c", {"k=a..c", "k=a.b.c"}},
        {"a.#", {"k=a", "k=a..c", "k=a.b.b.c", "k=a.b.c", "k=a.c"}},
        {"#", {"k=", "k=.", "k=a", "k=a..c", "k=a.b.b.c", "k=a.b.c", "k=a.c",
               "k=b", "k=x.c"}},
        {"*", {"k=a", "k=b"}},
        {"a.#.c", {"k=a..c", "k=a.b.b.c", "k=a.b.c", "k=a.c"}},
        {"#.c", {"k=a..c", "k=a.b.b.c", "k=a.b.c", "k=a.c", "k=x.c"}},
        {"*.*", {"k=.", "k=a.c", "k=x.c"}},
        {"", {"k="}},
        {"#.#", {"k=", "k=.", "k=a", "k=a..c", "k=a.b.b.c", "k=a.b.c", "k=a.c",
                 "k=b", "k=x.c"}},
        {"a.*.#", {"k=a..c", "k=a.b.b.c", "k=a.b.c", "k=a.c"}},
    };
    for (const std::string &p : patterns) {
        SCOPED_TRACE("pattern '" + p + "'");
        EXPECT_EQ(sorted(c, ch, queue_of[p]), expected.at(p));
    }
}

/* Publishes body with the given headers (none if h is null). */
void
publish_with_headers(conn &c, amqp_channel_t ch, const std::string &x,
                     const std::string &body, const table *h)
{
    amqp_basic_properties_t props;
    std::memset(&props, 0, sizeof props);
    if (h != nullptr) {
        props._flags = AMQP_BASIC_HEADERS_FLAG;
        props.headers = h->get();
    }
    c.publish(ch, x, "ignored", body, &props);
}

TEST_F(Routing, HeadersExchangeMatchesAllAnyAndWithX)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("headers");
    c.declare_exchange(ch, x, "headers");

    amqp_field_value_t void_value;
    void_value.kind = AMQP_FIELD_KIND_VOID;
    std::map<std::string, table> bindings;
    bindings["all"].str("x-match", "all").str("a", "1").str("b", "2");
    bindings["any"].str("x-match", "any").str("a", "1").str("b", "2");
    bindings["default-all"].str("a", "1");
    bindings["all-with-x"].str("x-match", "all-with-x").str("x-foo", "bar");
    bindings["any-with-x"]
        .str("x-match", "any-with-x").str("x-foo", "bar").str("c", "3");
    bindings["all-only-x"].str("x-match", "all").str("x-foo", "bar");
    bindings["any-only-x"].str("x-match", "any").str("x-foo", "bar");
    bindings["int"].str("x-match", "all").i32("n", 5);
    bindings["presence"].str("x-match", "all").add("p", void_value);
    std::map<std::string, std::string> queue_of;
    for (auto &b : bindings) {
        queue_of[b.first] = c.declare_queue(ch, "", exclusive);
        c.bind(ch, queue_of[b.first], x, "", b.second.get());
    }

    std::map<std::string, table> messages;
    messages["ab"].str("a", "1").str("b", "2");
    messages["a"].str("a", "1");
    messages["b"].str("b", "2");
    messages["abx"].str("a", "1").str("b", "2").str("x-foo", "bar");
    messages["x"].str("x-foo", "bar");
    messages["c"].str("c", "3");
    messages["a-wrong"].str("a", "2");
    messages["n-long"].i64("n", 5);
    messages["n-string"].str("n", "5");
    messages["p"].str("p", "anything");
    for (auto &m : messages)
        publish_with_headers(c, ch, x, m.first, &m.second);
    publish_with_headers(c, ch, x, "none", nullptr);

    using v = std::vector<std::string>;
    const std::map<std::string, v> expected = {
        {"all", v{"ab", "abx"}},
        {"any", v{"a", "ab", "abx", "b"}},
        {"default-all", v{"a", "ab", "abx"}},
        {"all-with-x", v{"abx", "x"}},
        {"any-with-x", v{"abx", "c", "x"}},
        /* Plain all/any ignore x- keys: no conditions left. */
        {"all-only-x", v{"a", "a-wrong", "ab", "abx", "b", "c", "n-long",
                         "n-string", "none", "p", "x"}},
        {"any-only-x", v{}},
        /* Integers compare by value across widths, not with strings. */
        {"int", v{"n-long"}},
        /* A void value in the binding asks only that the header exists. */
        {"presence", v{"p"}},
    };
    for (auto &b : bindings) {
        SCOPED_TRACE("binding " + b.first);
        EXPECT_EQ(sorted(c, ch, queue_of[b.first]), expected.at(b.first));
    }
}

TEST_F(Routing, MessageMatchingSeveralBindingsArrivesOnce)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string topic = exchange_name("once-topic");
    std::string fan = exchange_name("once-fanout");
    c.declare_exchange(ch, topic, "topic");
    c.declare_exchange(ch, fan, "fanout");
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, topic, "a.*");
    c.bind(ch, q, topic, "#");
    c.bind(ch, q, topic, "a.b");
    c.bind(ch, q, fan, "one");
    c.bind(ch, q, fan, "two");
    c.publish(ch, topic, "a.b", "topic");
    c.publish(ch, fan, "", "fanout");
    EXPECT_EQ(c.drain(ch, q), (std::vector<std::string>{"topic", "fanout"}));
}

TEST_F(Routing, MessageReachingQueueByTwoExchangePathsArrivesOnce)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string front = exchange_name("paths-front");
    std::string back = exchange_name("paths-back");
    c.declare_exchange(ch, front, "fanout");
    c.declare_exchange(ch, back, "fanout");
    amqp_exchange_bind(c.get(), ch, bytes(back), bytes(front), amqp_empty_bytes,
                       amqp_empty_table);
    ASSERT_TRUE(is_ok(c.last(ch)));
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, front, "");
    c.bind(ch, q, back, "");
    c.publish(ch, front, "", "twice-bound");
    EXPECT_EQ(c.drain(ch, q), std::vector<std::string>{"twice-bound"});
}

TEST_F(Routing, DeliveryCarriesExchangeAndRoutingKey)
{
    conn c;
    amqp_channel_t ch = c.open_channel();
    std::string x = exchange_name("carry");
    c.declare_exchange(ch, x, "topic");
    std::string q = c.declare_queue(ch, "", exclusive);
    c.bind(ch, q, x, "t.#");
    c.publish(ch, x, "t.one.two", "body");
    got g = c.get(ch, q);
    ASSERT_TRUE(is_ok(g.reply));
    ASSERT_FALSE(g.empty);
    EXPECT_EQ(g.exchange, x);
    EXPECT_EQ(g.routing_key, "t.one.two");
}

} /* namespace */
