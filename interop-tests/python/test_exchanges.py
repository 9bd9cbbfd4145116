"""Exchange declaration, deletion, equivalence checks, reserved names, the
default exchange, internal and auto-delete exchanges, exchange-to-exchange
bindings and alternate exchanges.
"""
import pytest

from conftest import (broker_close, drain, get_body, idle, ping)

TYPES = ["direct", "fanout", "topic", "headers"]


def assert_usable(conn, broker):
    """After a channel error the connection must still work."""
    ch = conn.channel()
    q = broker.name("after")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"still ok")
    assert get_body(ch, q) == b"still ok"


@pytest.mark.parametrize("etype", TYPES)
def test_declare_exchange_of_each_type_then_passive_declare_succeeds(
        broker, etype):
    ch = broker.channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type=etype)
    ch.exchange_declare(x, exchange_type=etype, passive=True)
    # An equivalent redeclare is fine.
    ch.exchange_declare(x, exchange_type=etype)


def test_passive_declare_of_missing_exchange_is_404_channel_error(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("nope")
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, passive=True))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")
    assert_usable(conn, broker)


def test_redeclare_with_different_type_is_406_channel_error(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, exchange_type="fanout"))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert_usable(conn, broker)


def test_redeclare_with_different_durable_is_406_channel_error(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct", durable=False)
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, exchange_type="direct", durable=True))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    assert_usable(conn, broker)


def test_redeclare_with_different_auto_delete_is_406_channel_error(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, exchange_type="direct",
                                    auto_delete=True))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")


def test_unknown_exchange_type_is_503_connection_error(broker):
    # RabbitMQ 3.10 treats an unknown type as a hard COMMAND_INVALID error,
    # not as a 406 channel error.
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, exchange_type="no-such-type"))
    assert (code, kind) == (503, "connection")
    assert text.startswith("COMMAND_INVALID - ")
    assert conn.is_closed


def test_declaring_amq_prefixed_exchange_is_403_channel_error(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.exchange_declare("amq.py-%s" % broker.prefix,
                                    exchange_type="direct"))
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")
    assert_usable(conn, broker)


def test_passive_declare_of_standard_amq_exchange_succeeds(broker):
    ch = broker.channel()
    for name, etype in [("amq.direct", "direct"), ("amq.fanout", "fanout"),
                        ("amq.topic", "topic"), ("amq.headers", "headers"),
                        ("amq.match", "headers")]:
        ch.exchange_declare(name, exchange_type=etype, passive=True)


def test_deleting_amq_direct_is_403_channel_error(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(lambda: ch.exchange_delete("amq.direct"))
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")
    # And it is still there.
    conn.channel().exchange_declare("amq.direct", exchange_type="direct",
                                    passive=True)


def _default_exchange_op(broker, ch, op):
    q = broker.name("q")
    ch.queue_declare(q)
    if op == "declare":
        ch.exchange_declare("", exchange_type="direct")
    elif op == "delete":
        ch.exchange_delete("")
    elif op == "bind":
        ch.queue_bind(q, "", routing_key="k")
    elif op == "unbind":
        ch.queue_unbind(q, "", routing_key="k")


@pytest.mark.parametrize("op", ["declare", "delete", "bind", "unbind"])
def test_default_exchange_op_is_403_channel_error(broker, op):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: _default_exchange_op(broker, ch, op))
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")
    assert_usable(conn, broker)


def test_delete_missing_exchange_succeeds(broker):
    ch = broker.channel()
    ch.exchange_delete(broker.name("never-declared"))
    ping(ch)


def test_delete_if_unused_with_binding_is_406_and_keeps_exchange(broker):
    conn, ch = broker.conn_channel()
    x, q = broker.name("x"), broker.name("q")
    ch.exchange_declare(x, exchange_type="direct")
    ch.queue_declare(q)
    ch.queue_bind(q, x, routing_key="k")
    code, text, kind = broker_close(
        lambda: ch.exchange_delete(x, if_unused=True))
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - ")
    ch2 = conn.channel()
    ch2.basic_publish(x, "k", b"routed")
    assert get_body(ch2, q) == b"routed"


def test_delete_if_unused_without_bindings_deletes(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="fanout")
    ch.exchange_delete(x, if_unused=True)
    code, _text, kind = broker_close(
        lambda: ch.exchange_declare(x, passive=True))
    assert (code, kind) == (404, "channel")


def test_publish_to_internal_exchange_is_403_channel_error(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("internal")
    ch.exchange_declare(x, exchange_type="fanout", internal=True)
    code, text, kind = broker_close(
        lambda: ch.basic_publish(x, "", b"nope"), ch)
    assert (code, kind) == (403, "channel")
    assert text.startswith("ACCESS_REFUSED - ")
    assert_usable(conn, broker)


def test_internal_exchange_routes_via_exchange_binding(broker):
    ch = broker.channel()
    front, inner, q = broker.name("front"), broker.name("inner"), \
        broker.name("q")
    ch.exchange_declare(front, exchange_type="fanout")
    ch.exchange_declare(inner, exchange_type="fanout", internal=True)
    ch.exchange_bind(inner, front)
    ch.queue_declare(q)
    ch.queue_bind(q, inner)
    ch.basic_publish(front, "any", b"through internal")
    assert get_body(ch, q) == b"through internal"


def test_exchange_to_exchange_binding_routes_until_unbound(broker):
    ch = broker.channel()
    src, dst, q = broker.name("src"), broker.name("dst"), broker.name("q")
    ch.exchange_declare(src, exchange_type="topic")
    ch.exchange_declare(dst, exchange_type="direct")
    ch.queue_declare(q)
    ch.queue_bind(q, dst, routing_key="a.b")
    ch.exchange_bind(dst, src, routing_key="a.*")
    ch.basic_publish(src, "a.b", b"one")
    ch.basic_publish(src, "x.b", b"not matching source binding")
    ch.basic_publish(src, "a.c", b"not matching queue binding")
    assert drain(ch, q) == [b"one"]
    ch.exchange_unbind(dst, src, routing_key="a.*")
    ch.basic_publish(src, "a.b", b"after unbind")
    ch.basic_publish(dst, "a.b", b"direct still works")
    assert drain(ch, q) == [b"direct still works"]


def test_exchange_to_exchange_binding_to_missing_exchange_is_404(broker):
    conn, ch = broker.conn_channel()
    src = broker.name("src")
    ch.exchange_declare(src, exchange_type="fanout")
    code, text, kind = broker_close(
        lambda: ch.exchange_bind(broker.name("missing"), src))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")


def test_alternate_exchange_receives_unroutable_messages(broker):
    ch = broker.channel()
    main, alt = broker.name("main"), broker.name("alt")
    q_main, q_alt = broker.name("qmain"), broker.name("qalt")
    ch.exchange_declare(alt, exchange_type="fanout")
    ch.exchange_declare(main, exchange_type="direct",
                        arguments={"alternate-exchange": alt})
    ch.queue_declare(q_main)
    ch.queue_declare(q_alt)
    ch.queue_bind(q_main, main, routing_key="known")
    ch.queue_bind(q_alt, alt)
    ch.basic_publish(main, "known", b"routed")
    ch.basic_publish(main, "unknown", b"to alternate")
    assert drain(ch, q_main) == [b"routed"]
    assert drain(ch, q_alt) == [b"to alternate"]


def test_alternate_exchange_delivery_is_not_returned_as_mandatory(broker):
    conn, ch = broker.conn_channel()
    main, alt, q_alt = broker.name("main"), broker.name("alt"), \
        broker.name("qalt")
    ch.exchange_declare(alt, exchange_type="fanout")
    ch.exchange_declare(main, exchange_type="direct",
                        arguments={"alternate-exchange": alt})
    ch.queue_declare(q_alt)
    ch.queue_bind(q_alt, alt)
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    ch.basic_publish(main, "nobody", b"m", mandatory=True)
    ping(ch)
    idle(conn)
    assert returned == []
    assert drain(ch, q_alt) == [b"m"]


def test_auto_delete_exchange_goes_when_last_binding_removed(broker):
    conn, ch = broker.conn_channel()
    x, q1, q2 = broker.name("ad"), broker.name("q1"), broker.name("q2")
    ch.exchange_declare(x, exchange_type="direct", auto_delete=True)
    ch.queue_declare(q1)
    ch.queue_declare(q2)
    ch.queue_bind(q1, x, routing_key="a")
    ch.queue_bind(q2, x, routing_key="b")
    ch.queue_unbind(q1, x, routing_key="a")
    # One binding left: still there.
    ch.exchange_declare(x, passive=True)
    ch.queue_unbind(q2, x, routing_key="b")
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, passive=True))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")


def test_auto_delete_exchange_goes_when_its_bound_queue_is_deleted(broker):
    conn, ch = broker.conn_channel()
    x, q = broker.name("ad"), broker.name("q")
    ch.exchange_declare(x, exchange_type="fanout", auto_delete=True)
    ch.queue_declare(q)
    ch.queue_bind(q, x)
    ch.queue_delete(q)
    code, _text, kind = broker_close(
        lambda: ch.exchange_declare(x, passive=True))
    assert (code, kind) == (404, "channel")


def test_auto_delete_exchange_without_any_binding_stays(broker):
    ch = broker.channel()
    x = broker.name("ad")
    ch.exchange_declare(x, exchange_type="fanout", auto_delete=True)
    ch.exchange_declare(x, passive=True)
