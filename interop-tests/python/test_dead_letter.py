"""Dead-letter exchanges: every reason (rejected, expired, maxlen), the x-death
header field by field with its wire types, x-first-death-*, routing of the
dead-lettered copy (x-dead-letter-routing-key, CC/BCC), cycle detection, and
the cases that must NOT dead-letter. delivery_limit is in
test_delivery_limit.py.
"""
import time

import pika
import pytest

from conftest import (drain, get_typed, idle, message_count, ping,
                      wait_for_count)


def deaths(headers):
    """The x-death entries (typed tables), most recent first."""
    kind, items = headers["x-death"]
    assert kind == "A"
    assert all(k == "F" for k, _t in items)
    return [table for _k, table in items]


def assert_death(entry, reason, queue, exchange, keys, t0, t1, count=1,
                 original_expiration=None):
    """One x-death table: exactly these fields with these wire types
    (count a long, time a timestamp, routing-keys an array of longstr)."""
    fields = {"count", "reason", "queue", "time", "exchange", "routing-keys"}
    if original_expiration is not None:
        fields.add("original-expiration")
    assert set(entry) == fields
    assert entry["count"] == ("l", count)
    assert entry["reason"] == ("S", reason.encode())
    assert entry["queue"] == ("S", queue.encode())
    assert entry["exchange"] == ("S", exchange.encode())
    assert entry["routing-keys"] == ("A", [("S", k.encode()) for k in keys])
    kind, seconds = entry["time"]
    assert kind == "T"
    assert int(t0) - 1 <= seconds <= int(t1) + 1
    if original_expiration is not None:
        assert entry["original-expiration"] == \
            ("S", original_expiration.encode())


def assert_first_death(headers, reason, queue, exchange):
    assert headers["x-first-death-reason"] == ("S", reason.encode())
    assert headers["x-first-death-queue"] == ("S", queue.encode())
    assert headers["x-first-death-exchange"] == ("S", exchange.encode())


def dead_letter_target(broker, ch, kind="fanout", key=""):
    dlx, dq = broker.name("dlx"), broker.name("dlq")
    ch.exchange_declare(dlx, exchange_type=kind)
    ch.queue_declare(dq)
    ch.queue_bind(dq, dlx, routing_key=key)
    return dlx, dq


def source_queue(broker, ch, suffix="src", **args):
    q = broker.name(suffix)
    ch.queue_declare(q, arguments=args)
    return q


def reject_one(ch, q, how="reject"):
    method = ch.basic_get(q)[0]
    assert method is not None
    if how == "reject":
        ch.basic_reject(method.delivery_tag, requeue=False)
    else:
        ch.basic_nack(method.delivery_tag, requeue=False)


SENT_HEADERS = {"str": "v", "int": 7, "flag": True}
SENT_HEADERS_TYPED = {"str": ("S", b"v"), "int": ("I", 7), "flag": ("t", 1)}


def all_properties(expiration="60000"):
    return pika.BasicProperties(
        content_type="text/plain", content_encoding="utf-8",
        headers=dict(SENT_HEADERS), delivery_mode=2, priority=4,
        correlation_id="corr", reply_to="replies", expiration=expiration,
        message_id="mid-1", timestamp=1700000000, type="kind",
        user_id="guest", app_id="app", cluster_id="cl")


@pytest.mark.parametrize("how", ["reject", "nack"])
def test_rejected_message_dead_lettered_with_exact_x_death(
        broker, raw_content_headers, how):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"payload", properties=all_properties())
    t0 = time.time()
    reject_one(ch, q, how)
    assert wait_for_count(ch, dq, 1)
    t1 = time.time()
    method, props, body, headers = get_typed(ch, dq, raw_content_headers)
    assert body == b"payload"
    # Delivered from the DLX with the original routing key, as a fresh message.
    assert (method.exchange, method.routing_key) == (dlx, q)
    assert method.redelivered is False
    (entry,) = deaths(headers)
    assert_death(entry, "rejected", q, "", [q], t0, t1,
                 original_expiration="60000")
    assert_first_death(headers, "rejected", q, "")
    # Exactly the sent headers plus the four dead-letter ones.
    assert set(headers) == set(SENT_HEADERS) | {
        "x-death", "x-first-death-reason", "x-first-death-queue",
        "x-first-death-exchange"}
    for name, value in SENT_HEADERS_TYPED.items():
        assert headers[name] == value
    # Every other property survives; expiration is removed.
    sent = all_properties()
    assert props.expiration is None
    for name in ("content_type", "content_encoding", "delivery_mode",
                 "priority", "correlation_id", "reply_to", "message_id",
                 "timestamp", "type", "user_id", "app_id", "cluster_id"):
        assert getattr(props, name) == getattr(sent, name), name


def test_message_without_headers_gets_a_headers_table(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"bare")
    t0 = time.time()
    reject_one(ch, q)
    assert wait_for_count(ch, dq, 1)
    _m, props, _b, headers = get_typed(ch, dq, raw_content_headers)
    assert set(headers) == {"x-death", "x-first-death-reason",
                            "x-first-death-queue", "x-first-death-exchange"}
    # No per-message expiration, so no original-expiration field.
    assert_death(deaths(headers)[0], "rejected", q, "", [q], t0, time.time())
    assert props.expiration is None


def test_nack_multiple_dead_letters_all_in_order(broker):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    other = conn.channel()
    tags = [other.basic_get(q)[0].delivery_tag for _ in range(3)]
    other.basic_nack(tags[-1], multiple=True, requeue=False)
    assert wait_for_count(ch, dq, 3)
    assert drain(ch, dq) == [b"m0", b"m1", b"m2"]


def test_queue_ttl_expiry_x_death(broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx,
                                    "x-message-ttl": 100})
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", q, b"late")
    assert wait_for_count(ch, dq, 1)
    method, props, body, headers = get_typed(ch, dq, raw_content_headers)
    assert (body, method.exchange, method.routing_key) == (b"late", dlx, q)
    assert_death(deaths(headers)[0], "expired", q, "", [q], t0, time.time())
    assert_first_death(headers, "expired", q, "")
    assert props.expiration is None


def test_per_message_expiry_keeps_original_expiration_in_x_death(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", q, b"late",
                     properties=pika.BasicProperties(expiration="80"))
    assert wait_for_count(ch, dq, 1)
    _m, props, _b, headers = get_typed(ch, dq, raw_content_headers)
    assert_death(deaths(headers)[0], "expired", q, "", [q], t0, time.time(),
                 original_expiration="80")
    # The copy must not expire again on its way: the property is gone.
    assert props.expiration is None


def test_maxlen_x_death(broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx,
                                    "x-max-length": 1})
    ch.queue_bind(q, x, routing_key="rk")
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish(x, "rk", b"first",
                     properties=pika.BasicProperties(expiration="60000"))
    ch.basic_publish(x, "rk", b"second")
    assert wait_for_count(ch, dq, 1)
    method, props, body, headers = get_typed(ch, dq, raw_content_headers)
    assert (body, method.routing_key) == (b"first", "rk")
    assert_death(deaths(headers)[0], "maxlen", q, x, ["rk"], t0, time.time(),
                 original_expiration="60000")
    assert_first_death(headers, "maxlen", q, x)
    assert props.expiration is None


def test_dead_letter_routing_key_replaces_key_and_removes_cc(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx = broker.name("dlx")
    ch.exchange_declare(dlx, exchange_type="direct")
    targets = {}
    for key in ("orig", "cc1", "bcc1", "dl-key"):
        targets[key] = broker.name("t-" + key)
        ch.queue_declare(targets[key])
        ch.queue_bind(targets[key], dlx, routing_key=key)
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx,
                                    "x-dead-letter-routing-key": "dl-key"})
    for key in ("orig", "cc1", "bcc1"):
        ch.queue_bind(q, x, routing_key=key)
    ch.confirm_delivery()
    ch.basic_publish(x, "orig", b"m", properties=pika.BasicProperties(
        headers={"CC": ["cc1"], "BCC": ["bcc1"]}))
    t0 = time.time()
    reject_one(ch, q)
    assert wait_for_count(ch, targets["dl-key"], 1)
    method, _p, _b, headers = get_typed(ch, targets["dl-key"],
                                        raw_content_headers)
    assert method.routing_key == "dl-key"
    assert "CC" not in headers and "BCC" not in headers
    # x-death still names the original keys: the routing key and CC, not BCC.
    assert_death(deaths(headers)[0], "rejected", q, x, ["orig", "cc1"],
                 t0, time.time())
    for key in ("orig", "cc1", "bcc1"):
        assert message_count(ch, targets[key]) == 0


def test_without_dead_letter_routing_key_all_original_keys_route(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx = broker.name("dlx")
    ch.exchange_declare(dlx, exchange_type="direct")
    targets = {}
    for key in ("orig", "cc1", "bcc1", "other"):
        targets[key] = broker.name("t-" + key)
        ch.queue_declare(targets[key])
        ch.queue_bind(targets[key], dlx, routing_key=key)
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.queue_bind(q, x, routing_key="orig")
    ch.confirm_delivery()
    ch.basic_publish(x, "orig", b"m", properties=pika.BasicProperties(
        headers={"CC": ["cc1"], "BCC": ["bcc1"]}))
    t0 = time.time()
    reject_one(ch, q)
    # The copy is routed with the message's routing key, CC and BCC keys.
    for key in ("orig", "cc1", "bcc1"):
        assert wait_for_count(ch, targets[key], 1), key
    assert message_count(ch, targets["other"]) == 0
    for key in ("orig", "cc1", "bcc1"):
        method, _p, _b, headers = get_typed(ch, targets[key],
                                            raw_content_headers)
        assert method.routing_key == "orig"
        assert headers["CC"] == ("A", [("S", b"cc1")])
        assert "BCC" not in headers
        assert_death(deaths(headers)[0], "rejected", q, x, ["orig", "cc1"],
                     t0, time.time())


def test_dead_letter_via_default_exchange_and_routing_key(
        broker, raw_content_headers):
    ch = broker.channel()
    dq = broker.name("dlq")
    ch.queue_declare(dq)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": "",
                                    "x-dead-letter-routing-key": dq})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    reject_one(ch, q)
    assert wait_for_count(ch, dq, 1)
    method, _p, body, _h = get_typed(ch, dq, raw_content_headers)
    assert (method.exchange, method.routing_key, body) == ("", dq, b"m")


def test_second_death_elsewhere_is_prepended_and_first_death_kept(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    first = source_queue(broker, ch, "first",
                         **{"x-dead-letter-exchange": "",
                            "x-dead-letter-routing-key":
                                broker.prefix + "second"})
    second = source_queue(broker, ch, "second",
                          **{"x-dead-letter-exchange": dlx,
                             "x-message-ttl": 100})
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", first, b"m")
    reject_one(ch, first)               # rejected in first -> second
    assert wait_for_count(ch, dq, 1)    # expires in second -> dlq
    _m, _p, body, headers = get_typed(ch, dq, raw_content_headers)
    t1 = time.time()
    newest, oldest = deaths(headers)
    assert_death(newest, "expired", second, "", [second], t0, t1)
    assert_death(oldest, "rejected", first, "", [first], t0, t1)
    assert_first_death(headers, "rejected", first, "")


def test_repeated_death_increments_count_and_moves_entry_to_front(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    x = broker.name("x")
    ch.exchange_declare(x, exchange_type="direct")
    a = source_queue(broker, ch, "a", **{"x-dead-letter-exchange": dlx})
    b = source_queue(broker, ch, "b", **{"x-dead-letter-exchange": dlx})
    ch.queue_bind(a, x, routing_key="ka")
    ch.confirm_delivery()

    def die_in(queue, exchange, key, props):
        ch.basic_publish(exchange, key, b"m", properties=props)
        reject_one(ch, queue)
        assert wait_for_count(ch, dq, 1)
        return get_typed(ch, dq, raw_content_headers)

    t0 = time.time()
    _m, props, _b, h1 = die_in(a, x, "ka", pika.BasicProperties())
    first_time = deaths(h1)[0]["time"]
    # Send the dead-lettered copy, headers and all, through b and back to a.
    _m, props, _b, h2 = die_in(b, "", b, props)
    time.sleep(1.1)   # so a refreshed timestamp would differ
    _m, props, _b, h3 = die_in(a, "", a, props)
    t1 = time.time()
    entries = deaths(h3)
    assert len(entries) == 2
    # The (a, rejected) entry is counted twice and comes first again; it
    # keeps its first time, exchange and routing keys.
    assert_death(entries[0], "rejected", a, x, ["ka"], t0, t1, count=2)
    assert entries[0]["time"] == first_time
    assert_death(entries[1], "rejected", b, "", [b], t0, t1, count=1)
    assert_first_death(h3, "rejected", a, x)


def test_expired_message_dead_lettered_back_to_its_queue_is_dropped(broker):
    ch = broker.channel()
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": "",
                                    "x-message-ttl": 100})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"cycle")   # routes back to q by its own name
    assert wait_for_count(ch, q, 0)
    # Were it re-queued it would be back within a few TTLs; sample a while.
    for _ in range(8):
        idle(ch.connection, 0.05)
        assert message_count(ch, q) == 0


def test_maxlen_dead_lettered_back_to_its_queue_is_dropped(broker):
    ch = broker.channel()
    q = broker.name("q")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": "",
                                   "x-dead-letter-routing-key": q,
                                   "x-max-length": 1})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"one")
    ch.basic_publish("", q, b"two")
    idle(ch.connection)
    assert drain(ch, q) == [b"two"]


def test_rejected_message_dead_lettered_back_to_its_queue_is_kept(
        broker, raw_content_headers):
    ch = broker.channel()
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": ""})
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", q, b"again")
    for _ in range(3):
        reject_one(ch, q)
        assert wait_for_count(ch, q, 1)
    method, _p, body, headers = get_typed(ch, q, raw_content_headers)
    assert (body, method.exchange, method.routing_key) == (b"again", "", q)
    (entry,) = deaths(headers)
    assert_death(entry, "rejected", q, "", [q], t0, time.time(), count=3)


def test_cycle_drops_only_the_copy_for_the_cycling_queue(
        broker, raw_content_headers):
    ch = broker.channel()
    dlx, other = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx,
                                    "x-message-ttl": 100})
    ch.queue_bind(q, dlx)
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", q, b"m")
    assert wait_for_count(ch, other, 1)
    # A copy re-queued in q would expire again and reach other a second time.
    idle(ch.connection, 0.5)
    assert message_count(ch, q) == 0
    assert message_count(ch, other) == 1
    _m, _p, body, headers = get_typed(ch, other, raw_content_headers)
    assert body == b"m"
    assert_death(deaths(headers)[0], "expired", q, "", [q], t0, time.time())


def test_expiry_cycle_through_two_queues_is_dropped(
        broker, raw_content_headers):
    # a expires into b; b expires into a fanout reaching a and an observer.
    # The copy for a has died in a before with no rejection: dropped.
    ch = broker.channel()
    fan, observer = dead_letter_target(broker, ch)
    a, b = broker.name("a"), broker.name("b")
    ch.queue_declare(a, arguments={"x-message-ttl": 80,
                                   "x-dead-letter-exchange": "",
                                   "x-dead-letter-routing-key": b})
    ch.queue_declare(b, arguments={"x-message-ttl": 80,
                                   "x-dead-letter-exchange": fan})
    ch.queue_bind(a, fan)
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", a, b"ping-pong")
    assert wait_for_count(ch, observer, 1)
    idle(ch.connection, 0.5)
    assert (message_count(ch, a), message_count(ch, b)) == (0, 0)
    assert message_count(ch, observer) == 1
    _m, _p, _b, headers = get_typed(ch, observer, raw_content_headers)
    t1 = time.time()
    newest, oldest = deaths(headers)
    assert_death(newest, "expired", b, "", [b], t0, t1)
    assert_death(oldest, "expired", a, "", [a], t0, t1)


def test_cycle_with_a_rejection_in_it_is_not_dropped(
        broker, raw_content_headers):
    ch = broker.channel()
    a, b = broker.name("a"), broker.name("b")
    ch.queue_declare(a, arguments={"x-message-ttl": 80,
                                   "x-dead-letter-exchange": "",
                                   "x-dead-letter-routing-key": b})
    ch.queue_declare(b, arguments={"x-dead-letter-exchange": "",
                                   "x-dead-letter-routing-key": a})
    ch.confirm_delivery()
    t0 = time.time()
    ch.basic_publish("", a, b"m")
    assert wait_for_count(ch, b, 1)      # expired in a
    reject_one(ch, b)                    # rejected in b -> a
    # Expires in a again; a client rejection broke the cycle, so it lands in
    # b once more instead of being dropped.
    assert wait_for_count(ch, b, 1)
    _m, _p, _b, headers = get_typed(ch, b, raw_content_headers)
    t1 = time.time()
    newest, oldest = deaths(headers)
    assert_death(newest, "expired", a, "", [a], t0, t1, count=2)
    assert_death(oldest, "rejected", b, "", [b], t0, t1, count=1)
    assert_first_death(headers, "expired", a, "")


def test_missing_dead_letter_exchange_drops_silently(broker):
    ch = broker.channel()
    q = source_queue(broker, ch, **{
        "x-dead-letter-exchange": broker.name("missing")})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    reject_one(ch, q)
    ping(ch)
    assert ch.is_open
    assert message_count(ch, q) == 0


def test_unroutable_dead_letter_is_dropped(broker):
    ch = broker.channel()
    dlx = broker.name("dlx")
    ch.exchange_declare(dlx, exchange_type="direct")
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    reject_one(ch, q)
    ping(ch)
    idle(ch.connection)
    assert message_count(ch, q) == 0


def test_dead_letter_exchange_alternate_exchange_catches_it(broker):
    ch = broker.channel()
    ae, ae_q = broker.name("ae"), broker.name("aeq")
    ch.exchange_declare(ae, exchange_type="fanout")
    ch.queue_declare(ae_q)
    ch.queue_bind(ae_q, ae)
    dlx = broker.name("dlx")
    ch.exchange_declare(dlx, exchange_type="direct",
                        arguments={"alternate-exchange": ae})
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    reject_one(ch, q)
    assert wait_for_count(ch, ae_q, 1)
    assert drain(ch, ae_q) == [b"m"]


def test_requeue_true_does_not_dead_letter(broker):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    method = ch.basic_get(q)[0]
    ch.basic_reject(method.delivery_tag, requeue=True)
    assert wait_for_count(ch, q, 1)
    idle(ch.connection)
    assert message_count(ch, dq) == 0


def test_closing_channel_requeues_instead_of_dead_lettering(broker):
    conn, ch = broker.conn_channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"m")
    other = conn.channel()
    assert other.basic_get(q)[0] is not None
    other.close()
    assert wait_for_count(ch, q, 1)
    idle(conn)
    assert message_count(ch, dq) == 0


@pytest.mark.parametrize("how", ["purge", "delete"])
def test_purge_and_delete_do_not_dead_letter(broker, how):
    ch = broker.channel()
    dlx, dq = dead_letter_target(broker, ch)
    q = source_queue(broker, ch, **{"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    if how == "purge":
        assert ch.queue_purge(q).method.message_count == 3
    else:
        assert ch.queue_delete(q).method.message_count == 3
    idle(ch.connection)
    assert message_count(ch, dq) == 0
