"""Routing by exchange type: default, direct, fanout, topic wildcards, headers
with every x-match mode, and at-most-once delivery per queue.
"""
import pika
import pytest

from conftest import drain


def setup_queues(broker, ch, count):
    queues = [broker.name("q%d" % i) for i in range(count)]
    for q in queues:
        ch.queue_declare(q)
    return queues


def test_default_exchange_routes_by_queue_name(broker):
    ch = broker.channel()
    a, b = setup_queues(broker, ch, 2)
    ch.basic_publish("", a, b"for a")
    ch.basic_publish("", b, b"for b")
    ch.basic_publish("", broker.name("nobody"), b"dropped")
    assert drain(ch, a) == [b"for a"]
    assert drain(ch, b) == [b"for b"]


def test_direct_exchange_routes_on_exact_key(broker):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    a, b = setup_queues(broker, ch, 2)
    ch.queue_bind(a, x, routing_key="red")
    ch.queue_bind(b, x, routing_key="green")
    ch.queue_bind(b, x, routing_key="red")
    ch.basic_publish(x, "red", b"r")
    ch.basic_publish(x, "green", b"g")
    ch.basic_publish(x, "Red", b"case matters")
    ch.basic_publish(x, "red.x", b"no prefix match")
    assert drain(ch, a) == [b"r"]
    assert drain(ch, b) == [b"r", b"g"]


def test_direct_exchange_empty_routing_key_binding(broker):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    (a,) = setup_queues(broker, ch, 1)
    ch.queue_bind(a, x, routing_key="")
    ch.basic_publish(x, "", b"empty key")
    ch.basic_publish(x, "k", b"other key")
    assert drain(ch, a) == [b"empty key"]


def test_fanout_exchange_ignores_routing_key_and_reaches_all(broker):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="fanout")
    queues = setup_queues(broker, ch, 3)
    for i, q in enumerate(queues):
        ch.queue_bind(q, x, routing_key="ignored-%d" % i)
    ch.basic_publish(x, "whatever", b"to all")
    for q in queues:
        assert drain(ch, q) == [b"to all"]


TOPIC_CASES = [
    ("a.b.c", "a.b.c", True),
    ("a.b.c", "a.b", False),
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.c", False),
    ("a.*.c", "a.b.b.c", False),
    ("a.*", "a.b", True),
    ("a.*", "a", False),
    # An empty routing key has no words at all, so "*" cannot match it.
    ("*", "", False),
    ("*", "a", True),
    ("*", "a.b", False),
    ("a.#", "a", True),
    ("a.#", "a.b.c", True),
    ("a.#", "ab.c", False),
    ("#", "", True),
    ("#", "x.y.z", True),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("#.c", "a.b.cd", False),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.b.b.c", True),
    ("a.#.c", "a.b.b.d", False),
    ("#.#", "a", True),
    ("*.#", "", False),
    ("*.#", "a", True),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
    ("a..c", "a..c", True),
    ("a.*.c", "a..c", True),
    ("a.#", "a.", True),
    ("a.*", "a.", True),
    ("*", ".", False),
    ("*.*", ".", True),
    ("", "", True),
    ("", "a", False),
]


@pytest.mark.parametrize("pattern,key,matches", TOPIC_CASES,
                         ids=["%r~%r" % (p, k) for p, k, _m in TOPIC_CASES])
def test_topic_pattern_matching(broker, pattern, key, matches):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="topic")
    (q,) = setup_queues(broker, ch, 1)
    ch.queue_bind(q, x, routing_key=pattern)
    ch.basic_publish(x, key, b"m")
    assert drain(ch, q) == ([b"m"] if matches else [])


HEADERS_CASES = [
    # (binding arguments, message headers, matches)
    ({"x-match": "all", "a": 1, "b": "two"}, {"a": 1, "b": "two", "c": 3},
     True),
    ({"x-match": "all", "a": 1, "b": "two"}, {"a": 1}, False),
    ({"x-match": "all", "a": 1, "b": "two"}, {"a": 1, "b": "other"}, False),
    ({"x-match": "all", "a": 1}, {"a": "1"}, False),
    ({"x-match": "all", "a": 1}, None, False),
    ({"a": 1, "b": "two"}, {"a": 1, "b": "two"}, True),
    ({"a": 1, "b": "two"}, {"a": 1}, False),
    ({"x-match": "any", "a": 1, "b": "two"}, {"b": "two"}, True),
    ({"x-match": "any", "a": 1, "b": "two"}, {"a": 2, "c": 1}, False),
    ({"x-match": "any", "a": 1, "b": "two"}, None, False),
    # Plain all/any ignore x- keys in the binding.
    ({"x-match": "all", "a": 1, "x-extra": "y"}, {"a": 1}, True),
    ({"x-match": "any", "x-extra": "y"}, {"x-extra": "y"}, False),
    # The -with-x modes take x- keys into account.
    ({"x-match": "all-with-x", "a": 1, "x-extra": "y"}, {"a": 1}, False),
    ({"x-match": "all-with-x", "a": 1, "x-extra": "y"},
     {"a": 1, "x-extra": "y"}, True),
    ({"x-match": "any-with-x", "x-extra": "y"}, {"x-extra": "y"}, True),
    ({"x-match": "any-with-x", "x-extra": "y"}, {"x-extra": "z"}, False),
    ({"x-match": "all", "flag": True, "s": "v", "n": 7},
     {"flag": True, "s": "v", "n": 7}, True),
    ({"x-match": "all", "flag": True}, {"flag": False}, False),
]


@pytest.mark.parametrize("binding,headers,matches", HEADERS_CASES,
                         ids=["case%d" % i for i in range(len(HEADERS_CASES))])
def test_headers_exchange_matching(broker, binding, headers, matches):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="headers")
    (q,) = setup_queues(broker, ch, 1)
    ch.queue_bind(q, x, routing_key="", arguments=binding)
    ch.basic_publish(x, "any-key", b"m",
                     properties=pika.BasicProperties(headers=headers))
    assert drain(ch, q) == ([b"m"] if matches else [])


def test_message_matching_two_topic_bindings_arrives_once(broker):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="topic")
    (q,) = setup_queues(broker, ch, 1)
    for pattern in ("a.*", "*.b", "#", "a.b"):
        ch.queue_bind(q, x, routing_key=pattern)
    ch.basic_publish(x, "a.b", b"once")
    assert drain(ch, q) == [b"once"]


def test_queue_bound_twice_to_fanout_gets_message_once(broker):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="fanout")
    (q,) = setup_queues(broker, ch, 1)
    ch.queue_bind(q, x, routing_key="one")
    ch.queue_bind(q, x, routing_key="two")
    ch.basic_publish(x, "", b"once")
    assert drain(ch, q) == [b"once"]


def test_queue_reached_directly_and_via_exchange_binding_gets_it_once(broker):
    ch = broker.channel()
    src, mid = broker.name("src"), broker.name("mid")
    ch.exchange_declare(src, exchange_type="fanout")
    ch.exchange_declare(mid, exchange_type="fanout")
    ch.exchange_bind(mid, src)
    (q,) = setup_queues(broker, ch, 1)
    ch.queue_bind(q, src)
    ch.queue_bind(q, mid)
    ch.basic_publish(src, "", b"once")
    assert drain(ch, q) == [b"once"]


def test_exchange_binding_cycle_does_not_duplicate_or_loop(broker):
    ch = broker.channel()
    a, b = broker.name("xa"), broker.name("xb")
    ch.exchange_declare(a, exchange_type="fanout")
    ch.exchange_declare(b, exchange_type="fanout")
    ch.exchange_bind(b, a)
    ch.exchange_bind(a, b)
    (q,) = setup_queues(broker, ch, 1)
    ch.queue_bind(q, b)
    ch.basic_publish(a, "", b"once")
    assert drain(ch, q) == [b"once"]
