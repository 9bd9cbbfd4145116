"""Queue x- arguments: invalid values and types are a 406 channel error that
names the argument, valid boundary values are accepted, unknown arguments are
ignored, integer arguments are compared by value (not wire type) on
redeclare, and quorum-only arguments and properties are checked.
"""
import datetime
import decimal
import struct

import pika
import pytest

from conftest import broker_close, message_count


class Wire:
    """A field value pika cannot produce by itself, sent with this exact
    type letter and payload."""

    def __init__(self, letter, fmt, value):
        self.raw = letter + struct.pack(fmt, value)


def long_(v):
    return Wire(b"l", ">q", v)


def byte_(v):
    return Wire(b"b", ">b", v)


def short_(v):
    return Wire(b"s", ">h", v)


def unsigned_(v):
    return Wire(b"i", ">I", v)


def double_(v):
    return Wire(b"d", ">d", v)


@pytest.fixture(autouse=True)
def wire_values(monkeypatch):
    """Let argument tables carry Wire values."""
    real = pika.data.encode_value

    def encode_value(pieces, value):
        if isinstance(value, Wire):
            pieces.append(value.raw)
            return len(value.raw)
        return real(pieces, value)

    monkeypatch.setattr(pika.data, "encode_value", encode_value)


def assert_refused(broker, args, prefix_fmt, **declare):
    """Declaring with args is a 406 channel error whose text starts with
    prefix_fmt % queue; the connection stays usable and no queue exists."""
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    code, text, kind = broker_close(
        lambda: ch.queue_declare(q, arguments=args, **declare))
    assert (code, kind) == (406, "channel")
    assert text.startswith(prefix_fmt % q), text
    fresh = conn.channel()
    code, _t, kind = broker_close(lambda: fresh.queue_declare(q, passive=True))
    assert (code, kind) == (404, "channel")
    return text


TEN_YEARS_MS = 315360000000

INVALID = [
    ("x-max-priority", 256),
    ("x-max-priority", -1),
    ("x-max-priority", "5"),
    ("x-max-priority", True),
    ("x-max-priority", decimal.Decimal("1.5")),
    ("x-max-priority", None),
    ("x-max-priority", datetime.datetime(2020, 1, 1)),
    ("x-max-length", -1),
    ("x-max-length", "5"),
    ("x-max-length", True),
    ("x-max-length-bytes", -1),
    ("x-max-length-bytes", "10"),
    ("x-overflow", "foo"),
    ("x-overflow", 5),
    ("x-message-ttl", -1),
    ("x-message-ttl", "100"),
    ("x-message-ttl", None),
    ("x-message-ttl", double_(5.0)),
    ("x-message-ttl", TEN_YEARS_MS + 1),
    ("x-expires", 0),
    ("x-expires", -1),
    ("x-expires", "1"),
    ("x-expires", TEN_YEARS_MS + 1),
    ("x-single-active-consumer", "yes"),
    ("x-single-active-consumer", 1),
    ("x-queue-type", "foo"),
    ("x-queue-mode", "foo"),
    ("x-delivery-limit", 5),          # quorum queues only
]


def _id(case):
    name, value = case
    if isinstance(value, Wire):
        value = "wire-%s" % value.raw[:1].decode()
    return "%s=%r" % (name, value)


@pytest.mark.parametrize("name,value", INVALID,
                         ids=[_id(c) for c in INVALID])
def test_invalid_queue_argument_is_406_naming_the_argument(
        broker, name, value):
    assert_refused(broker, {name: value},
                   "PRECONDITION_FAILED - invalid arg '%s' for queue '%%s' "
                   "in vhost '/'" % name)


def test_dead_letter_routing_key_without_exchange_is_406(broker):
    assert_refused(broker, {"x-dead-letter-routing-key": "k"},
                   "PRECONDITION_FAILED - invalid arg "
                   "'x-dead-letter-routing-key' for queue '%s' in vhost '/'")


def test_dead_letter_routing_key_of_wrong_type_is_406(broker):
    assert_refused(broker, {"x-dead-letter-exchange": "dlx",
                            "x-dead-letter-routing-key": 5},
                   "PRECONDITION_FAILED - invalid arg "
                   "'x-dead-letter-routing-key' for queue '%s' in vhost '/'")


def test_dead_letter_exchange_of_wrong_type_is_406(broker):
    assert_refused(broker, {"x-dead-letter-exchange": 5},
                   "PRECONDITION_FAILED - invalid type 'signedint' for arg "
                   "'x-dead-letter-exchange' in queue '%s' in vhost '/'")


VALID = [
    ("x-max-priority", 0), ("x-max-priority", 1), ("x-max-priority", 255),
    ("x-max-priority", byte_(5)), ("x-max-priority", short_(5)),
    ("x-max-priority", unsigned_(5)), ("x-max-priority", long_(5)),
    ("x-max-length", 0), ("x-max-length", 2 ** 62),
    ("x-max-length-bytes", 0), ("x-max-length-bytes", long_(10)),
    ("x-overflow", "drop-head"), ("x-overflow", "reject-publish"),
    ("x-overflow", "reject-publish-dlx"),
    ("x-message-ttl", 0), ("x-message-ttl", TEN_YEARS_MS),
    ("x-expires", 1), ("x-expires", TEN_YEARS_MS), ("x-expires", byte_(50)),
    ("x-dead-letter-exchange", ""), ("x-dead-letter-exchange", "not-there"),
    ("x-single-active-consumer", False), ("x-single-active-consumer", True),
    ("x-queue-type", "classic"),
    ("x-unknown-argument", "anything"), ("not-an-x-argument", 1),
]


@pytest.mark.parametrize("name,value", VALID, ids=[_id(c) for c in VALID])
def test_valid_queue_argument_is_accepted(broker, name, value):
    ch = broker.channel()
    q = broker.name("q")
    ok = ch.queue_declare(q, arguments={name: value})
    assert ok.method.queue == q
    if name == "x-expires":
        return   # x-expires 1 may already be gone; declare-ok is the point
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    # x-max-length 0 and x-message-ttl 0 keep nothing; the rest keep it.
    kept = 0 if (name, value) in [("x-max-length", 0),
                                  ("x-max-length-bytes", 0),
                                  ("x-message-ttl", 0)] else 1
    assert message_count(ch, q) == kept


@pytest.mark.parametrize("second", [long_(10), byte_(10), short_(10)],
                         ids=["long", "byte", "short"])
def test_redeclare_with_same_integer_of_other_wire_type_is_equivalent(
        broker, second):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-length": 10})
    ok = ch.queue_declare(q, arguments={"x-max-length": second})
    assert ok.method.queue == q


@pytest.mark.parametrize("name,first,second", [
    ("x-max-priority", 5, 6),
    ("x-max-length", 10, 11),
    ("x-message-ttl", 1000, 2000),
    ("x-overflow", "reject-publish", "drop-head"),
    ("x-dead-letter-exchange", "a", "b"),
    ("x-single-active-consumer", True, False),
], ids=lambda v: str(v))
def test_redeclare_with_other_value_is_406_inequivalent_arg(
        broker, name, first, second):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={name: first})
    for args in ({name: second}, {}):
        code, text, kind = broker_close(
            lambda: ch.queue_declare(q, arguments=args))
        assert (code, kind) == (406, "channel")
        assert text.startswith(
            "PRECONDITION_FAILED - inequivalent arg '%s' for queue '%s' in "
            "vhost '/'" % (name, q)), text
        ch = conn.channel()
    assert ch.queue_declare(q, arguments={name: first}).method.queue == q


def test_unknown_arguments_are_not_compared_on_redeclare(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-length": 10, "x-foo": 1})
    ok = ch.queue_declare(q, arguments={"x-max-length": 10, "x-foo": 2,
                                        "bar": "baz"})
    assert ok.method.queue == q


def test_passive_declare_ignores_arguments(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-length": 10})
    ok = ch.queue_declare(q, passive=True, arguments={"x-max-length": 99,
                                                       "x-max-priority": 3})
    assert ok.method.queue == q


@pytest.mark.parametrize("declare,prop", [
    ({"durable": False}, "non-durable"),
    ({"durable": True, "exclusive": True}, "exclusive-owner"),
    ({"durable": True, "auto_delete": True}, "auto-delete"),
], ids=["non-durable", "exclusive", "auto-delete"])
def test_quorum_queue_with_unsupported_property_is_406(broker, declare, prop):
    assert_refused(broker, {"x-queue-type": "quorum"},
                   "PRECONDITION_FAILED - invalid property '" + prop +
                   "' for queue '%s' in vhost '/'", **declare)


def test_quorum_queue_accepts_delivery_limit(broker):
    ch = broker.channel()
    q = broker.name("qq")
    ok = ch.queue_declare(q, durable=True,
                          arguments={"x-queue-type": "quorum",
                                     "x-delivery-limit": 3})
    assert ok.method.queue == q
