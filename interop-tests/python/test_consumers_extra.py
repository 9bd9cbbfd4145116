"""Consumer features: consumer priorities (x-priority), single active consumer
(x-single-active-consumer) including failover when the active consumer's
channel or connection goes away, and exclusive consumers.
"""
import socket
import types

import pika.exceptions as pe
import pytest

from conftest import (Collector, broker_close, consumer_count, drain, idle,
                      message_count, wait_until)


def publisher(broker):
    conn, ch = broker.conn_channel()
    ch.confirm_delivery()
    return conn, ch


def drop_connection(conn):
    """Cut the TCP connection under pika without an AMQP close, as a crashed
    client would, and let pika notice so teardown stays quiet."""
    sock = conn._impl._transport._sock
    sock.shutdown(socket.SHUT_RDWR)
    try:
        while conn.is_open:
            conn.process_data_events(time_limit=0.05)
    except pe.AMQPConnectionError:
        pass


# --- consumer priorities -----------------------------------------------------

def test_messages_go_to_the_highest_priority_consumer_with_capacity(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    cols, chans = {}, {}
    # Registration order deliberately does not follow priority.
    for name, prio in [("none", None), ("neg", -5), ("p5", 5), ("p10", 10),
                       ("p10b", 10)]:
        c = conn.channel()
        c.basic_qos(prefetch_count=1)
        cols[name] = Collector()
        args = None if prio is None else {"x-priority": prio}
        c.basic_consume(q, cols[name], arguments=args)
        chans[name] = c
    _pc, pub = publisher(broker)
    for i in range(6):
        pub.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: sum(len(c) for c in cols.values()) == 5)
    idle(conn)
    # Equal priorities share round-robin; lower ones only get what the
    # higher ones have no room for; no x-priority means 0, above negative.
    got = {name: col.bodies for name, col in cols.items()}
    assert got == {"p10": [b"m0"], "p10b": [b"m1"], "p5": [b"m2"],
                   "none": [b"m3"], "neg": [b"m4"]}
    assert message_count(pub, q) == 1
    # Room again at the top: the waiting message goes there.
    chans["p10"].basic_ack(cols["p10"].items[0][0].delivery_tag)
    assert wait_until(conn, lambda: len(cols["p10"]) == 2)
    assert cols["p10"].bodies == [b"m0", b"m5"]


def test_lower_priority_consumer_gets_nothing_while_higher_has_room(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    high, low = Collector(), Collector()
    ch.basic_consume(q, low, auto_ack=True, arguments={"x-priority": -1})
    high_ch = conn.channel()
    high_ch.basic_qos(prefetch_count=3)
    high_ch.basic_consume(q, high, arguments={"x-priority": 1})
    _pc, pub = publisher(broker)
    for i in range(5):
        pub.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: len(high) + len(low) == 5)
    assert high.bodies == [b"m0", b"m1", b"m2"]
    assert low.bodies == [b"m3", b"m4"]


def test_x_priority_of_wrong_type_is_406_channel_error(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    code, text, kind = broker_close(
        lambda: ch.basic_consume(q, Collector(),
                                 arguments={"x-priority": "high"}))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - invalid arg 'x-priority'")
    assert consumer_count(conn.channel(), q) == 0


@pytest.mark.parametrize("prio", [-(2 ** 31), 2 ** 40],
                         ids=["most-negative-int", "long"])
def test_x_priority_accepts_any_integer(broker, prio):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True, arguments={"x-priority": prio})
    _pc, pub = publisher(broker)
    pub.basic_publish("", q, b"m")
    assert wait_until(conn, lambda: len(col) == 1)


# --- single active consumer --------------------------------------------------

def sac_queue(broker, ch):
    q = broker.name("sac")
    ch.queue_declare(q, arguments={"x-single-active-consumer": True})
    return q


def sac_consumers(broker, q, count, prefetch=2, auto_ack=False,
                  priorities=None):
    """count consumers, each on its own connection, registered in order."""
    out = []
    for i in range(count):
        conn, ch = broker.conn_channel()
        if prefetch:
            ch.basic_qos(prefetch_count=prefetch)
        col = Collector()
        args = None
        if priorities is not None:
            args = {"x-priority": priorities[i]}
        tag = ch.basic_consume(q, col, auto_ack=auto_ack, arguments=args)
        out.append(types.SimpleNamespace(conn=conn, ch=ch, col=col, tag=tag))
    return out


def quiet(consumers):
    """Let every open consumer connection run a while; returns the bodies
    each received so far."""
    for c in consumers:
        if c.conn.is_open:
            idle(c.conn, 0.15)
    return [c.col.bodies for c in consumers]


def test_single_active_consumer_only_first_registered_receives(broker):
    _pc, pub = publisher(broker)
    q = sac_queue(broker, pub)
    consumers = sac_consumers(broker, q, 3, auto_ack=True, prefetch=0)
    assert consumer_count(pub, q) == 3
    for i in range(4):
        pub.basic_publish("", q, b"m%d" % i)
    first = consumers[0]
    assert wait_until(first.conn, lambda: len(first.col) == 4)
    assert quiet(consumers) == [[b"m0", b"m1", b"m2", b"m3"], [], []]


@pytest.mark.parametrize("how", ["channel-close", "connection-close",
                                 "connection-drop"])
def test_single_active_consumer_failover_requeues_to_next_registered(
        broker, how):
    _pc, pub = publisher(broker)
    q = sac_queue(broker, pub)
    consumers = sac_consumers(broker, q, 3, prefetch=2)
    for i in range(5):
        pub.basic_publish("", q, b"m%d" % i)
    active, nxt, last = consumers
    assert wait_until(active.conn, lambda: len(active.col) == 2)
    assert quiet(consumers) == [[b"m0", b"m1"], [], []]
    if how == "channel-close":
        active.ch.close()
    elif how == "connection-close":
        active.conn.close()
    else:
        drop_connection(active.conn)
    # The next consumer in registration order takes over and first gets the
    # active one's unacked messages back, marked redelivered.
    assert wait_until(nxt.conn, lambda: len(nxt.col) == 2)
    assert [(b, m.redelivered) for m, _p, b in nxt.col.items] == \
        [(b"m0", True), (b"m1", True)]
    nxt.ch.basic_ack(0, multiple=True)
    assert wait_until(nxt.conn, lambda: len(nxt.col) == 4)
    nxt.ch.basic_ack(0, multiple=True)
    assert wait_until(nxt.conn, lambda: len(nxt.col) == 5)
    nxt.ch.basic_ack(0, multiple=True)
    assert [(b, m.redelivered) for m, _p, b in nxt.col.items[2:]] == \
        [(b"m2", False), (b"m3", False), (b"m4", False)]
    assert quiet([last]) == [[]]
    assert wait_until(pub.connection, lambda: consumer_count(pub, q) == 2)
    assert message_count(pub, q) == 0


def test_single_active_consumer_cancel_hands_over_to_next_registered(
        broker):
    # The active consumer has nothing unacked when it cancels. (RabbitMQ
    # 3.10 mishandles a cancel with unacked messages, so that is not tested.)
    _pc, pub = publisher(broker)
    q = sac_queue(broker, pub)
    consumers = sac_consumers(broker, q, 3, prefetch=1)
    active, nxt, last = consumers
    pub.basic_publish("", q, b"m0")
    assert wait_until(active.conn, lambda: len(active.col) == 1)
    active.ch.basic_ack(active.col.items[0][0].delivery_tag)
    active.ch.basic_cancel(active.tag)
    assert consumer_count(pub, q) == 2
    pub.basic_publish("", q, b"m1")
    pub.basic_publish("", q, b"m2")
    assert wait_until(nxt.conn, lambda: len(nxt.col) == 1)
    nxt.ch.basic_ack(nxt.col.items[0][0].delivery_tag)
    assert wait_until(nxt.conn, lambda: len(nxt.col) == 2)
    nxt.ch.basic_ack(nxt.col.items[1][0].delivery_tag)
    assert nxt.col.bodies == [b"m1", b"m2"]
    assert quiet(consumers) == [[b"m0"], [b"m1", b"m2"], []]


def test_single_active_consumer_handover_skips_cancelled_waiting_consumer(
        broker):
    _pc, pub = publisher(broker)
    q = sac_queue(broker, pub)
    consumers = sac_consumers(broker, q, 3, auto_ack=True, prefetch=0)
    active, waiting, last = consumers
    waiting.ch.basic_cancel(waiting.tag)     # not active: nothing changes
    pub.basic_publish("", q, b"m0")
    assert wait_until(active.conn, lambda: len(active.col) == 1)
    drop_connection(active.conn)
    assert wait_until(pub.connection, lambda: consumer_count(pub, q) == 1)
    pub.basic_publish("", q, b"m1")
    assert wait_until(last.conn, lambda: len(last.col) == 1)
    assert quiet(consumers) == [[b"m0"], [], [b"m1"]]


def test_single_active_consumer_ignores_consumer_priority(broker):
    _pc, pub = publisher(broker)
    q = sac_queue(broker, pub)
    consumers = sac_consumers(broker, q, 2, auto_ack=True, prefetch=0,
                              priorities=[0, 10])
    pub.basic_publish("", q, b"m0")
    assert wait_until(consumers[0].conn, lambda: len(consumers[0].col) == 1)
    assert quiet(consumers) == [[b"m0"], []]


def test_basic_get_works_beside_the_single_active_consumer(broker):
    _pc, pub = publisher(broker)
    q = sac_queue(broker, pub)
    (active,) = sac_consumers(broker, q, 1, prefetch=1)
    pub.basic_publish("", q, b"m0")
    pub.basic_publish("", q, b"m1")
    assert wait_until(active.conn, lambda: len(active.col) == 1)
    method, _p, body = pub.basic_get(q, auto_ack=True)
    assert body == b"m1"
    assert quiet([active]) == [[b"m0"]]


def test_exclusive_consume_on_single_active_consumer_queue_is_403(broker):
    conn, ch = broker.conn_channel()
    q = sac_queue(broker, ch)
    code, text, kind = broker_close(
        lambda: ch.basic_consume(q, Collector(), exclusive=True))
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")
    assert consumer_count(conn.channel(), q) == 0


# --- exclusive consumers -----------------------------------------------------

def test_exclusive_consumer_gets_every_message(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True, exclusive=True)
    _pc, pub = publisher(broker)
    for i in range(3):
        pub.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: len(col) == 3)
    assert col.bodies == [b"m0", b"m1", b"m2"]
    assert consumer_count(pub, q) == 1


def test_cancelled_exclusive_consumer_frees_the_queue(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    tag = ch.basic_consume(q, Collector(), exclusive=True)
    ch.basic_cancel(tag)
    _other_conn, other = broker.conn_channel()
    other.basic_consume(q, Collector(), auto_ack=True)
    other.basic_consume(q, Collector(), auto_ack=True)
    assert consumer_count(other, q) == 2


def test_exclusive_consumer_connection_close_frees_the_queue(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_consume(q, Collector(), exclusive=True)
    other_conn, other = broker.conn_channel()
    code, _text, kind = broker_close(
        lambda: other.basic_consume(q, Collector()))
    assert (code, kind) == (403, "channel")
    drop_connection(conn)
    other = other_conn.channel()
    assert wait_until(other_conn, lambda: consumer_count(other, q) == 0)
    other.basic_consume(q, Collector(), exclusive=True)
    assert consumer_count(other, q) == 1


def test_exclusive_consumer_does_not_block_basic_get(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    consumer = conn.channel()
    consumer.basic_qos(prefetch_count=1)
    col = Collector()
    consumer.basic_consume(q, col, exclusive=True)
    _pc, pub = publisher(broker)
    pub.basic_publish("", q, b"m0")
    pub.basic_publish("", q, b"m1")
    assert wait_until(conn, lambda: len(col) == 1)
    other_conn, other = broker.conn_channel()
    assert drain(other, q) == [b"m1"]
