"""Publisher confirms and transactions: ack delivery tags, return-before-ack
for unroutable mandatory messages, commit/rollback of publishes and acks,
and the mode conflicts.
"""
import pika.exceptions as pe
import pytest

from conftest import (broker_close, drain, get_body, message_count, ping,
                      wait_until)


def select_confirms_raw(conn, ch, events):
    """Put ch in confirm mode through the underlying async channel so every
    basic.ack / basic.nack is seen (the blocking API hides the tags)."""
    done = []
    ch._impl.confirm_delivery(
        ack_nack_callback=lambda frame: events.append(frame.method),
        callback=lambda _frame: done.append(True))
    assert wait_until(conn, lambda: done)


def covered_tags(acks):
    covered = set()
    for method in acks:
        if method.multiple:
            covered.update(t for t in range(1, method.delivery_tag + 1))
        else:
            covered.add(method.delivery_tag)
    return covered


def test_confirm_acks_cover_delivery_tags_one_to_n(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    acks = []
    select_confirms_raw(conn, ch, acks)
    n = 25
    for i in range(n):
        ch.basic_publish("", q, b"m%d" % i)
    assert wait_until(conn, lambda: acks and acks[-1].delivery_tag == n)
    assert all(type(m).__name__ == "Ack" for m in acks)
    tags = [m.delivery_tag for m in acks]
    assert tags == sorted(set(tags)), "ack tags must strictly increase"
    assert covered_tags(acks) == set(range(1, n + 1))
    assert len(drain(ch, q)) == n


def test_confirm_tags_count_unroutable_messages_too(broker):
    conn, ch = broker.conn_channel()
    q, x = broker.name("q"), broker.name("x")
    ch.queue_declare(q)
    ch.exchange_declare(x, exchange_type="fanout")
    acks = []
    select_confirms_raw(conn, ch, acks)
    ch.basic_publish("", q, b"routed")
    ch.basic_publish(x, "", b"unroutable, not mandatory")
    ch.basic_publish("", q, b"routed again")
    assert wait_until(conn, lambda: covered_tags(acks) == {1, 2, 3})
    assert all(type(m).__name__ == "Ack" for m in acks)


def test_blocking_confirmed_publish_succeeds(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    for i in range(5):
        ch.basic_publish("", q, b"m%d" % i)
    assert message_count(ch, q) == 5


def test_mandatory_unroutable_in_confirm_mode_is_returned_then_acked(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    # Returns and confirms go into one list, so their order is visible.
    events = []
    ch._impl.add_on_return_callback(
        lambda _c, method, _p, body: events.append(method))
    select_confirms_raw(conn, ch, events)
    ch.basic_publish(x, "nowhere", b"bounce", mandatory=True)
    assert wait_until(conn, lambda: len(events) == 2)
    ret, ack = events
    assert type(ret).__name__ == "Return"
    assert (ret.reply_code, ret.reply_text) == (312, "NO_ROUTE")
    assert (ret.exchange, ret.routing_key) == (x, "nowhere")
    assert (type(ack).__name__, ack.delivery_tag) == ("Ack", 1)


def test_return_arrives_before_ack_in_confirm_mode(broker):
    # pika's blocking publish raises UnroutableError only when basic.return
    # precedes the basic.ack for the same message.
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    ch.confirm_delivery()
    with pytest.raises(pe.UnroutableError) as info:
        ch.basic_publish(x, "nowhere", b"bounce", mandatory=True)
    (returned,) = info.value.messages
    assert returned.method.reply_code == 312
    assert returned.body == b"bounce"
    # The channel carries on.
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"fine")
    assert get_body(ch, q) == b"fine"


def test_confirm_select_twice_is_ok(broker):
    conn, ch = broker.conn_channel()
    acks = []
    select_confirms_raw(conn, ch, acks)
    select_confirms_raw(conn, ch, acks)
    ping(ch)


def test_tx_publishes_take_effect_only_on_commit(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    observer = conn.channel()
    ch.tx_select()
    ch.basic_publish("", q, b"t1")
    ch.basic_publish("", q, b"t2")
    ping(ch)
    assert get_body(observer, q) is None
    ch.tx_commit()
    assert message_count(observer, q) == 2
    assert drain(observer, q) == [b"t1", b"t2"]


def test_tx_rollback_discards_publishes(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.tx_select()
    ch.basic_publish("", q, b"discarded")
    ch.tx_rollback()
    ch.basic_publish("", q, b"kept")
    ch.tx_commit()
    assert drain(conn.channel(), q) == [b"kept"]


def test_tx_ack_takes_effect_only_on_commit(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    pub = conn.channel()
    pub.confirm_delivery()
    pub.basic_publish("", q, b"m0")
    pub.basic_publish("", q, b"m1")
    ch.tx_select()
    m0, _p, _b = ch.basic_get(q)
    m1, _p, _b = ch.basic_get(q)
    ch.basic_ack(m0.delivery_tag)
    ch.tx_commit()
    ch.basic_ack(m1.delivery_tag)
    # Closing without a commit: the second ack never happened.
    ch.close()
    method, _p, body = pub.basic_get(q, auto_ack=True)
    assert (body, method.redelivered) == (b"m1", True)
    assert pub.basic_get(q) == (None, None, None)


def test_tx_rollback_discards_acks(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    pub = conn.channel()
    pub.confirm_delivery()
    pub.basic_publish("", q, b"m0")
    ch.tx_select()
    m0, _p, _b = ch.basic_get(q)
    ch.basic_ack(m0.delivery_tag)
    ch.tx_rollback()
    ch.tx_commit()
    ch.close()
    method, _p, body = pub.basic_get(q, auto_ack=True)
    assert (body, method.redelivered) == (b"m0", True)


def test_tx_select_twice_is_ok(broker):
    ch = broker.channel()
    ch.tx_select()
    ch.tx_select()
    ch.tx_commit()


@pytest.mark.parametrize("op", ["commit", "rollback"])
def test_tx_end_without_select_is_406_channel_error(broker, op):
    conn, ch = broker.conn_channel()
    fn = ch.tx_commit if op == "commit" else ch.tx_rollback
    code, text, kind = broker_close(fn)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    ping(conn.channel())


def test_confirm_select_on_tx_channel_is_406(broker):
    conn, ch = broker.conn_channel()
    ch.tx_select()
    code, text, kind = broker_close(ch.confirm_delivery)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    ping(conn.channel())


def test_tx_select_on_confirm_channel_is_406(broker):
    conn, ch = broker.conn_channel()
    ch.confirm_delivery()
    code, text, kind = broker_close(ch.tx_select)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    ping(conn.channel())
