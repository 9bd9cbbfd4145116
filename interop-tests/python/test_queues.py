"""Queue declaration, server-named queues, exclusivity, auto-delete, equivalence
checks, purge/delete counts and conditions, bind/unbind errors, and the
"last declared queue" shorthand.
"""
import pytest

from conftest import (Collector, broker_close, consumer_count, drain,
                      get_body, message_count, ping, wait_until)


def assert_usable(conn, broker):
    ch = conn.channel()
    q = broker.name("after")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"still ok")
    assert get_body(ch, q) == b"still ok"


def queue_missing(broker, q):
    """True when a passive declare of q from a fresh channel is 404."""
    ch = broker.channel()
    try:
        ch.queue_declare(q, passive=True)
    except Exception as exc:
        code = getattr(exc, "reply_code", None)
        assert code == 404, exc
        return True
    return False


def test_server_named_queue_gets_amq_gen_prefix(broker):
    ch = broker.channel()
    ok = ch.queue_declare("", exclusive=True)
    name = ok.method.queue
    assert name.startswith("amq.gen-")
    assert len(name) > len("amq.gen-")
    ch.basic_publish("", name, b"to server-named")
    assert get_body(ch, name) == b"to server-named"


def test_two_server_named_queues_get_distinct_names(broker):
    ch = broker.channel()
    a = ch.queue_declare("", exclusive=True).method.queue
    b = ch.queue_declare("", exclusive=True).method.queue
    assert a != b


def test_passive_declare_of_missing_queue_is_404_channel_error(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.queue_declare(broker.name("nope"), passive=True))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")
    assert_usable(conn, broker)


def test_declare_ok_reports_message_and_consumer_counts(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ok = ch.queue_declare(q)
    assert (ok.method.queue, ok.method.message_count,
            ok.method.consumer_count) == (q, 0, 0)
    # Confirms make sure the messages are enqueued before we count them.
    ch.confirm_delivery()
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    ok = ch.queue_declare(q)
    assert (ok.method.message_count, ok.method.consumer_count) == (3, 0)
    cch = conn.channel()
    cch.basic_qos(prefetch_count=1)
    cch.basic_consume(q, Collector(), consumer_tag="c1")
    cch.basic_consume(q, Collector(), consumer_tag="c2")
    # Each consumer holds one unacked message; one stays ready.
    assert wait_until(conn, lambda: message_count(ch, q) == 1)
    ok = ch.queue_declare(q, passive=True)
    assert (ok.method.message_count, ok.method.consumer_count) == (1, 2)


def _exclusive_op(ch, q, op):
    if op == "declare":
        ch.queue_declare(q, exclusive=True)
    elif op == "passive-declare":
        ch.queue_declare(q, passive=True)
    elif op == "consume":
        ch.basic_consume(q, Collector())
    elif op == "get":
        ch.basic_get(q)
    elif op == "bind":
        ch.queue_bind(q, "amq.fanout")
    elif op == "unbind":
        ch.queue_unbind(q, "amq.direct", routing_key="k")
    elif op == "purge":
        ch.queue_purge(q)
    elif op == "delete":
        ch.queue_delete(q)


@pytest.mark.parametrize("op", ["declare", "passive-declare", "consume", "get",
                                "bind", "unbind", "purge", "delete"])
def test_exclusive_queue_from_another_connection_is_405_resource_locked(
        broker, op):
    owner = broker.channel()
    q = broker.name("excl")
    owner.queue_declare(q, exclusive=True)
    # An existing binding, so that unbind has something to act on (an unbind
    # of a binding that does not exist succeeds before any lock check).
    owner.queue_bind(q, "amq.direct", routing_key="k")
    owner.confirm_delivery()
    owner.basic_publish("", q, b"kept")
    other_conn, other = broker.conn_channel()
    code, text, kind = broker_close(lambda: _exclusive_op(other, q, op))
    assert (code, kind) == (405, "channel")
    assert text.startswith("RESOURCE_LOCKED - ")
    assert_usable(other_conn, broker)
    # The owner is unaffected and the message is still there.
    assert message_count(owner, q) == 1


def test_exclusive_queue_disappears_when_its_connection_closes(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("excl")
    ch.queue_declare(q, exclusive=True)
    ch.basic_publish("", q, b"gone with it")
    conn.close()
    assert queue_missing(broker, q)


def test_exclusive_queue_survives_closing_the_declaring_channel(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("excl")
    ch.queue_declare(q, exclusive=True)
    ch.close()
    ch2 = conn.channel()
    assert message_count(ch2, q) == 0


def test_auto_delete_queue_deleted_when_last_consumer_cancels(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("ad")
    ch.queue_declare(q, auto_delete=True)
    t1 = ch.basic_consume(q, Collector())
    t2 = ch.basic_consume(q, Collector())
    ch.basic_cancel(t1)
    assert consumer_count(ch, q) == 1
    ch.basic_cancel(t2)
    assert queue_missing(broker, q)


def test_auto_delete_queue_without_consumers_ever_stays(broker):
    ch = broker.channel()
    q = broker.name("ad")
    ch.queue_declare(q, auto_delete=True)
    ch.basic_publish("", q, b"m")
    # basic.get is not a consumer: the queue must not go away after it.
    assert get_body(ch, q) == b"m"
    assert message_count(ch, q) == 0


@pytest.mark.parametrize("first,second", [
    ({"durable": False}, {"durable": True}),
    ({"auto_delete": False}, {"auto_delete": True}),
    ({"arguments": {"x-message-ttl": 60000}},
     {"arguments": {"x-message-ttl": 30000}}),
    ({}, {"arguments": {"x-max-length": 10}}),
], ids=["durable", "auto_delete", "ttl-value", "added-argument"])
def test_non_equivalent_queue_redeclare_is_406_channel_error(
        broker, first, second):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, **first)
    code, text, kind = broker_close(lambda: ch.queue_declare(q, **second))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert_usable(conn, broker)


def test_equivalent_queue_redeclare_succeeds(broker):
    ch = broker.channel()
    q = broker.name("q")
    args = {"x-message-ttl": 60000}
    ch.queue_declare(q, durable=False, arguments=args)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    ok = ch.queue_declare(q, durable=False, arguments=args)
    assert ok.method.message_count == 1


def test_purge_returns_message_count(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    for i in range(5):
        ch.basic_publish("", q, b"m%d" % i)
    assert ch.queue_purge(q).method.message_count == 5
    assert message_count(ch, q) == 0
    assert ch.queue_purge(q).method.message_count == 0


def test_purge_keeps_unacked_messages(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"unacked")
    ch.basic_publish("", q, b"ready")
    method, _p, body = ch.basic_get(q)
    assert body == b"unacked"
    assert ch.queue_purge(q).method.message_count == 1
    ch.close()
    ch2 = conn.channel()
    # The unacked message went back to the queue when its channel closed.
    method, _p, body = ch2.basic_get(q, auto_ack=True)
    assert body == b"unacked" and method.redelivered


def test_delete_returns_message_count(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    assert ch.queue_delete(q).method.message_count == 3
    assert queue_missing(broker, q)


def test_delete_missing_queue_succeeds_with_zero_count(broker):
    ch = broker.channel()
    assert ch.queue_delete(broker.name("never")).method.message_count == 0


def test_delete_if_unused_with_consumer_is_406(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_consume(q, Collector())
    other = conn.channel()
    code, text, kind = broker_close(
        lambda: other.queue_delete(q, if_unused=True))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert consumer_count(ch, q) == 1


def test_delete_if_empty_with_messages_is_406(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    code, text, kind = broker_close(
        lambda: ch.queue_delete(q, if_empty=True))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert message_count(conn.channel(), q) == 1


def test_delete_if_empty_and_if_unused_on_idle_empty_queue_deletes(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    assert ch.queue_delete(q, if_unused=True, if_empty=True) \
        .method.message_count == 0
    assert queue_missing(broker, q)


def test_bind_missing_queue_is_404_channel_error(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.queue_bind(broker.name("noq"), "amq.direct",
                              routing_key="k"))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")
    assert_usable(conn, broker)


def test_bind_to_missing_exchange_is_404_channel_error(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q)
    code, text, kind = broker_close(
        lambda: ch.queue_bind(q, broker.name("nox"), routing_key="k"))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")
    assert_usable(conn, broker)


def test_unbind_of_nonexistent_binding_succeeds(broker):
    ch = broker.channel()
    q, x = broker.name("q"), broker.name("x")
    ch.queue_declare(q)
    ch.exchange_declare(x, exchange_type="direct")
    ch.queue_unbind(q, x, routing_key="never-bound")
    ch.queue_unbind(broker.name("noq"), x, routing_key="k")
    ch.queue_unbind(q, broker.name("nox"), routing_key="k")
    ping(ch)


def test_rebinding_same_binding_is_idempotent(broker):
    ch = broker.channel()
    q, x = broker.name("q"), broker.name("x")
    ch.queue_declare(q)
    ch.exchange_declare(x, exchange_type="direct")
    ch.queue_bind(q, x, routing_key="k")
    ch.queue_bind(q, x, routing_key="k")
    ch.basic_publish(x, "k", b"once")
    assert drain(ch, q) == [b"once"]
    # A single unbind removes it.
    ch.queue_unbind(q, x, routing_key="k")
    ch.basic_publish(x, "k", b"gone")
    assert drain(ch, q) == []


def test_empty_queue_name_means_last_declared_queue_on_channel(broker):
    ch = broker.channel()
    q, x = broker.name("q"), broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    ch.queue_declare(q)
    ch.queue_bind("", x, routing_key="k")
    ch.confirm_delivery()
    ch.basic_publish(x, "k", b"via last-declared bind")
    ch.basic_publish(x, "k", b"second")
    assert ch.basic_get("", auto_ack=True)[2] == b"via last-declared bind"
    assert ch.queue_purge("").method.message_count == 1


def test_empty_queue_name_without_a_declared_queue_is_404(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(lambda: ch.queue_purge(""))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")


def test_queue_message_ttl_argument_is_accepted_and_messages_delivered(
        broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 60000})
    ch.basic_publish("", q, b"fresh")
    col = Collector()
    ch.basic_consume(q, col, auto_ack=True)
    assert wait_until(conn, lambda: len(col) == 1)
    assert col.bodies == [b"fresh"]


@pytest.mark.parametrize("first,second", [(False, True), (True, False)],
                         ids=["plain-then-exclusive", "exclusive-then-plain"])
def test_redeclare_with_different_exclusive_is_405_even_on_same_connection(
        broker, first, second):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, exclusive=first)
    code, text, kind = broker_close(
        lambda: ch.queue_declare(q, exclusive=second))
    assert (code, kind) == (405, "channel")
    assert text.startswith("RESOURCE_LOCKED - ")
    assert_usable(conn, broker)
