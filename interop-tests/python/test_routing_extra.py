"""Routing extras: sender-selected distribution (CC and BCC headers),
alternate exchanges together with mandatory, the error cases of direct
reply-to (amq.rabbitmq.reply-to), and user-id validation.
"""
import pika
import pytest

from conftest import (Collector, broker_close, drain, get_typed, idle,
                      message_count, ping, wait_until)

REPLY_TO = "amq.rabbitmq.reply-to"


def direct_with_queues(broker, ch, keys, kind="direct"):
    """An exchange with one queue bound per key; returns (exchange, {key:
    queue})."""
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type=kind)
    queues = {}
    for key in keys:
        queues[key] = broker.name("q-" + key.replace("*", "star"))
        ch.queue_declare(queues[key])
        ch.queue_bind(queues[key], x, routing_key=key)
    return x, queues


def collect_returns(ch):
    returned = []
    ch.add_on_return_callback(
        lambda _ch, method, props, body: returned.append(
            (method.reply_code, method.reply_text, method.exchange,
             method.routing_key, props, body)))
    return returned


# --- CC / BCC ----------------------------------------------------------------

def test_cc_routes_to_extra_keys_and_is_delivered(broker, raw_content_headers):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["main", "cc1", "cc2", "other"])
    ch.basic_publish(x, "main", b"m", properties=pika.BasicProperties(
        headers={"CC": ["cc1", "cc2"], "keep": "me"}))
    for key in ("main", "cc1", "cc2"):
        method, _p, body, headers = get_typed(ch, qs[key],
                                              raw_content_headers)
        # Delivered with the publish routing key, CC header intact.
        assert (body, method.routing_key) == (b"m", "main")
        assert headers == {"CC": ("A", [("S", b"cc1"), ("S", b"cc2")]),
                           "keep": ("S", b"me")}
    assert message_count(ch, qs["other"]) == 0


def test_bcc_routes_and_is_removed_from_the_message(
        broker, raw_content_headers):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["main", "cc1", "bcc1"])
    ch.basic_publish(x, "main", b"m", properties=pika.BasicProperties(
        headers={"CC": ["cc1"], "BCC": ["bcc1"]}))
    for key in ("main", "cc1", "bcc1"):
        _m, _p, body, headers = get_typed(ch, qs[key], raw_content_headers)
        assert body == b"m"
        assert headers == {"CC": ("A", [("S", b"cc1")])}


def test_bcc_only_leaves_an_empty_headers_table(broker, raw_content_headers):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["main", "bcc1"])
    ch.basic_publish(x, "main", b"m", properties=pika.BasicProperties(
        headers={"BCC": ["bcc1"]}))
    for key in ("main", "bcc1"):
        _m, _p, _b, headers = get_typed(ch, qs[key], raw_content_headers)
        assert headers == {}    # present, empty: not absent


def test_cc_keys_follow_the_exchange_type(broker):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["a.*", "b.#", "c"], kind="topic")
    ch.basic_publish(x, "none", b"m", properties=pika.BasicProperties(
        headers={"CC": ["a.x", "b.y.z"], "BCC": ["c"]}))
    for key in ("a.*", "b.#", "c"):
        assert drain(ch, qs[key]) == [b"m"], key


def test_message_reaching_a_queue_by_key_and_cc_arrives_once(broker):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["a", "b"])
    ch.basic_publish(x, "a", b"m", properties=pika.BasicProperties(
        headers={"CC": ["a", "b", "b"], "BCC": ["a"]}))
    assert drain(ch, qs["a"]) == [b"m"]
    assert drain(ch, qs["b"]) == [b"m"]


def test_message_routed_only_by_cc_is_not_returned(broker):
    conn, ch = broker.conn_channel()
    x, qs = direct_with_queues(broker, ch, ["cc1", "bcc1"])
    returned = collect_returns(ch)
    ch.basic_publish(x, "nobody", b"m1", mandatory=True,
                     properties=pika.BasicProperties(headers={"CC": ["cc1"]}))
    ch.basic_publish(x, "nobody", b"m2", mandatory=True,
                     properties=pika.BasicProperties(
                         headers={"BCC": ["bcc1"]}))
    ping(ch)
    idle(conn)
    assert returned == []
    assert drain(ch, qs["cc1"]) == [b"m1"]
    assert drain(ch, qs["bcc1"]) == [b"m2"]


def test_unroutable_cc_message_is_returned_without_bcc(broker):
    conn, ch = broker.conn_channel()
    x, _qs = direct_with_queues(broker, ch, ["main"])
    returned = collect_returns(ch)
    ch.basic_publish(x, "nobody", b"m", mandatory=True,
                     properties=pika.BasicProperties(
                         headers={"CC": ["zz"], "BCC": ["yy"]}))
    assert wait_until(conn, lambda: returned)
    code, text, exchange, key, props, body = returned[0]
    assert (code, text, exchange, key, body) == (312, "NO_ROUTE", x,
                                                 "nobody", b"m")
    assert props.headers == {"CC": ["zz"]}


def test_cc_header_names_are_case_sensitive(broker):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["main", "cc1"])
    ch.basic_publish(x, "main", b"m", properties=pika.BasicProperties(
        headers={"cc": ["cc1"], "bcc": ["cc1"]}))
    assert drain(ch, qs["main"]) == [b"m"]
    assert drain(ch, qs["cc1"]) == []


def test_non_string_cc_entries_are_ignored(broker, raw_content_headers):
    ch = broker.channel()
    x, qs = direct_with_queues(broker, ch, ["main", "cc1"])
    # Only longstr entries are keys; an int or a byte array is skipped.
    ch.basic_publish(x, "main", b"m", properties=pika.BasicProperties(
        headers={"CC": [1, b"cc1"]}))
    _m, _p, _b, headers = get_typed(ch, qs["main"], raw_content_headers)
    assert headers == {"CC": ("A", [("I", 1), ("x", b"cc1")])}
    assert message_count(ch, qs["cc1"]) == 0


@pytest.mark.parametrize("name,value", [
    ("CC", "cc1"), ("BCC", "cc1"), ("CC", {"a": 1}), ("CC", None)],
    ids=["cc-string", "bcc-string", "cc-table", "cc-void"])
def test_cc_or_bcc_that_is_not_an_array_is_406(broker, name, value):
    conn, ch = broker.conn_channel()
    x, qs = direct_with_queues(broker, ch, ["main", "cc1"])
    code, text, kind = broker_close(
        lambda: ch.basic_publish(x, "main", b"m",
                                 properties=pika.BasicProperties(
                                     headers={name: value})), ch)
    assert (code, kind) == (406, "channel")
    assert text.startswith("PRECONDITION_FAILED - invalid message: ")
    fresh = conn.channel()
    assert message_count(fresh, qs["main"]) == 0


# --- alternate exchanges -----------------------------------------------------

def test_unroutable_in_alternate_exchange_too_is_returned(broker):
    conn, ch = broker.conn_channel()
    alt, main = broker.name("alt"), broker.name("main")
    ch.exchange_declare(alt, exchange_type="direct")
    ch.exchange_declare(main, exchange_type="direct",
                        arguments={"alternate-exchange": alt})
    returned = collect_returns(ch)
    ch.basic_publish(main, "nobody", b"m", mandatory=True)
    assert wait_until(conn, lambda: returned)
    # Returned as from the exchange it was published to.
    assert returned[0][:4] == (312, "NO_ROUTE", main, "nobody")


def test_missing_alternate_exchange_means_unroutable(broker):
    conn, ch = broker.conn_channel()
    main = broker.name("main")
    ch.exchange_declare(main, exchange_type="direct",
                        arguments={"alternate-exchange": broker.name("none")})
    returned = collect_returns(ch)
    ch.basic_publish(main, "k", b"m", mandatory=True)
    assert wait_until(conn, lambda: returned)
    assert returned[0][:4] == (312, "NO_ROUTE", main, "k")
    assert ch.is_open


def test_alternate_exchange_chain_is_followed(broker):
    conn, ch = broker.conn_channel()
    last, middle, first = (broker.name("last"), broker.name("middle"),
                           broker.name("first"))
    q = broker.name("q")
    ch.exchange_declare(last, exchange_type="fanout")
    ch.exchange_declare(middle, exchange_type="direct",
                        arguments={"alternate-exchange": last})
    ch.exchange_declare(first, exchange_type="direct",
                        arguments={"alternate-exchange": middle})
    ch.queue_declare(q)
    ch.queue_bind(q, last)
    returned = collect_returns(ch)
    ch.basic_publish(first, "k", b"m", mandatory=True)
    ping(ch)
    idle(conn)
    assert returned == []
    method, _p, body = ch.basic_get(q, auto_ack=True)
    # Exchange and routing key on delivery are the published ones.
    assert (body, method.exchange, method.routing_key) == (b"m", first, "k")


def test_alternate_exchange_cycle_terminates_and_returns(broker):
    conn, ch = broker.conn_channel()
    a, b = broker.name("a"), broker.name("b")
    ch.exchange_declare(a, exchange_type="direct",
                        arguments={"alternate-exchange": b})
    ch.exchange_declare(b, exchange_type="direct",
                        arguments={"alternate-exchange": a})
    returned = collect_returns(ch)
    ch.basic_publish(a, "k", b"m", mandatory=True)
    assert wait_until(conn, lambda: returned)
    idle(conn)
    assert len(returned) == 1
    assert returned[0][:4] == (312, "NO_ROUTE", a, "k")
    # A queue bound in the cycle gets the message exactly once.
    q = broker.name("q")
    ch.queue_declare(q)
    ch.queue_bind(q, b, routing_key="k")
    ch.basic_publish(a, "k", b"m2", mandatory=True)
    ping(ch)
    idle(conn)
    assert len(returned) == 1
    assert drain(ch, q) == [b"m2"]


def test_alternate_exchange_applies_its_own_routing_to_the_key(broker):
    ch = broker.channel()
    alt = broker.name("alt")
    ch.exchange_declare(alt, exchange_type="direct")
    hit, miss = broker.name("hit"), broker.name("miss")
    ch.queue_declare(hit)
    ch.queue_declare(miss)
    ch.queue_bind(hit, alt, routing_key="k")
    ch.queue_bind(miss, alt, routing_key="other")
    main = broker.name("main")
    ch.exchange_declare(main, exchange_type="topic",
                        arguments={"alternate-exchange": alt})
    ch.basic_publish(main, "k", b"m")
    assert drain(ch, hit) == [b"m"]
    assert drain(ch, miss) == []


def test_cc_route_on_main_exchange_bypasses_alternate_exchange(broker):
    ch = broker.channel()
    alt, alt_q = broker.name("alt"), broker.name("altq")
    ch.exchange_declare(alt, exchange_type="fanout")
    ch.queue_declare(alt_q)
    ch.queue_bind(alt_q, alt)
    main, q = broker.name("main"), broker.name("q")
    ch.exchange_declare(main, exchange_type="direct",
                        arguments={"alternate-exchange": alt})
    ch.queue_declare(q)
    ch.queue_bind(q, main, routing_key="k")
    ch.basic_publish(main, "nobody", b"m",
                     properties=pika.BasicProperties(headers={"CC": ["k"]}))
    assert drain(ch, q) == [b"m"]
    assert drain(ch, alt_q) == []


def test_alternate_exchange_argument_of_wrong_type_is_406(broker):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    code, text, kind = broker_close(
        lambda: ch.exchange_declare(x, exchange_type="direct",
                                    arguments={"alternate-exchange": 5}))
    assert (code, kind) == (406, "channel")
    assert text.startswith(
        "PRECONDITION_FAILED - invalid type 'signedint' for arg "
        "'alternate-exchange'")
    fresh = conn.channel()
    code, _t, kind = broker_close(
        lambda: fresh.exchange_declare(x, passive=True))
    assert (code, kind) == (404, "channel")


# --- direct reply-to ---------------------------------------------------------

def test_reply_to_publish_without_reply_consumer_is_406(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("rpc")
    ch.queue_declare(q)
    code, text, kind = broker_close(
        lambda: ch.basic_publish("", q, b"req",
                                 properties=pika.BasicProperties(
                                     reply_to=REPLY_TO)), ch)
    assert (code, kind) == (406, "channel")
    assert text == "PRECONDITION_FAILED - fast reply consumer does not exist"
    assert message_count(conn.channel(), q) == 0


def test_reply_consumer_on_another_channel_does_not_count(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("rpc")
    ch.queue_declare(q)
    ch.basic_consume(REPLY_TO, Collector(), auto_ack=True)
    other = conn.channel()
    code, text, kind = broker_close(
        lambda: other.basic_publish("", q, b"req",
                                    properties=pika.BasicProperties(
                                        reply_to=REPLY_TO)), other)
    assert (code, kind) == (406, "channel")
    assert text == "PRECONDITION_FAILED - fast reply consumer does not exist"
    assert ch.is_open


def test_reply_consumer_with_acknowledgements_is_406(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.basic_consume(REPLY_TO, Collector(), auto_ack=False))
    assert (code, kind) == (406, "channel")
    assert text == "PRECONDITION_FAILED - reply consumer cannot acknowledge"
    assert conn.channel().is_open


def test_second_reply_consumer_on_a_channel_is_406(broker):
    conn, ch = broker.conn_channel()
    ch.basic_consume(REPLY_TO, Collector(), auto_ack=True)
    code, text, kind = broker_close(
        lambda: ch.basic_consume(REPLY_TO, Collector(), auto_ack=True))
    assert (code, kind) == (406, "channel")
    assert text == "PRECONDITION_FAILED - reply consumer already set"


def test_basic_get_on_reply_to_is_404(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(lambda: ch.basic_get(REPLY_TO))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")


def test_declaring_a_reply_to_sub_name_is_404(broker):
    conn, ch = broker.conn_channel()
    code, text, kind = broker_close(
        lambda: ch.queue_declare(REPLY_TO + ".mine"))
    assert (code, kind) == (404, "channel")
    assert text.startswith("NOT_FOUND - ")


def test_passive_declare_of_reply_to_succeeds(broker):
    # Clients use this to detect support; RabbitMQ answers with no messages
    # and one consumer, whether or not a reply consumer exists.
    ch = broker.channel()
    ok = ch.queue_declare(REPLY_TO, passive=True).method
    assert (ok.queue, ok.message_count, ok.consumer_count) == (REPLY_TO, 0, 1)


def test_reply_is_delivered_with_full_address_and_properties(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("rpc")
    ch.queue_declare(q)
    replies = Collector()
    ch.basic_consume(REPLY_TO, replies, auto_ack=True)
    ch.basic_publish("", q, b"req", properties=pika.BasicProperties(
        reply_to=REPLY_TO, correlation_id="c-1"))
    server_conn, server = broker.conn_channel()
    _m, props, _b = server.basic_get(q, auto_ack=True)
    address = props.reply_to
    assert address.startswith(REPLY_TO + ".")
    assert props.correlation_id == "c-1"
    server.basic_publish("", address, b"resp", properties=pika.BasicProperties(
        correlation_id="c-1", headers={"h": 1}))
    assert wait_until(conn, lambda: len(replies) == 1)
    method, rprops, body = replies.items[0]
    assert body == b"resp"
    assert (method.exchange, method.routing_key) == ("", address)
    assert method.redelivered is False
    assert rprops.correlation_id == "c-1"
    assert rprops.headers == {"h": 1}


@pytest.mark.parametrize("suffix", ["", ".bogus"], ids=["bare", "bogus"])
def test_reply_to_invalid_address_with_mandatory_is_returned(broker, suffix):
    conn, ch = broker.conn_channel()
    returned = collect_returns(ch)
    ch.basic_publish("", REPLY_TO + suffix, b"m", mandatory=True)
    assert wait_until(conn, lambda: returned)
    assert returned[0][:4] == (312, "NO_ROUTE", "", REPLY_TO + suffix)
    assert ch.is_open


def test_reply_after_requester_is_gone_is_dropped(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("rpc")
    ch.queue_declare(q)
    replies = Collector()
    ch.basic_consume(REPLY_TO, replies, auto_ack=True)
    ch.basic_publish("", q, b"req", properties=pika.BasicProperties(
        reply_to=REPLY_TO))
    server_conn, server = broker.conn_channel()
    address = server.basic_get(q, auto_ack=True)[1].reply_to
    ch.close()
    server.basic_publish("", address, b"late")
    ping(server)
    assert server.is_open
    idle(conn)
    assert replies.items == []


# --- user-id validation ------------------------------------------------------

@pytest.mark.parametrize("user_id", ["mallory", "Guest", ""])
def test_user_id_other_than_the_login_is_406_even_when_unroutable(
        broker, user_id):
    conn, ch = broker.conn_channel()
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="fanout")   # no bindings at all
    code, text, kind = broker_close(
        lambda: ch.basic_publish(x, "k", b"m", properties=pika.BasicProperties(
            user_id=user_id)), ch)
    assert (code, kind) == (406, "channel")
    assert text == ("PRECONDITION_FAILED - user_id property set to '%s' but "
                    "authenticated user was 'guest'" % user_id)
    assert conn.channel().is_open


def test_user_id_equal_to_the_login_is_delivered(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"m",
                     properties=pika.BasicProperties(user_id="guest"))
    _m, props, body = ch.basic_get(q, auto_ack=True)
    assert (body, props.user_id) == (b"m", "guest")
