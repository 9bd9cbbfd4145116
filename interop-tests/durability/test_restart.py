"""What survives a restart of warren, and what does not.

Each test builds state, stops the broker with SIGTERM (a clean shutdown that
must write everything) or SIGKILL (a crash, after which only what was synced
counts), starts it again on the same data folder and looks.
"""
import random
import signal
import subprocess
import time
from datetime import datetime
from decimal import Decimal

import pika
import pika.exceptions as pe
import pytest

from conftest import expect_close, free_port, get_all, ping, port_open, publish_confirmed

PERSISTENT = pika.BasicProperties(delivery_mode=2)
TRANSIENT = pika.BasicProperties(delivery_mode=1)


def settle(broker, sig):
    """Before a crash, make sure the unconfirmed work so far (declarations,
    acks, purges) is on disk; a clean shutdown has to manage on its own."""
    if sig == signal.SIGKILL:
        broker.sync()


def bodies(messages):
    return [body for _m, _p, body in messages]


def passive_count(ch, queue):
    return ch.queue_declare(queue, passive=True).method.message_count


def assert_gone(broker, declare):
    """declare(ch) is a passive declare of something that must not exist."""
    ch = broker.channel()
    assert expect_close(lambda: declare(ch)) == 404


# -- topology --------------------------------------------------------------


def test_durable_topology_survives(broker, sig, names):
    ae, x, x2, dlx, hx, gone_x = (names(s) for s in ("ae", "x", "x2", "dlx", "hx", "gone-x"))
    q, q2, aq, dlq = (names(s) for s in ("q", "q2", "aq", "dlq"))
    x_args = {"alternate-exchange": ae}
    q_args = {"x-max-length": 1000, "x-message-ttl": 86400000, "x-dead-letter-exchange": dlx}

    ch = broker.channel()
    ch.exchange_declare(ae, "fanout", durable=True)
    ch.exchange_declare(x, "direct", durable=True, arguments=x_args)
    ch.exchange_declare(x2, "topic", durable=True)
    ch.exchange_declare(dlx, "fanout", durable=True)
    ch.exchange_declare(hx, "headers", durable=True)
    ch.exchange_declare(gone_x, "direct", durable=True)
    ch.exchange_delete(gone_x)
    ch.queue_declare(q, durable=True, arguments=q_args)
    for name in (q2, aq, dlq):
        ch.queue_declare(name, durable=True)
    ch.queue_bind(q, x, "k")
    ch.queue_bind(q, x, "unbound")
    ch.queue_unbind(q, x, "unbound")
    ch.exchange_bind(destination=x2, source=x, routing_key="to.x2")
    ch.queue_bind(q2, x2, "to.*")
    ch.queue_bind(aq, ae)
    ch.queue_bind(dlq, dlx)
    ch.queue_bind(q, hx, arguments={"x-match": "all", "kind": "a"})
    settle(broker, sig)

    broker.restart(sig)

    ch = broker.channel()
    for name, kind in ((ae, "fanout"), (x, "direct"), (x2, "topic"), (dlx, "fanout"),
                       (hx, "headers")):
        ch.exchange_declare(name, kind, passive=True)
    for name in (q, q2, aq, dlq):
        assert passive_count(ch, name) == 0, name
    assert_gone(broker, lambda c: c.exchange_declare(gone_x, "direct", passive=True))

    # Route through every binding; mandatory makes an unroutable one raise.
    # Transient messages: this test is about the definitions alone.
    pub = broker.channel(confirm=True)
    publish_confirmed(pub, "k", b"via-k", TRANSIENT, exchange=x)
    publish_confirmed(pub, "to.x2", b"via-exchange-binding", TRANSIENT, exchange=x)
    publish_confirmed(pub, "unbound", b"via-alternate", TRANSIENT, exchange=x)
    publish_confirmed(pub, "", b"via-headers", exchange=hx,
                      props=pika.BasicProperties(delivery_mode=1, headers={"kind": "a"}))
    with pytest.raises(pe.UnroutableError):
        publish_confirmed(pub, "", b"no-match", exchange=hx,
                          props=pika.BasicProperties(delivery_mode=1, headers={"kind": "b"}))
    assert bodies(get_all(ch, q2)) == [b"via-exchange-binding"]
    assert bodies(get_all(ch, aq)) == [b"via-alternate"]
    got = get_all(ch, q, ack=False)
    assert bodies(got) == [b"via-k", b"via-headers"]

    # The queue still dead-letters to its recovered x-dead-letter-exchange.
    ch.basic_reject(got[0][0].delivery_tag, requeue=False)
    ch.basic_ack(got[1][0].delivery_tag)
    deadline = time.monotonic() + 5
    dead = []
    while not dead and time.monotonic() < deadline:
        dead = get_all(ch, dlq)
    assert bodies(dead) == [b"via-k"]
    assert dead[0][1].headers["x-death"][0]["reason"] == "rejected"

    # Redeclaring with the stored definition is fine; a different one is not.
    ch.queue_declare(q, durable=True, arguments=q_args)
    ch.exchange_declare(x, "direct", durable=True, arguments=x_args)
    ch.exchange_declare(x2, "topic", durable=True)
    for declare in (
            lambda c: c.queue_declare(q, durable=True, arguments=dict(q_args, **{"x-max-length": 999})),
            lambda c: c.queue_declare(q, durable=True, arguments={k: v for k, v in q_args.items()
                                                                  if k != "x-dead-letter-exchange"}),
            lambda c: c.queue_declare(q2, durable=False),
            lambda c: c.exchange_declare(x, "topic", durable=True, arguments=x_args),
            lambda c: c.exchange_declare(x2, "topic", durable=False)):
        c = broker.channel()
        assert expect_close(lambda: declare(c)) == 406


def test_transient_definitions_do_not_survive(broker, sig, names):
    tq, tx, eq, dq = names("tq"), names("tx"), names("eq"), names("dq")
    ch = broker.channel()
    ch.queue_declare(tq, durable=False)
    ch.exchange_declare(tx, "direct", durable=False)
    # A durable exclusive queue is still tied to its connection, open at the stop.
    ch.queue_declare(eq, durable=True, exclusive=True)
    ch.queue_declare(dq, durable=True)
    ch.queue_bind(dq, tx, "k")
    settle(broker, sig)

    broker.restart(sig)

    assert_gone(broker, lambda c: c.queue_declare(tq, passive=True))
    assert_gone(broker, lambda c: c.queue_declare(eq, passive=True))
    assert_gone(broker, lambda c: c.exchange_declare(tx, "direct", passive=True))
    ch = broker.channel(confirm=True)
    assert passive_count(ch, dq) == 0
    # The binding to a transient exchange went with it.
    ch.exchange_declare(tx, "direct", durable=False)
    with pytest.raises(pe.UnroutableError):
        publish_confirmed(ch, "k", b"x", exchange=tx)


# -- messages --------------------------------------------------------------


HEADERS = {
    "str": "text \u00e9",
    "bytes": b"\x00\x01\xfe\xff",
    "int": 42,
    "negative": -7,
    "long": 2 ** 40,
    "true": True,
    "false": False,
    "void": None,
    "decimal": Decimal("3.14"),
    "time": datetime(2024, 1, 2, 3, 4, 5),
    "array": [1, "two", {"three": 3}, [4, b"5", []]],
    "nested": {"a": {"b": {"c": "deep", "d": [True, None]}}, "empty": {}},
}


def full_props(i):
    """All 14 basic properties."""
    return pika.BasicProperties(
        content_type="application/x-warren-test", content_encoding="identity",
        headers=dict(HEADERS, index=i), delivery_mode=2, priority=5,
        correlation_id="corr-%d" % i, reply_to="reply.queue", expiration="86400000",
        message_id="msg-%d" % i, timestamp=1700000000 + i, type="test.type",
        user_id="guest", app_id="durability-suite", cluster_id="cluster-x")


@pytest.fixture
def raw_content_headers(monkeypatch):
    """Raw property bytes (flags + property list) of every content header
    frame received, in order: comparing bytes, not pika's decoding of them."""
    recorded = []
    real_decode = pika.frame.decode_frame

    def recording_decode(data):
        consumed, frame_obj = real_decode(data)
        if isinstance(frame_obj, pika.frame.Header):
            # frame header (7), class-id, weight, body-size (12); frame-end (1)
            recorded.append(bytes(data[7 + 12:consumed - 1]))
        return consumed, frame_obj

    monkeypatch.setattr(pika.frame, "decode_frame", recording_decode)
    return recorded


def test_persistent_messages_survive_byte_identical(broker, sig, names, raw_content_headers):
    rnd = random.Random(1)
    sizes = [0, 5, 1024, 17, 1 << 20, 0, 3, 1024]
    sent = [(full_props(i), rnd.randbytes(n)) for i, n in enumerate(sizes)]
    q = names("q")
    ch = broker.channel(confirm=True)
    ch.queue_declare(q, durable=True)
    for props, body in sent:
        publish_confirmed(ch, q, body, props)

    broker.restart(sig)

    ch = broker.channel()
    assert passive_count(ch, q) == len(sent)
    del raw_content_headers[:]
    got = get_all(ch, q)
    assert len(got) == len(sent)
    for i, ((props, body), (method, got_props, got_body)) in enumerate(zip(sent, got)):
        assert got_body == body, "message %d: body of %d bytes differs" % (i, len(body))
        assert not method.redelivered, "message %d" % i
        assert got_props == props, "message %d" % i
        assert raw_content_headers[i] == b"".join(props.encode()), \
            "message %d: property bytes differ" % i


def test_priorities_and_ttls_survive(broker, sig, names):
    pq, tq, dlq = names("prio"), names("ttl"), names("dlq")
    ch = broker.channel(confirm=True)
    ch.queue_declare(pq, durable=True, arguments={"x-max-priority": 10})
    ch.queue_declare(dlq, durable=True)
    ch.queue_declare(tq, durable=True, arguments={
        "x-message-ttl": 300, "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dlq})
    for prio in (1, 9, 5, 0, 9):
        publish_confirmed(ch, pq, b"p%d" % prio,
                          pika.BasicProperties(delivery_mode=2, priority=prio))
    publish_confirmed(ch, tq, b"expires", PERSISTENT)

    broker.restart(sig)

    ch = broker.channel()
    # priority order, FIFO within a priority, as before the restart
    assert bodies(get_all(ch, pq)) == [b"p9", b"p9", b"p5", b"p1", b"p0"]
    # the queue's TTL still applies after the restart: the message is dead-lettered
    deadline = time.monotonic() + 5
    while (time.monotonic() < deadline and
           ch.queue_declare(dlq, passive=True).method.message_count == 0):
        time.sleep(0.05)
    got = get_all(ch, dlq)
    assert bodies(got) == [b"expires"]


def test_transient_messages_do_not_survive(broker, sig, names):
    dq, nq = names("durable"), names("transient")
    ch = broker.channel(confirm=True)
    ch.queue_declare(dq, durable=True)
    ch.queue_declare(nq, durable=False)
    publish_confirmed(ch, dq, b"p1", PERSISTENT)
    publish_confirmed(ch, dq, b"t1", TRANSIENT)
    publish_confirmed(ch, dq, b"p2", PERSISTENT)
    publish_confirmed(ch, dq, b"t2", pika.BasicProperties())  # no delivery mode: transient
    publish_confirmed(ch, nq, b"p-in-transient-queue", PERSISTENT)
    publish_confirmed(ch, dq, b"p3", PERSISTENT)

    broker.restart(sig)

    ch = broker.channel()
    assert bodies(get_all(ch, dq)) == [b"p1", b"p2", b"p3"]
    assert_gone(broker, lambda c: c.queue_declare(nq, passive=True))


def test_delivered_unacked_come_back_redelivered(broker, sig, names):
    q, cq = names("get"), names("consume")
    ch = broker.channel(confirm=True)
    ch.queue_declare(q, durable=True)
    ch.queue_declare(cq, durable=True)
    for i in range(6):
        publish_confirmed(ch, q, b"m%d" % i)
        publish_confirmed(ch, cq, b"c%d" % i)

    # basic.get: m0 acked, m1 and m2 delivered and left unacked.
    conn = broker.connect()
    getter = conn.channel()
    method, _p, body = getter.basic_get(q)
    assert body == b"m0"
    getter.basic_ack(method.delivery_tag)
    for expect in (b"m1", b"m2"):
        assert getter.basic_get(q)[2] == expect
    ping(getter)

    # basic.consume with a prefetch of 3: c0 acked, c1 and c2 left unacked.
    # The consumer is cancelled before the ack, so the ack frees no room
    # for c3 to be delivered.
    consumer = conn.channel()
    consumer.basic_qos(prefetch_count=3)
    delivered = []
    tag = consumer.basic_consume(cq, lambda c, m, p, b: delivered.append((m, b)))
    deadline = time.monotonic() + 5
    while len(delivered) < 3 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    consumer.basic_cancel(tag)
    assert [b for _m, b in delivered] == [b"c0", b"c1", b"c2"]
    consumer.basic_ack(delivered[0][0].delivery_tag)
    ping(consumer)
    settle(broker, sig)

    broker.restart(sig)  # with the consuming connection still open

    ch = broker.channel()
    for queue, prefix in ((q, b"m"), (cq, b"c")):
        got = [(body, method.redelivered) for method, _p, body in get_all(ch, queue)]
        assert got == [(prefix + b"1", True), (prefix + b"2", True), (prefix + b"3", False),
                       (prefix + b"4", False), (prefix + b"5", False)], queue


def test_purge_and_delete_are_kept(broker, sig, names):
    pq, dq = names("purged"), names("deleted")
    ch = broker.channel(confirm=True)
    for queue in (pq, dq):
        ch.queue_declare(queue, durable=True)
        for i in range(5):
            publish_confirmed(ch, queue, b"old-%d" % i)
    ch.queue_purge(pq)
    ch.queue_delete(dq)
    settle(broker, sig)

    broker.restart(sig)

    ch = broker.channel()
    assert passive_count(ch, pq) == 0
    assert get_all(ch, pq) == []
    assert_gone(broker, lambda c: c.queue_declare(dq, passive=True))

    # New messages in the purged queue and in a new queue of the deleted
    # one's name must not bring back any old entry.
    ch = broker.channel(confirm=True)
    ch.queue_declare(dq, durable=True)
    publish_confirmed(ch, pq, b"new-p")
    publish_confirmed(ch, dq, b"new-d")
    broker.restart(sig)
    ch = broker.channel()
    assert bodies(get_all(ch, pq)) == [b"new-p"]
    assert bodies(get_all(ch, dq)) == [b"new-d"]


def test_purge_leaves_unacked_messages_to_come_back(broker, sig, names):
    # basic.purge takes the ready messages only: one that is out for delivery
    # when the broker goes down comes back, redelivered.
    q = names("purged-held")
    ch = broker.channel(confirm=True)
    ch.queue_declare(q, durable=True)
    for i in range(4):
        publish_confirmed(ch, q, b"m%d" % i)
    holder = broker.channel()
    method, _props, body = holder.basic_get(q, auto_ack=False)
    assert body == b"m0"
    assert holder.queue_purge(q).method.message_count == 3
    settle(broker, sig)

    broker.restart(sig)

    ch = broker.channel()
    got = get_all(ch, q)
    assert bodies(got) == [b"m0"]
    assert got[0][0].redelivered is True


def test_message_in_two_queues(broker, sig, names):
    fx, qa, qb = names("fanout"), names("a"), names("b")
    ch = broker.channel(confirm=True)
    ch.exchange_declare(fx, "fanout", durable=True)
    for queue in (qa, qb):
        ch.queue_declare(queue, durable=True)
        ch.queue_bind(queue, fx)
    sent = [b"shared-%d" % i + bytes(100 * i) for i in range(5)]
    for body in sent:
        publish_confirmed(ch, "", body, exchange=fx)

    broker.restart(sig)

    ch = broker.channel()
    assert passive_count(ch, qa) == len(sent)
    assert passive_count(ch, qb) == len(sent)
    assert bodies(get_all(ch, qa, ack=True)) == sent
    ping(ch)
    settle(broker, sig)

    broker.restart(sig)

    ch = broker.channel()
    assert get_all(ch, qa) == []
    got = get_all(ch, qb)
    assert bodies(got) == sent
    assert not any(method.redelivered for method, _p, _b in got)


# -- the data folder, users, vhosts ------------------------------------------


def test_second_broker_on_same_folder_refused(make_broker, names):
    first = make_broker()
    q = names("q")
    ch = first.channel(confirm=True)
    ch.queue_declare(q, durable=True)
    publish_confirmed(ch, q, b"before")

    for attempt in range(2):  # the refused one must not have broken the lock
        port = free_port()
        second = subprocess.Popen(first.argv(port=port), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, cwd=first.log_dir)
        try:
            deadline = time.monotonic() + 30
            while second.poll() is None and time.monotonic() < deadline:
                assert not port_open(port), \
                    "a second broker (attempt %d) started on a data folder in use" % (attempt + 1)
                time.sleep(0.02)
            assert second.poll() is not None, "the second broker neither started nor exited"
        finally:
            if second.poll() is None:
                second.kill()
            second.wait()
        err = second.stderr.read().decode(errors="replace")
        second.stderr.close()
        assert second.returncode != 0, "second broker (attempt %d) exited 0" % (attempt + 1)
        assert ("data folder" in err.lower() or "data dir" in err.lower()
                or first.data_dir in err), "refusal does not mention the data folder: %r" % err
        assert first.running()

    publish_confirmed(ch, q, b"after")
    first.restart(signal.SIGTERM)
    assert bodies(get_all(first.channel(), q)) == [b"before", b"after"]


def test_default_user_and_vhost_after_restart(broker, sig):
    settle(broker, sig)
    for _round in range(2):
        broker.restart(sig)
        ch = broker.channel()
        for name, kind in (("amq.direct", "direct"), ("amq.fanout", "fanout"),
                           ("amq.topic", "topic"), ("amq.headers", "headers")):
            ch.exchange_declare(name, kind, passive=True)
        with pytest.raises(pe.ProbableAuthenticationError):
            broker.connect(credentials=pika.PlainCredentials("guest", "wrong"))
        with pytest.raises(pe.ProbableAccessDeniedError):
            broker.connect(virtual_host="no-such-vhost")
