"""Publishing: mandatory returns, errors on bad targets, immediate, content
properties and header tables surviving the round trip, and body sizes around
the frame boundary.
"""
import datetime
import decimal
import hashlib

import pika
import pytest
from pika import spec

from conftest import (Collector, broker_close, drain, get_body, idle, ping,
                      send_raw, wait_until)


def encoded(props):
    """pika's wire encoding of a content-header property list."""
    return b"".join(props.encode())


def test_mandatory_unroutable_message_is_returned_with_312_no_route(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    returned = []
    ch.add_on_return_callback(
        lambda _ch, method, props, body: returned.append((method, props, body)))
    props = pika.BasicProperties(content_type="text/plain",
                                 headers={"k": "v"})
    ch.basic_publish(x, "no-such-key", b"come back", properties=props,
                     mandatory=True)
    assert wait_until(conn, lambda: returned)
    method, rprops, body = returned[0]
    assert method.reply_code == 312
    assert method.reply_text == "NO_ROUTE"
    assert (method.exchange, method.routing_key) == (x, "no-such-key")
    assert body == b"come back"
    assert rprops.content_type == "text/plain"
    assert rprops.headers == {"k": "v"}
    ping(ch)


def test_mandatory_to_missing_queue_on_default_exchange_is_returned(broker):
    conn, ch = broker.conn_channel()
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a[1]))
    ch.basic_publish("", broker.name("nobody"), b"m", mandatory=True)
    assert wait_until(conn, lambda: returned)
    assert returned[0].reply_code == 312
    assert returned[0].exchange == ""


def test_mandatory_routable_message_is_not_returned(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    ch.basic_publish("", q, b"routed", mandatory=True)
    ping(ch)
    idle(conn)
    assert returned == []
    assert drain(ch, q) == [b"routed"]


def test_unroutable_without_mandatory_is_dropped_silently(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="fanout")
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    ch.basic_publish(x, "", b"dropped")
    ping(ch)
    idle(conn)
    assert returned == []
    assert ch.is_open


def test_publish_to_missing_exchange_is_404_channel_error(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.basic_publish(broker.name("nox"), "k", b"m"), ch)
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")
    ch2 = conn.channel()
    q = broker.name("q")
    ch2.queue_declare(q)
    ch2.basic_publish("", q, b"ok")
    assert get_body(ch2, q) == b"ok"


def test_publish_with_immediate_is_connection_close_540(broker):
    # pika's API has no immediate flag; its encoder still writes the bit.
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    method = spec.Basic.Publish(exchange="", routing_key=q, immediate=True)
    code, text, kind = broker_close(
        lambda: send_raw(ch, method, (spec.BasicProperties(), b"now")), ch)
    assert (code, kind) == (540, "connection")
    assert text.startswith("NOT_IMPLEMENTED - ")
    assert conn.is_closed


def all_properties():
    return pika.BasicProperties(
        content_type="application/x-test",
        content_encoding="gzip",
        headers=RICH_HEADERS,
        delivery_mode=2,
        priority=7,
        correlation_id="corr-123",
        reply_to="reply-queue",
        expiration="600000",
        message_id="msg-\u00e9-42",
        timestamp=1700000000,
        type="test.type",
        user_id="guest",
        app_id="interop-py",
        cluster_id="cluster-x",
    )


RICH_HEADERS = {
    "str": "hello",
    "unicode": "h\u00e9llo \u2603",
    "empty-str": "",
    "bytes": b"\x00\x01\xfe\xff",
    "true": True,
    "false": False,
    "int32": -123456,
    "int32-max": 2 ** 31 - 1,
    "int64": 2 ** 40,
    "int64-neg": -(2 ** 62),
    "decimal": decimal.Decimal("3.14"),
    "timestamp": datetime.datetime(2023, 1, 2, 3, 4, 5),
    "void": None,
    "array": [1, "two", True, None, [3, 4], {"n": 5}],
    "empty-array": [],
    "table": {"nested": {"deeper": "yes", "n": 1}, "s": "x"},
    "empty-table": {},
}


def assert_same_properties(sent, got):
    for field in ("content_type", "content_encoding", "delivery_mode",
                  "priority", "correlation_id", "reply_to", "expiration",
                  "message_id", "timestamp", "type", "user_id", "app_id",
                  "cluster_id"):
        assert getattr(got, field) == getattr(sent, field), field
    # pika decodes the signed 64-bit "l" type as unsigned, so a negative
    # int64 comes back as its two's complement; the raw bytes are compared
    # separately.
    assert got.headers["int64-neg"] == 2 ** 64 + RICH_HEADERS["int64-neg"]
    assert {k: v for k, v in got.headers.items() if k != "int64-neg"} == \
        {k: v for k, v in sent.headers.items() if k != "int64-neg"}


def test_all_fourteen_basic_properties_survive_byte_for_byte(
        broker, raw_content_headers):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    sent = all_properties()
    ch.basic_publish("", q, b"props", properties=sent)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    assert wait_until(conn, lambda: len(col) == 1)
    _method, got, body = col.items[0]
    assert body == b"props"
    assert_same_properties(sent, got)
    assert raw_content_headers == [encoded(sent)]


def test_properties_survive_basic_get_byte_for_byte(
        broker, raw_content_headers):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    sent = all_properties()
    ch.basic_publish("", q, b"props", properties=sent)
    method, got, body = ch.basic_get(q, auto_ack=True)
    assert body == b"props"
    assert_same_properties(sent, got)
    assert raw_content_headers == [encoded(sent)]


def test_message_without_properties_arrives_without_properties(
        broker, raw_content_headers):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"bare")
    _m, got, body = ch.basic_get(q, auto_ack=True)
    assert body == b"bare"
    # Property flags all zero, no property list.
    assert raw_content_headers == [b"\x00\x00"]


def test_user_id_that_differs_from_login_is_406(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    code, text, kind = broker_close(
        lambda: ch.basic_publish(
            "", q, b"m", properties=pika.BasicProperties(user_id="mallory")),
        ch)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")


def _sizes(frame_max):
    return {
        "empty": 0,
        "one": 1,
        "frame-max-minus-8": frame_max - 8,
        "frame-max-minus-7": frame_max - 7,
        "three-mib": 3 * 1024 * 1024 + 17,
    }


@pytest.mark.parametrize("label", ["empty", "one", "frame-max-minus-8",
                                   "frame-max-minus-7", "three-mib"])
def test_body_size_survives_intact(broker, label):
    conn, ch = broker.conn_channel()
    size = _sizes(conn._impl.params.frame_max)[label]
    body = hashlib.sha256(label.encode()).digest() * (size // 32 + 1)
    body = body[:size]
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, body)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    assert wait_until(conn, lambda: len(col) == 1)
    got = col.bodies[0]
    assert len(got) == size
    assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()


MAX_MESSAGE_SIZE = 128 * 1024 * 1024  # RabbitMQ's max_message_size default


def test_largest_allowed_body_of_128_mib_survives_intact(broker):
    conn, ch = broker.conn_channel()
    body = hashlib.sha256(b"big").digest() * (MAX_MESSAGE_SIZE // 32)
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    ch.basic_publish("", q, body)
    del body
    method, _props, got = ch.basic_get(q, auto_ack=True)
    assert method is not None
    assert len(got) == MAX_MESSAGE_SIZE
    expected = hashlib.sha256(hashlib.sha256(b"big").digest() * (MAX_MESSAGE_SIZE // 32))
    assert hashlib.sha256(got).digest() == expected.digest()


def test_body_over_max_message_size_is_406(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    code, text, kind = broker_close(
        lambda: ch.basic_publish("", q, b"x" * (MAX_MESSAGE_SIZE + 1)), ch)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")


def test_many_messages_keep_publish_order(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    bodies = [b"m%04d" % i for i in range(200)]
    for b in bodies:
        ch.basic_publish("", q, b)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    assert wait_until(conn, lambda: len(col) == len(bodies))
    assert col.bodies == bodies
