"""Message TTL (x-message-ttl and the expiration property), TTL 0, invalid
expirations, and queue expiry (x-expires). Expired messages must leave the
queue with no consumer attached; the tests poll for that with generous
deadlines and never assert how fast it happens.
"""
import time

import pika
import pika.exceptions as pe
import pytest

from conftest import (Collector, broker_close, get_typed, idle,
                      message_count, wait_for_count, wait_until)


def confirmed(ch):
    ch.confirm_delivery()
    return ch


def dead_letter_target(broker, ch):
    """A fanout DLX with one queue bound; returns (exchange, queue)."""
    dlx, dq = broker.name("dlx"), broker.name("dlq")
    ch.exchange_declare(dlx, exchange_type="fanout")
    ch.queue_declare(dq)
    ch.queue_bind(dq, dlx)
    return dlx, dq


def test_queue_ttl_expires_messages_with_no_consumer(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 100})
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    assert wait_for_count(ch, q, 0)
    assert ch.basic_get(q, auto_ack=True)[0] is None
    assert ch.queue_declare(q, passive=True).method.message_count == 0


def test_per_message_expiration_expires_with_no_consumer(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q)
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i,
                         properties=pika.BasicProperties(expiration="100"))
    assert wait_for_count(ch, q, 0)
    assert ch.basic_get(q, auto_ack=True)[0] is None


def test_expired_head_leaves_later_messages_in_place(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"short",
                     properties=pika.BasicProperties(expiration="50"))
    ch.basic_publish("", q, b"keep")
    assert wait_for_count(ch, q, 1)
    method, _p, body = ch.basic_get(q, auto_ack=True)
    assert body == b"keep"
    assert method.message_count == 0


def test_basic_get_never_returns_an_expired_message_behind_a_live_one(
        broker):
    # RabbitMQ only discards an expired message when it reaches the head, so
    # message_count may still include it here; basic.get must skip it.
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"long",
                     properties=pika.BasicProperties(expiration="60000"))
    ch.basic_publish("", q, b"short",
                     properties=pika.BasicProperties(expiration="50"))
    ch.basic_publish("", q, b"plain")
    time.sleep(0.3)   # "short" is now past its 50 ms
    bodies = []
    while True:
        method, _p, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        bodies.append(body)
    assert bodies == [b"long", b"plain"]


@pytest.mark.parametrize("queue_ttl,expiration", [
    (100, "60000"), (60000, "100")], ids=["queue-lower", "message-lower"])
def test_lower_of_queue_ttl_and_expiration_applies(
        broker, queue_ttl, expiration):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": queue_ttl})
    ch.basic_publish("", q, b"m",
                     properties=pika.BasicProperties(expiration=expiration))
    assert wait_for_count(ch, q, 0)
    assert ch.basic_get(q, auto_ack=True)[0] is None


def test_queue_ttl_zero_without_consumer_drops_at_once(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 0})
    ch.basic_publish("", q, b"gone")
    assert wait_for_count(ch, q, 0)
    assert ch.basic_get(q, auto_ack=True)[0] is None


def test_queue_ttl_zero_without_consumer_dead_letters_as_expired(
        broker, raw_content_headers):
    ch = confirmed(broker.channel())
    dlx, dq = dead_letter_target(broker, ch)
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 0,
                                   "x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"gone")
    assert wait_for_count(ch, dq, 1)
    _m, _p, body, headers = get_typed(ch, dq, raw_content_headers)
    assert body == b"gone"
    assert headers["x-first-death-reason"] == ("S", b"expired")
    assert message_count(ch, q) == 0


def test_queue_ttl_zero_delivers_to_a_waiting_consumer(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 0})
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    pub = confirmed(conn.channel())
    pub.basic_publish("", q, b"now")
    assert wait_until(conn, lambda: len(col) == 1)
    assert col.bodies == [b"now"]


def test_expiration_zero_delivers_to_a_waiting_consumer(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    pub = confirmed(conn.channel())
    pub.basic_publish("", q, b"now",
                      properties=pika.BasicProperties(expiration="0"))
    assert wait_until(conn, lambda: len(col) == 1)
    assert col.bodies == [b"now"]
    # The expiration property is delivered as sent.
    assert col.items[0][1].expiration == "0"


def test_expiration_zero_without_consumer_drops(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"gone",
                     properties=pika.BasicProperties(expiration="0"))
    assert wait_for_count(ch, q, 0)


def test_queue_ttl_zero_drops_what_a_full_consumer_cannot_take(broker):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 0,
                                   "x-dead-letter-exchange": dlx})
    consumer = conn.channel()
    consumer.basic_qos(prefetch_count=1)
    col = Collector()
    consumer.basic_consume(q, col)
    pub = confirmed(conn.channel())
    for i in range(3):
        pub.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: len(col) == 1)
    assert wait_for_count(ch, dq, 2)
    idle(conn)
    assert col.bodies == [b"m0"]
    assert [ch.basic_get(dq, auto_ack=True)[2] for _ in range(2)] == \
        [b"m1", b"m2"]
    assert message_count(ch, q) == 0


def test_unacked_message_does_not_expire_until_requeued(
        broker, raw_content_headers):
    ch = confirmed(broker.channel())
    dlx, dq = dead_letter_target(broker, ch)
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 150,
                                   "x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"held")
    method = ch.basic_get(q)[0]
    time.sleep(0.4)   # well past the TTL while unacked
    assert message_count(ch, dq) == 0
    # Back in the queue it is already expired: dead-lettered, not redelivered.
    ch.basic_nack(method.delivery_tag, requeue=True)
    assert wait_for_count(ch, dq, 1)
    assert message_count(ch, q) == 0
    _m, _p, body, headers = get_typed(ch, dq, raw_content_headers)
    assert body == b"held"
    assert headers["x-death"][1][0][1]["reason"] == ("S", b"expired")


def test_unacked_message_past_ttl_can_still_be_acked(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 100})
    ch.basic_publish("", q, b"held")
    method = ch.basic_get(q)[0]
    time.sleep(0.3)
    ch.basic_ack(method.delivery_tag)
    assert message_count(ch, q) == 0
    assert ch.is_open


@pytest.mark.parametrize("expiration", ["abc", "-1", "", "1.5", " 100",
                                        "100 ", "1e3", "315360000001"])
def test_invalid_expiration_is_406_channel_error(broker, expiration):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    code, text, kind = broker_close(
        lambda: ch.basic_publish(
            "", q, b"m",
            properties=pika.BasicProperties(expiration=expiration)), ch)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - invalid expiration '%s'"
                           % expiration)
    fresh = conn.channel()
    assert message_count(fresh, q) == 0


def test_largest_expiration_is_accepted(broker):
    ch = confirmed(broker.channel())
    q = broker.name("q")
    ch.queue_declare(q)
    # Ten years in milliseconds is RabbitMQ's upper bound.
    ch.basic_publish("", q, b"m", properties=pika.BasicProperties(
        expiration="315360000000"))
    _m, props, body = ch.basic_get(q, auto_ack=True)
    assert (body, props.expiration) == (b"m", "315360000000")


def queue_gone(ch, q):
    """Probe for queue q without touching its x-expires timer: a mandatory
    publish on a confirm channel comes back unroutable once it is gone
    (publishing does not count as using a queue; declare and get do)."""
    try:
        ch.basic_publish("", q, b"probe", mandatory=True)
    except pe.UnroutableError:
        return True
    return False


def assert_passive_404(conn, q):
    ch = conn.channel()
    code, text, kind = broker_close(lambda: ch.queue_declare(q, passive=True))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")


def test_unused_queue_is_deleted_after_x_expires(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-expires": 300})
    ch.basic_publish("", q, b"messages do not keep it alive")
    probe = confirmed(conn.channel())
    assert not queue_gone(probe, q)
    assert wait_until(conn, lambda: queue_gone(probe, q))
    assert_passive_404(conn, q)


def test_consumer_keeps_x_expires_queue_until_it_cancels(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-expires": 300})
    tag = ch.basic_consume(q, Collector(), auto_ack=True)
    probe = confirmed(conn.channel())
    idle(conn, 0.9)
    assert not queue_gone(probe, q)
    ch.basic_cancel(tag)
    assert wait_until(conn, lambda: queue_gone(probe, q))
    assert_passive_404(conn, q)


def test_basic_get_resets_the_x_expires_timer(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-expires": 500})
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        ch.basic_get(q, auto_ack=True)
        time.sleep(0.05)
    probe = confirmed(conn.channel())
    assert not queue_gone(probe, q)
    assert wait_until(conn, lambda: queue_gone(probe, q))
