"""Priority queues (x-max-priority): higher priority first and FIFO within a
priority, priorities above the maximum count as the maximum and a missing one
as 0, and the order holds for prefetching consumers and after requeue.
"""
import pika
import pytest

from conftest import (Collector, drain, message_count, wait_until)

# A mix of priorities: absent, zero, inside and above every maximum we try.
MIXED = [None, 5, 10, 1, 20, 5, 0, 255, None, 3]


def publish_priorities(ch, queue, priorities):
    """Publish "i:p" bodies with the given priorities, confirmed."""
    ch.confirm_delivery()
    for i, prio in enumerate(priorities):
        ch.basic_publish("", queue, b"%d:%s" % (i, str(prio).encode()),
                         properties=pika.BasicProperties(priority=prio))


def expected_order(priorities, max_priority):
    """The documented order: effective priority min(p or 0, max) descending,
    publish order within one priority."""
    indexed = list(enumerate(priorities))
    effective = [(min(p or 0, max_priority), i) for i, p in indexed]
    ordered = sorted(effective, key=lambda e: (-e[0], e[1]))
    return [b"%d:%s" % (i, str(priorities[i]).encode()) for _e, i in ordered]


@pytest.mark.parametrize("max_priority", [1, 2, 10, 255])
def test_higher_priority_first_fifo_within_priority_capped_at_max(
        broker, max_priority):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": max_priority})
    publish_priorities(ch, q, MIXED)
    assert message_count(ch, q) == len(MIXED)
    assert drain(ch, q) == expected_order(MIXED, max_priority)


def test_max_priority_ten_exact_order(broker):
    # The same rule written out, so a wrong model cannot hide a wrong broker.
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 10})
    publish_priorities(ch, q, MIXED)
    assert drain(ch, q) == [b"2:10", b"4:20", b"7:255", b"1:5", b"5:5",
                            b"9:3", b"3:1", b"0:None", b"6:0", b"8:None"]


def test_max_priority_zero_is_accepted_and_queue_stays_fifo(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 0})
    publish_priorities(ch, q, MIXED)
    assert drain(ch, q) == [b"%d:%s" % (i, str(p).encode())
                            for i, p in enumerate(MIXED)]


def test_queue_without_max_priority_ignores_message_priority(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    publish_priorities(ch, q, MIXED)
    assert drain(ch, q) == [b"%d:%s" % (i, str(p).encode())
                            for i, p in enumerate(MIXED)]


def test_priority_property_is_delivered_unchanged_even_above_max(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 2})
    publish_priorities(ch, q, [20])
    _m, props, _b = ch.basic_get(q, auto_ack=True)
    assert props.priority == 20


def test_nacked_messages_requeue_into_their_priority(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 5})
    publish_priorities(ch, q, [1, 5, 3, 5, 1])
    got = [ch.basic_get(q) for _ in range(3)]
    assert [b for _m, _p, b in got] == [b"1:5", b"3:5", b"2:3"]
    ch.basic_nack(got[2][0].delivery_tag, requeue=True)   # 2:3 back
    ch.basic_nack(got[0][0].delivery_tag, requeue=True)   # 1:5 back
    ch.basic_publish("", q, b"5:5",
                     properties=pika.BasicProperties(priority=5))
    order = []
    while True:
        method, _p, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        order.append((body, method.redelivered))
    # A requeued message goes back ahead of later messages of its priority,
    # and behind nothing of a lower one.
    assert order == [(b"1:5", True), (b"5:5", False), (b"2:3", True),
                     (b"0:1", False), (b"4:1", False)]
    ch.basic_ack(got[1][0].delivery_tag)
    assert message_count(ch, q) == 0


def test_requeue_restores_publish_order_within_a_priority(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 5})
    ch.confirm_delivery()
    for body in (b"a", b"b", b"c"):
        ch.basic_publish("", q, body,
                         properties=pika.BasicProperties(priority=5))
    ch.basic_publish("", q, b"low",
                     properties=pika.BasicProperties(priority=1))
    first = ch.basic_get(q)[0]
    second = ch.basic_get(q)[0]
    # Requeue in reverse order: they still come back as a, b.
    ch.basic_nack(second.delivery_tag, requeue=True)
    ch.basic_nack(first.delivery_tag, requeue=True)
    order = [(m.redelivered, b) for m, _p, b in
             (ch.basic_get(q, auto_ack=True) for _ in range(4))]
    assert order == [(True, b"a"), (True, b"b"), (False, b"c"),
                     (False, b"low")]


def test_prefetch_one_consumer_receives_in_priority_order(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 9})
    publish_priorities(ch, q, [1, 9, 5, 9, 0])
    consumer = conn.channel()
    consumer.basic_qos(prefetch_count=1)
    col = Collector()
    consumer.basic_consume(q, col)
    for n in range(1, 6):
        assert wait_until(conn, lambda: len(col) == n)
        # Only one unacked at a time; a new high-priority message published
        # meanwhile must overtake the waiting low ones.
        if n == 2:
            ch.basic_publish("", q, b"5:9",
                             properties=pika.BasicProperties(priority=9))
        consumer.basic_ack(col.items[-1][0].delivery_tag)
    assert wait_until(conn, lambda: len(col) == 6)
    consumer.basic_ack(col.items[-1][0].delivery_tag)
    assert col.bodies == [b"1:9", b"3:9", b"5:9", b"2:5", b"0:1", b"4:0"]


def test_unacked_messages_return_in_priority_order_when_channel_closes(
        broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-max-priority": 3})
    publish_priorities(ch, q, [0, 3, 1, 3])
    consumer = conn.channel()
    col = Collector()
    consumer.basic_consume(q, col)
    assert wait_until(conn, lambda: len(col) == 4)
    assert col.bodies == [b"1:3", b"3:3", b"2:1", b"0:0"]
    consumer.close()
    order = [(m.redelivered, b) for m, _p, b in
             (ch.basic_get(q, auto_ack=True) for _ in range(4))]
    assert order == [(True, b"1:3"), (True, b"3:3"), (True, b"2:1"),
                     (True, b"0:0")]
