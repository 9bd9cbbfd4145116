"""Consuming: consumer tags, no-ack and exclusive consumers, cancel (client and
broker side), round-robin, prefetch per consumer and per channel, basic.get,
ack/nack/reject in all their forms, recover, and requeue on close.
"""
import pika
import pytest
from pika import spec

from conftest import (Collector, broker_close, consumer_count, drain, idle,
                      message_count, ping, raw_rpc, send_raw, wait_until)


def fill(broker, ch, count, suffix="q", **declare):
    """Declare a queue and put count messages m0..m{count-1} in it, using
    publisher confirms so they are enqueued before we go on."""
    q = broker.name(suffix)
    ch.queue_declare(q, **declare)
    pub = ch.connection.channel()
    pub.confirm_delivery()
    for i in range(count):
        pub.basic_publish("", q, b"m%d" % i)
    pub.close()
    return q


def assert_usable(conn, broker):
    ch = conn.channel()
    q = broker.name("after")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"still ok")
    assert drain(ch, q) == [b"still ok"]


def test_empty_consumer_tag_gets_server_generated_amq_ctag(broker):
    # pika always invents its own tag, so send basic.consume with an empty
    # tag through its encoder and read consume-ok.
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ok = raw_rpc(ch, spec.Basic.Consume(queue=q, consumer_tag=""),
                 spec.Basic.ConsumeOk)
    assert ok.consumer_tag.startswith("amq.ctag-")
    assert len(ok.consumer_tag) > len("amq.ctag-")
    assert consumer_count(ch, q) == 1
    cancel_ok = raw_rpc(ch, spec.Basic.Cancel(consumer_tag=ok.consumer_tag),
                        spec.Basic.CancelOk)
    assert cancel_ok.consumer_tag == ok.consumer_tag
    assert consumer_count(ch, q) == 0


def test_client_chosen_consumer_tag_is_used_in_deliveries(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 1)
    col = Collector()
    tag = ch.basic_consume(q, col, auto_ack=True, consumer_tag="my-tag-1")
    assert tag == "my-tag-1"
    assert wait_until(conn, lambda: len(col) == 1)
    method = col.items[0][0]
    assert method.consumer_tag == "my-tag-1"
    assert method.delivery_tag == 1
    assert method.redelivered is False
    assert (method.exchange, method.routing_key) == ("", q)


def test_no_ack_consumer_messages_are_gone_without_ack(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 3)
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    assert wait_until(conn, lambda: len(col) == 3)
    assert col.bodies == [b"m0", b"m1", b"m2"]
    ch.close()
    # Nothing was unacked, so nothing comes back.
    assert message_count(conn.channel(), q) == 0


def test_exclusive_consumer_blocks_second_consumer_with_403(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_consume(q, Collector(), exclusive=True)
    other_conn, other = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: other.basic_consume(q, Collector()))
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")
    assert_usable(other_conn, broker)
    assert consumer_count(ch, q) == 1


def test_exclusive_consume_on_queue_with_consumer_is_403(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_consume(q, Collector())
    other = conn.channel()
    code, text, kind = broker_close(
        lambda: other.basic_consume(q, Collector(), exclusive=True))
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")


def test_reusing_consumer_tag_on_channel_is_connection_close_530(broker):
    # pika refuses a duplicate tag itself; send the second consume raw.
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_consume(q, Collector(), consumer_tag="dup-tag")
    method = spec.Basic.Consume(queue=q, consumer_tag="dup-tag")
    code, text, kind = broker_close(lambda: send_raw(ch, method), ch)
    assert (code, kind) == (530, "connection")
    assert text.startswith("NOT_ALLOWED - ")


def test_same_consumer_tag_on_two_channels_is_fine(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    other = conn.channel()
    ch.basic_consume(q, Collector(), consumer_tag="shared-tag")
    other.basic_consume(q, Collector(), consumer_tag="shared-tag")
    assert consumer_count(ch, q) == 2


def test_basic_cancel_stops_delivery(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 1)
    col = Collector()
    tag = ch.basic_consume(q, col, auto_ack=True)
    assert wait_until(conn, lambda: len(col) == 1)
    ch.basic_cancel(tag)
    assert consumer_count(ch, q) == 0
    pub = conn.channel()
    pub.confirm_delivery()
    pub.basic_publish("", q, b"after cancel")
    idle(conn)
    assert col.bodies == [b"m0"]
    assert message_count(ch, q) == 1


def test_cancel_of_unknown_consumer_tag_is_ok(broker):
    ch = broker.channel()
    ok = raw_rpc(ch, spec.Basic.Cancel(consumer_tag="never-registered"),
                 spec.Basic.CancelOk)
    assert ok.consumer_tag == "never-registered"
    ping(ch)


def test_deleting_queue_sends_basic_cancel_to_its_consumers(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    cancels = []
    ch.add_on_cancel_callback(lambda frame: cancels.append(frame.method))
    tag = ch.basic_consume(q, Collector(), consumer_tag="to-be-cancelled")
    conn.channel().queue_delete(q)
    assert wait_until(conn, lambda: cancels)
    assert isinstance(cancels[0], spec.Basic.Cancel)
    assert cancels[0].consumer_tag == tag
    assert tag not in ch.consumer_tags
    # The channel itself stays open.
    ping(ch)


def test_round_robin_across_consumers(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    other = conn.channel()
    a, b = Collector(), Collector()
    ch.basic_consume(q, a, auto_ack=True)
    other.basic_consume(q, b, auto_ack=True)
    pub = conn.channel()
    pub.confirm_delivery()
    for i in range(6):
        pub.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: len(a) + len(b) == 6)
    assert (len(a), len(b)) == (3, 3)
    assert sorted(a.bodies + b.bodies) == [b"m%d" % i for i in range(6)]


def test_per_consumer_prefetch_limits_unacked_messages(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 6)
    ch.basic_qos(prefetch_count=2, global_qos=False)
    col = Collector()
    ch.basic_consume(q, col)
    assert wait_until(conn, lambda: len(col) == 2)
    idle(conn)
    assert len(col) == 2
    ch.basic_ack(col.items[0][0].delivery_tag)
    assert wait_until(conn, lambda: len(col) == 3)
    idle(conn)
    assert len(col) == 3
    assert col.bodies == [b"m0", b"m1", b"m2"]


def test_per_consumer_prefetch_applies_to_each_consumer_separately(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 10)
    ch.basic_qos(prefetch_count=2, global_qos=False)
    a, b = Collector(), Collector()
    ch.basic_consume(q, a)
    ch.basic_consume(q, b)
    assert wait_until(conn, lambda: len(a) + len(b) == 4)
    idle(conn)
    assert (len(a), len(b)) == (2, 2)
    assert message_count(conn.channel(), q) == 6


def test_global_prefetch_is_shared_by_the_channel(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 10)
    ch.basic_qos(prefetch_count=3, global_qos=True)
    a, b = Collector(), Collector()
    ch.basic_consume(q, a)
    ch.basic_consume(q, b)
    assert wait_until(conn, lambda: len(a) + len(b) == 3)
    idle(conn)
    assert len(a) + len(b) == 3
    first = (a.items or b.items)[0][0]
    ch.basic_ack(first.delivery_tag)
    assert wait_until(conn, lambda: len(a) + len(b) == 4)
    idle(conn)
    assert len(a) + len(b) == 4


def test_prefetch_size_is_connection_close_540(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.basic_qos(prefetch_size=1000))
    assert (code, kind) == (540, "connection")
    assert text.startswith("NOT_IMPLEMENTED - ")


def test_higher_priority_consumer_gets_messages_first(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    low, high = Collector(), Collector()
    ch.basic_consume(q, low, auto_ack=True, arguments={"x-priority": 0})
    ch.basic_consume(q, high, auto_ack=True, arguments={"x-priority": 10})
    pub = conn.channel()
    pub.confirm_delivery()
    for i in range(4):
        pub.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: len(low) + len(high) == 4)
    assert (len(low), len(high)) == (0, 4)


def test_basic_get_returns_message_count_then_get_empty(broker):
    ch = broker.channel()
    q = fill(broker, ch, 3)
    for remaining, expected in [(2, b"m0"), (1, b"m1"), (0, b"m2")]:
        method, _props, body = ch.basic_get(q, auto_ack=True)
        assert isinstance(method, spec.Basic.GetOk)
        assert (body, method.message_count) == (expected, remaining)
        assert method.redelivered is False
        assert (method.exchange, method.routing_key) == ("", q)
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)


def test_delivery_tags_start_at_one_and_increase_per_channel(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 4)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(2)]
    other = conn.channel()
    other_tags = [other.basic_get(q)[0].delivery_tag for _ in range(2)]
    assert tags == [1, 2]
    assert other_tags == [1, 2]


def test_ack_removes_message_for_good(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 2)
    method, _p, body = ch.basic_get(q)
    assert body == b"m0"
    ch.basic_ack(method.delivery_tag)
    ch.close()
    assert drain(conn.channel(), q) == [b"m1"]


def test_ack_multiple_acks_everything_up_to_the_tag(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 4)
    col = Collector()
    ch.basic_consume(q, col)
    assert wait_until(conn, lambda: len(col) == 4)
    ch.basic_ack(col.items[2][0].delivery_tag, multiple=True)
    ch.close()
    # Only the fourth was not covered; it comes back redelivered.
    ch2 = conn.channel()
    method, _p, body = ch2.basic_get(q, auto_ack=True)
    assert (body, method.redelivered) == (b"m3", True)
    assert ch2.basic_get(q) == (None, None, None)


def test_ack_multiple_with_tag_zero_acks_all_outstanding(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 3)
    for _ in range(3):
        ch.basic_get(q)
    ch.basic_ack(0, multiple=True)
    ch.close()
    assert message_count(conn.channel(), q) == 0


def test_nack_multiple_with_requeue_redelivers_all(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 3)
    col = Collector()
    ch.basic_qos(prefetch_count=3)
    tag = ch.basic_consume(q, col)
    assert wait_until(conn, lambda: len(col) == 3)
    assert [m.redelivered for m, _p, _b in col.items] == [False] * 3
    ch.basic_cancel(tag)
    ch.basic_nack(col.items[-1][0].delivery_tag, multiple=True, requeue=True)
    got = []
    for _ in range(3):
        method, _p, body = ch.basic_get(q, auto_ack=True)
        got.append((body, method.redelivered))
    assert got == [(b"m0", True), (b"m1", True), (b"m2", True)]


def test_reject_with_requeue_redelivers_with_redelivered_flag(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 1)
    method, _p, body = ch.basic_get(q)
    assert (body, method.redelivered) == (b"m0", False)
    ch.basic_reject(method.delivery_tag, requeue=True)
    method, _p, body = ch.basic_get(q)
    assert (body, method.redelivered) == (b"m0", True)
    ch.basic_ack(method.delivery_tag)
    assert ch.basic_get(q) == (None, None, None)


def test_reject_without_requeue_drops_message(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 2)
    method, _p, body = ch.basic_get(q)
    ch.basic_reject(method.delivery_tag, requeue=False)
    ch.close()
    assert drain(conn.channel(), q) == [b"m1"]


def test_nack_without_requeue_drops_messages(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 3)
    ch.basic_get(q)
    method, _p, _b = ch.basic_get(q)
    ch.basic_nack(method.delivery_tag, multiple=True, requeue=False)
    ch.close()
    assert drain(conn.channel(), q) == [b"m2"]


def test_ack_of_unknown_delivery_tag_is_406_channel_error(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(lambda: ch.basic_ack(99), ch)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert "99" in text
    assert_usable(conn, broker)


@pytest.mark.parametrize("how", ["ack", "reject", "nack"])
def test_settling_a_delivery_tag_twice_is_406_channel_error(broker, how):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 1)
    method, _p, _b = ch.basic_get(q)
    ch.basic_ack(method.delivery_tag)

    def settle_again():
        if how == "ack":
            ch.basic_ack(method.delivery_tag)
        elif how == "reject":
            ch.basic_reject(method.delivery_tag, requeue=True)
        else:
            ch.basic_nack(method.delivery_tag, requeue=True)

    code, text, kind = broker_close(settle_again, ch)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert_usable(conn, broker)


def test_recover_with_requeue_redelivers_unacked(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 2)
    col = Collector()
    ch.basic_consume(q, col)
    assert wait_until(conn, lambda: len(col) == 2)
    ch.basic_recover(requeue=True)
    assert wait_until(conn, lambda: len(col) == 4)
    again = col.items[2:]
    assert sorted(b for _m, _p, b in again) == [b"m0", b"m1"]
    assert all(m.redelivered for m, _p, _b in again)
    for m, _p, _b in again:
        ch.basic_ack(m.delivery_tag)
    ping(ch)


def test_recover_without_requeue_is_connection_close_540(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(lambda: ch.basic_recover(requeue=False))
    assert (code, kind) == (540, "connection")
    assert text.startswith("NOT_IMPLEMENTED - ")


def test_unacked_messages_return_when_channel_closes(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 2)
    col = Collector()
    ch.basic_consume(q, col)
    assert wait_until(conn, lambda: len(col) == 2)
    ch.close()
    ch2 = conn.channel()
    got = []
    for _ in range(2):
        method, _p, body = ch2.basic_get(q, auto_ack=True)
        got.append((body, method.redelivered))
    assert got == [(b"m0", True), (b"m1", True)]


def test_unacked_messages_return_when_connection_closes(broker):
    conn, ch = broker.conn_channel()
    q = fill(broker, ch, 2)
    ch.basic_get(q)
    ch.basic_get(q)
    conn.close()
    ch2 = broker.channel()
    got = []
    for _ in range(2):
        method, _p, body = ch2.basic_get(q, auto_ack=True)
        got.append((body, method.redelivered))
    assert got == [(b"m0", True), (b"m1", True)]


def test_direct_reply_to_round_trip(broker):
    conn, ch = broker.conn_channel()
    server_q = broker.name("rpc")
    ch.queue_declare(server_q)
    replies = Collector()
    ch.basic_consume("amq.rabbitmq.reply-to", replies, auto_ack=True)
    ch.basic_publish("", server_q, b"request",
                     properties=pika.BasicProperties(
                         reply_to="amq.rabbitmq.reply-to"))
    server = conn.channel()
    method, props, body = server.basic_get(server_q, auto_ack=True)
    assert body == b"request"
    assert props.reply_to.startswith("amq.rabbitmq.reply-to.")
    server.basic_publish("", props.reply_to, b"response")
    assert wait_until(conn, lambda: len(replies) == 1)
    assert replies.bodies == [b"response"]
