"""Errors keep things usable: a channel error closes only its channel, the
connection and other channels (including their consumers) carry on; a
connection error closes every channel.
"""
import pytest

from conftest import (Collector, broker_close, drain, idle, ping, wait_until)


def _cause(broker, ch, what):
    if what == "passive-missing-queue":
        ch.queue_declare(broker.name("none"), passive=True)
    elif what == "passive-missing-exchange":
        ch.exchange_declare(broker.name("none"), passive=True)
    elif what == "publish-missing-exchange":
        ch.basic_publish(broker.name("none"), "k", b"x")
    elif what == "unknown-delivery-tag":
        ch.basic_ack(12345)
    elif what == "tx-commit-without-select":
        ch.tx_commit()
    elif what == "delete-amq-exchange":
        ch.exchange_delete("amq.fanout")
    elif what == "bind-missing-queue":
        ch.queue_bind(broker.name("none"), "amq.direct", routing_key="k")


CHANNEL_ERRORS = [
    ("passive-missing-queue", 404),
    ("passive-missing-exchange", 404),
    ("publish-missing-exchange", 404),
    ("unknown-delivery-tag", 406),
    ("tx-commit-without-select", 406),
    ("delete-amq-exchange", 403),
    ("bind-missing-queue", 404),
]


@pytest.mark.parametrize("what,expected", CHANNEL_ERRORS,
                         ids=[w for w, _c in CHANNEL_ERRORS])
def test_connection_usable_after_channel_error(broker, what, expected):
    conn, ch = broker.conn_channel()
    code, _text, kind = broker_close(lambda: _cause(broker, ch, what), ch)
    assert (code, kind) == (expected, "channel")
    assert ch.is_closed
    assert conn.is_open
    fresh = conn.channel()
    q = broker.name("q")
    fresh.queue_declare(q)
    fresh.basic_publish("", q, b"fine")
    assert drain(fresh, q) == [b"fine"]


def test_channel_error_does_not_disturb_consumer_on_other_channel(broker):
    conn, consumer_ch = broker.conn_channel()
    q = broker.name("q")
    consumer_ch.queue_declare(q)
    col = Collector()
    consumer_ch.basic_consume(q, col, auto_ack=True)
    pub = conn.channel()
    pub.basic_publish("", q, b"before")
    assert wait_until(conn, lambda: len(col) == 1)

    bad = conn.channel()
    code, _text, kind = broker_close(
        lambda: bad.queue_declare(broker.name("none"), passive=True))
    assert (code, kind) == (404, "channel")

    pub.basic_publish("", q, b"after")
    assert wait_until(conn, lambda: len(col) == 2)
    assert col.bodies == [b"before", b"after"]
    assert consumer_ch.is_open
    ping(consumer_ch)


def test_channel_error_keeps_unacked_of_other_channel_unacked(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"held")
    method, _p, _b = ch.basic_get(q)
    bad = conn.channel()
    code, _text, kind = broker_close(lambda: bad.basic_ack(1), bad)
    assert (code, kind) == (406, "channel")
    # The delivery tag on the healthy channel is still valid.
    ch.basic_ack(method.delivery_tag)
    ping(ch)
    assert ch.basic_get(q) == (None, None, None)


def test_channel_error_requeues_that_channels_unacked(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"returns")
    ch.basic_get(q)
    code, _text, kind = broker_close(lambda: ch.basic_ack(999), ch)
    assert (code, kind) == (406, "channel")
    other = conn.channel()
    method, _p, body = other.basic_get(q, auto_ack=True)
    assert (body, method.redelivered) == (b"returns", True)


def test_connection_error_closes_every_channel(broker):
    conn = broker.connect()
    channels = [conn.channel() for _ in range(3)]
    code, _text, kind = broker_close(
        lambda: channels[1].basic_recover(requeue=False))
    assert (code, kind) == (540, "connection")
    assert conn.is_closed
    assert all(ch.is_closed for ch in channels)


def test_other_connections_unaffected_by_connection_error(broker):
    good_conn, good = broker.conn_channel()
    q = broker.name("q")
    good.queue_declare(q)
    col = Collector()
    good.basic_consume(q, col, auto_ack=True)
    bad_conn, bad = broker.conn_channel()
    code, _text, kind = broker_close(lambda: bad.flow(False))
    assert (code, kind) == (540, "connection")
    good.basic_publish("", q, b"still here")
    assert wait_until(good_conn, lambda: len(col) == 1)
    idle(good_conn)
    assert good_conn.is_open


def test_errors_on_several_channels_in_a_row(broker):
    conn = broker.connect()
    for i in range(5):
        ch = conn.channel()
        code, _text, kind = broker_close(
            lambda: ch.queue_declare(broker.name("none%d" % i), passive=True))
        assert (code, kind) == (404, "channel")
    ping(conn.channel())
