"""Capped redeliveries: x-delivery-limit (declared on an x-queue-type quorum
queue, the only kind RabbitMQ accepts it on), the x-delivery-count header on
redeliveries, and what happens past the limit: dead-lettered with reason
delivery_limit, or dropped without a DLX.
"""
import time

import pika

from conftest import (Collector, get_typed, idle, message_count,
                      typed_headers, wait_for_count, wait_until)


def limited_queue(broker, ch, limit=None, dlx=None):
    q = broker.name("qq")
    args = {"x-queue-type": "quorum"}
    if limit is not None:
        args["x-delivery-limit"] = limit
    if dlx is not None:
        args["x-dead-letter-exchange"] = dlx
    ch.queue_declare(q, durable=True, arguments=args)
    return q


def dead_letter_target(broker, ch):
    dlx, dq = broker.name("dlx"), broker.name("dlq")
    ch.exchange_declare(dlx, exchange_type="fanout")
    ch.queue_declare(dq)
    ch.queue_bind(dq, dlx)
    return dlx, dq


def consumed_headers(recorded, start, count):
    """Typed headers of the count content frames recorded from start on."""
    assert len(recorded) >= start + count
    return [typed_headers(raw) for raw in recorded[start:start + count]]


def test_redeliveries_to_a_consumer_carry_x_delivery_count(
        broker, raw_content_headers):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, limit=5)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m", properties=pika.BasicProperties(
        headers={"k": "v"}))
    start = len(raw_content_headers)
    consumer = conn.channel()
    col = Collector()
    consumer.basic_consume(q, col)
    for n in range(1, 4):
        assert wait_until(conn, lambda: len(col) == n)
        consumer.basic_nack(col.items[-1][0].delivery_tag, requeue=True)
    assert wait_until(conn, lambda: len(col) == 4)
    consumer.basic_ack(col.items[-1][0].delivery_tag)
    assert [m.redelivered for m, _p, _b in col.items] == \
        [False, True, True, True]
    headers = consumed_headers(raw_content_headers, start, 4)
    # The first delivery is untouched; each redelivery says how many times
    # the message came back, as a long.
    assert headers[0] == {"k": ("S", b"v")}
    for count in (1, 2, 3):
        assert headers[count] == {"k": ("S", b"v"),
                                  "x-delivery-count": ("l", count)}


def test_basic_get_always_carries_x_delivery_count(
        broker, raw_content_headers):
    # On basic.get RabbitMQ's quorum queue adds the header even to the first
    # delivery, with 0.
    ch = broker.channel()
    q = limited_queue(broker, ch, limit=5)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    method, _p, _b, headers = get_typed(ch, q, raw_content_headers,
                                        auto_ack=False)
    assert method.redelivered is False
    assert headers == {"x-delivery-count": ("l", 0)}
    ch.basic_nack(method.delivery_tag, requeue=True)
    method, _p, _b, headers = get_typed(ch, q, raw_content_headers)
    assert method.redelivered is True
    assert headers == {"x-delivery-count": ("l", 1)}


def test_past_the_limit_message_is_dead_lettered_as_delivery_limit(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, limit=2, dlx=dlx)
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", q, b"payload", properties=pika.BasicProperties(
        headers={"k": "v"}, expiration="60000", message_id="mid"))
    # Limit 2: the original delivery and two redeliveries, then it is gone.
    for expected_count in (0, 1, 2):
        method, props, _b, headers = get_typed(ch, q, raw_content_headers,
                                               auto_ack=False)
        assert headers["x-delivery-count"] == ("l", expected_count)
        assert props.expiration == "60000"
        ch.basic_nack(method.delivery_tag, requeue=True)
    assert wait_for_count(ch, dq, 1)
    assert ch.basic_get(q)[0] is None
    method, props, body, headers = get_typed(ch, dq, raw_content_headers)
    t1 = time.time()
    assert (body, method.exchange, method.routing_key) == (b"payload", dlx, q)
    assert props.message_id == "mid"
    assert props.expiration is None
    # The dead-lettered copy has no x-delivery-count of its own.
    assert set(headers) == {"k", "x-death", "x-first-death-reason",
                            "x-first-death-queue", "x-first-death-exchange"}
    kind, entries = headers["x-death"]
    assert kind == "A" and len(entries) == 1
    entry = entries[0][1]
    assert set(entry) == {"count", "reason", "queue", "time", "exchange",
                          "routing-keys", "original-expiration"}
    assert entry["count"] == ("l", 1)
    assert entry["reason"] == ("S", b"delivery_limit")
    assert entry["queue"] == ("S", q.encode())
    assert entry["exchange"] == ("S", b"")
    assert entry["routing-keys"] == ("A", [("S", q.encode())])
    assert entry["original-expiration"] == ("S", b"60000")
    assert entry["time"][0] == "T"
    assert int(t0) - 1 <= entry["time"][1] <= int(t1) + 1
    assert headers["x-first-death-reason"] == ("S", b"delivery_limit")
    assert headers["x-first-death-queue"] == ("S", q.encode())
    assert headers["x-first-death-exchange"] == ("S", b"")


def test_past_the_limit_without_dlx_message_is_dropped(broker):
    ch = broker.channel()
    q = limited_queue(broker, ch, limit=1)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    ch.basic_publish("", q, b"next")
    for _ in range(2):
        method, _p, body = ch.basic_get(q)
        assert body == b"m"     # a returned message goes back to the front
        ch.basic_nack(method.delivery_tag, requeue=True)
    method, _p, body = ch.basic_get(q, auto_ack=True)
    assert body == b"next"
    assert ch.basic_get(q)[0] is None


def test_delivery_limit_zero_allows_no_redelivery(broker):
    ch = broker.channel()
    q = limited_queue(broker, ch, limit=0)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    method = ch.basic_get(q)[0]
    ch.basic_reject(method.delivery_tag, requeue=True)
    assert wait_for_count(ch, q, 0)
    assert ch.basic_get(q)[0] is None


def test_returns_on_channel_close_count_toward_the_limit(
        broker, raw_content_headers):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, limit=1, dlx=dlx)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    for _ in range(2):
        other = conn.channel()
        assert other.basic_get(q)[0] is not None
        other.close()
    assert wait_for_count(ch, dq, 1)
    _m, _p, body, headers = get_typed(ch, dq, raw_content_headers)
    assert body == b"m"
    assert headers["x-first-death-reason"] == ("S", b"delivery_limit")
    assert message_count(ch, q) == 0


def test_recover_counts_toward_the_limit(broker, raw_content_headers):
    ch = broker.channel()
    q = limited_queue(broker, ch, limit=5)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    ch.basic_get(q)
    ch.basic_recover(requeue=True)
    method, _p, _b, headers = get_typed(ch, q, raw_content_headers)
    assert method.redelivered is True
    assert headers == {"x-delivery-count": ("l", 1)}


def test_acked_message_within_the_limit_is_not_dead_lettered(broker):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, limit=1, dlx=dlx)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    method = ch.basic_get(q)[0]
    ch.basic_nack(method.delivery_tag, requeue=True)
    method = ch.basic_get(q)[0]
    ch.basic_ack(method.delivery_tag)
    idle(conn)
    assert message_count(ch, dq) == 0
    assert message_count(ch, q) == 0
