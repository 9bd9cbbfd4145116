"""Queue length limits: x-max-length and x-max-length-bytes with each
x-overflow mode (drop-head, reject-publish, reject-publish-dlx), with and
without publisher confirms.
"""
import pika
import pytest
from pika import spec

from conftest import (drain, get_typed, idle, message_count, ping,
                      wait_for_count, wait_until)


class Confirms:
    """A confirm-mode channel that publishes without blocking and records
    the broker's verdict per delivery tag ("ack" or "nack"), expanding
    multiple=true acks and nacks."""

    def __init__(self, conn):
        self.conn = conn
        self.ch = conn.channel()
        self.published = 0
        self.outcome = {}
        self.returned = []
        selected = []
        self.ch.add_on_return_callback(
            lambda _ch, method, _p, body: self.returned.append(body))
        self.ch._impl.confirm_delivery(self._on_confirm,
                                       callback=selected.append)
        assert wait_until(conn, lambda: selected)

    def _on_confirm(self, frame):
        method = frame.method
        verdict = "ack" if isinstance(method, spec.Basic.Ack) else "nack"
        tags = [method.delivery_tag]
        if method.multiple:
            tags = range(1, method.delivery_tag + 1)
        for tag in tags:
            self.outcome.setdefault(tag, verdict)

    def publish(self, exchange, key, body, mandatory=False):
        self.ch.basic_publish(exchange, key, body, mandatory=mandatory)
        self.published += 1

    def settle(self):
        """Wait until every publish is acked or nacked; the verdicts in
        publish order."""
        assert wait_until(self.conn,
                          lambda: len(self.outcome) == self.published)
        return [self.outcome[t] for t in range(1, self.published + 1)]


def limited_queue(broker, ch, dlx=None, **args):
    q = broker.name("q")
    arguments = dict(args)
    if dlx is not None:
        arguments["x-dead-letter-exchange"] = dlx
    ch.queue_declare(q, arguments=arguments)
    return q


def dead_letter_target(broker, ch):
    dlx, dq = broker.name("dlx"), broker.name("dlq")
    ch.exchange_declare(dlx, exchange_type="fanout")
    ch.queue_declare(dq)
    ch.queue_bind(dq, dlx)
    return dlx, dq


def reasons(ch, dq, recorded):
    """(body, x-first-death-reason) of every message in dq, in order."""
    out = []
    while True:
        got = get_typed(ch, dq, recorded)
        if got is None:
            return out
        out.append((got[2], got[3]["x-first-death-reason"][1]))


def test_max_length_drop_head_keeps_the_newest(broker):
    ch = broker.channel()
    q = limited_queue(broker, ch, **{"x-max-length": 2})
    ch.confirm_delivery()
    for i in range(5):
        ch.basic_publish("", q, b"m%d" % i)
    assert message_count(ch, q) == 2
    assert drain(ch, q) == [b"m3", b"m4"]


def test_drop_head_with_confirms_acks_every_publish(broker):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, **{"x-max-length": 2,
                                     "x-overflow": "drop-head"})
    pub = Confirms(conn)
    for i in range(4):
        pub.publish("", q, b"m%d" % i)
    assert pub.settle() == ["ack"] * 4
    assert drain(ch, q) == [b"m2", b"m3"]


def test_drop_head_dead_letters_dropped_messages_as_maxlen(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **{"x-max-length": 2})
    ch.confirm_delivery()
    for i in range(4):
        ch.basic_publish("", q, b"m%d" % i)
    assert wait_for_count(ch, dq, 2)
    assert reasons(ch, dq, raw_content_headers) == [(b"m0", b"maxlen"),
                                                   (b"m1", b"maxlen")]
    assert drain(ch, q) == [b"m2", b"m3"]


def test_max_length_bytes_counts_body_bytes_only(broker):
    ch = broker.channel()
    q = limited_queue(broker, ch, **{"x-max-length-bytes": 10})
    ch.confirm_delivery()
    # Large headers and properties do not count, only the 5-byte bodies.
    big = pika.BasicProperties(content_type="a" * 200,
                               headers={"h": "y" * 1000})
    ch.basic_publish("", q, b"11111", properties=big)
    ch.basic_publish("", q, b"22222", properties=big)
    ch.basic_publish("", q, b"")
    assert message_count(ch, q) == 3
    ch.basic_publish("", q, b"3")
    assert drain(ch, q) == [b"22222", b"", b"3"]


def test_max_length_bytes_drops_a_body_larger_than_the_limit(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **{"x-max-length-bytes": 10})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"x" * 20)
    assert wait_for_count(ch, dq, 1)
    assert message_count(ch, q) == 0
    assert reasons(ch, dq, raw_content_headers) == [(b"x" * 20, b"maxlen")]


def test_max_length_and_bytes_both_apply(broker):
    ch = broker.channel()
    q = limited_queue(broker, ch, **{"x-max-length": 5,
                                     "x-max-length-bytes": 10})
    ch.confirm_delivery()
    for i in range(4):
        ch.basic_publish("", q, b"ab%d" % i)
    assert drain(ch, q) == [b"ab1", b"ab2", b"ab3"]


def test_max_length_zero_drop_head_dead_letters_every_message(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **{"x-max-length": 0})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    assert wait_for_count(ch, dq, 1)
    assert message_count(ch, q) == 0
    assert reasons(ch, dq, raw_content_headers) == [(b"m", b"maxlen")]


@pytest.mark.parametrize("limit", [{"x-max-length": 2},
                                   {"x-max-length-bytes": 4}],
                         ids=["length", "bytes"])
def test_reject_publish_with_confirms_nacks_the_overflow(broker, limit):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **dict(limit, **{
        "x-overflow": "reject-publish"}))
    pub = Confirms(conn)
    for i in range(4):
        pub.publish("", q, b"m%d" % i, mandatory=True)
    assert pub.settle() == ["ack", "ack", "nack", "nack"]
    ping(pub.ch)
    idle(conn)
    # Rejected is not unroutable: no basic.return, and no dead-lettering.
    assert pub.returned == []
    assert drain(ch, q) == [b"m0", b"m1"]
    assert message_count(ch, dq) == 0


def test_reject_publish_without_confirms_drops_silently(broker):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, **{"x-max-length": 1,
                                     "x-overflow": "reject-publish"})
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    ping(ch)
    assert ch.is_open
    assert drain(ch, q) == [b"m0"]


def test_reject_publish_dlx_with_confirms_nacks_and_dead_letters(
        broker, raw_content_headers):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **{"x-max-length": 2,
                                          "x-overflow": "reject-publish-dlx"})
    pub = Confirms(conn)
    for i in range(4):
        pub.publish("", q, b"m%d" % i)
    assert pub.settle() == ["ack", "ack", "nack", "nack"]
    assert wait_for_count(ch, dq, 2)
    assert reasons(ch, dq, raw_content_headers) == [(b"m2", b"maxlen"),
                                                   (b"m3", b"maxlen")]
    assert drain(ch, q) == [b"m0", b"m1"]


def test_reject_publish_dlx_without_confirms_dead_letters(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **{"x-max-length": 1,
                                          "x-overflow": "reject-publish-dlx"})
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    assert wait_for_count(ch, dq, 2)
    assert reasons(ch, dq, raw_content_headers) == [(b"m1", b"maxlen"),
                                                   (b"m2", b"maxlen")]
    assert drain(ch, q) == [b"m0"]


def test_reject_publish_with_max_length_zero_nacks_everything(broker):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, **{"x-max-length": 0,
                                     "x-overflow": "reject-publish"})
    pub = Confirms(conn)
    pub.publish("", q, b"m0")
    pub.publish("", q, b"m1")
    assert pub.settle() == ["nack", "nack"]
    assert message_count(ch, q) == 0


def test_reject_publish_bytes_boundary(broker):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, **{"x-max-length-bytes": 10,
                                     "x-overflow": "reject-publish"})
    pub = Confirms(conn)
    pub.publish("", q, b"x" * 11)     # alone too big: rejected
    pub.publish("", q, b"y" * 10)     # exactly the limit: fits
    pub.publish("", q, b"z")          # one byte over: rejected
    pub.publish("", q, b"")           # zero bytes still fit
    assert pub.settle() == ["nack", "ack", "nack", "ack"]
    assert drain(ch, q) == [b"y" * 10, b""]


def test_reject_publish_accepts_again_once_there_is_room(broker):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, **{"x-max-length": 2,
                                     "x-overflow": "reject-publish"})
    pub = Confirms(conn)
    for body in (b"a", b"b", b"c"):
        pub.publish("", q, body)
    assert pub.settle() == ["ack", "ack", "nack"]
    assert ch.basic_get(q, auto_ack=True)[2] == b"a"
    pub.publish("", q, b"d")
    assert pub.settle() == ["ack", "ack", "nack", "ack"]
    assert drain(ch, q) == [b"b", b"d"]


def test_reject_publish_nacks_even_when_another_queue_took_the_message(
        broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="fanout")
    full = limited_queue(broker, ch, **{"x-max-length": 1,
                                        "x-overflow": "reject-publish"})
    free = broker.name("free")
    ch.queue_declare(free)
    ch.queue_bind(full, x)
    ch.queue_bind(free, x)
    pub = Confirms(conn)
    pub.publish(x, "", b"first")
    pub.publish(x, "", b"second")
    assert pub.settle() == ["ack", "nack"]
    assert drain(ch, full) == [b"first"]
    assert drain(ch, free) == [b"first", b"second"]


def test_max_length_counts_only_ready_messages(broker):
    conn, ch = broker.conn_channel()
    q = limited_queue(broker, ch, **{"x-max-length": 1,
                                     "x-overflow": "reject-publish"})
    pub = Confirms(conn)
    pub.publish("", q, b"a")
    pub.settle()
    held = ch.basic_get(q)[0]          # a is now unacked, not ready
    pub.publish("", q, b"b")           # fits: the queue holds 0 ready
    pub.publish("", q, b"c")           # over the limit
    assert pub.settle() == ["ack", "ack", "nack"]
    # A requeue is not a publish: it goes back even past the limit.
    ch.basic_nack(held.delivery_tag, requeue=True)
    assert wait_for_count(ch, q, 2)
    assert drain(ch, q) == [b"a", b"b"]


def test_drop_head_requeue_over_the_limit_drops_the_requeued_head(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = limited_queue(broker, ch, dlx, **{"x-max-length": 1})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"a")
    held = ch.basic_get(q)[0]
    ch.basic_publish("", q, b"b")
    # a goes back to the head, the queue is over its limit, the head goes.
    ch.basic_nack(held.delivery_tag, requeue=True)
    assert wait_for_count(ch, dq, 1)
    assert reasons(ch, dq, raw_content_headers) == [(b"a", b"maxlen")]
    assert drain(ch, q) == [b"b"]
