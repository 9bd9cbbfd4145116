"""Connection-level behaviour: handshake, server properties, login and vhost
refusal, tuning (frame_max, channel_max, heartbeat), channel open/close and
channel.flow.
"""
import hashlib
import re

import pika
import pika.exceptions as pe
import pytest

from conftest import (broker_close, drain, idle, params, ping)

CAPABILITIES = [
    "publisher_confirms", "exchange_exchange_bindings", "basic.nack",
    "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
    "authentication_failure_close", "per_consumer_qos", "direct_reply_to",
]


def refused_close(exc):
    """pika reports a refused handshake as an exception whose text embeds the
    broker's connection.close: "...: (403) 'ACCESS_REFUSED - ...'"."""
    m = re.search(r"ConnectionClosedByBroker: \((\d+)\) '(.*)'", str(exc))
    assert m, "no broker connection.close in %r" % (exc,)
    return int(m.group(1)), m.group(2)


def test_server_properties_carry_product_and_identity_strings(broker):
    conn = broker.connect()
    props = conn._impl.server_properties
    for key in ("product", "version", "platform", "copyright", "information"):
        assert isinstance(props.get(key), str) and props[key], key


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_server_capability_is_advertised_true(broker, capability):
    conn = broker.connect()
    caps = conn._impl.server_properties["capabilities"]
    assert caps.get(capability) is True


def test_wrong_password_is_refused_with_403_access_refused():
    # pika advertises authentication_failure_close, so the broker must say why.
    with pytest.raises(pe.ProbableAuthenticationError) as info:
        pika.BlockingConnection(
            params(credentials=pika.PlainCredentials("guest", "wrong")))
    code, text = refused_close(info.value)
    assert code == 403
    assert text.startswith("ACCESS_REFUSED - ")


def test_unknown_user_is_refused_with_403_access_refused():
    with pytest.raises(pe.ProbableAuthenticationError) as info:
        pika.BlockingConnection(
            params(credentials=pika.PlainCredentials("no-such-user-py", "x")))
    code, text = refused_close(info.value)
    assert code == 403
    assert text.startswith("ACCESS_REFUSED - ")


def test_unknown_vhost_is_connection_close_530_not_allowed():
    with pytest.raises(pe.ProbableAccessDeniedError) as info:
        pika.BlockingConnection(params(virtual_host="no-such-vhost-py"))
    code, text = refused_close(info.value)
    assert code == 530
    assert text.startswith("NOT_ALLOWED - ")


def test_broker_offers_usable_tuning_limits(broker):
    conn = broker.connect()
    # pika keeps the negotiated values (min of both sides) in its parameters.
    assert conn._impl.params.frame_max >= 4096
    assert conn._impl.params.channel_max >= 1


def test_small_frame_max_still_carries_large_messages(broker):
    conn, ch = broker.conn_channel(frame_max=4096)
    assert conn._impl.params.frame_max == 4096
    q = broker.name("q")
    ch.queue_declare(q)
    bodies = [bytes(range(256)) * 800, b"y" * (4096 - 8), b"z" * (4096 - 7)]
    for body in bodies:
        ch.basic_publish("", q, body)
    got = drain(ch, q)
    assert [hashlib.sha256(b).hexdigest() for b in got] == \
        [hashlib.sha256(b).hexdigest() for b in bodies]


def test_body_frame_larger_than_frame_max_is_connection_close_501(broker):
    conn, ch = broker.conn_channel(frame_max=4096)
    q = broker.name("q")
    ch.queue_declare(q)
    # Make pika put the whole body in one frame, well past the 4096 limit.
    conn._impl._body_max_length = 100000
    code, text, kind = broker_close(
        lambda: ch.basic_publish("", q, b"x" * 6000), ch)
    assert (code, kind) == (501, "connection")
    assert text.startswith("FRAME_ERROR - ")


def test_heartbeat_keeps_idle_connection_alive_for_three_intervals(broker):
    conn, ch = broker.conn_channel(heartbeat=1)
    assert conn._impl.params.heartbeat == 1
    idle(conn, 3.5)
    assert conn.is_open
    # The broker must have honoured the short interval and sent heartbeats.
    assert conn._impl._heartbeat_checker._heartbeat_frames_received >= 1
    ping(ch)
    q = broker.name("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"after idle")
    assert drain(ch, q) == [b"after idle"]


def test_channel_beyond_channel_max_is_connection_close_530(broker):
    conn = broker.connect(channel_max=3)
    assert conn._impl.params.channel_max == 3
    channels = [conn.channel() for _ in range(3)]
    for ch in channels:
        ping(ch)
    code, text, kind = broker_close(lambda: conn.channel(channel_number=4))
    assert (code, kind) == (530, "connection")
    assert text.startswith("NOT_ALLOWED - ")
    assert conn.is_closed


def test_client_initiated_close_completes_and_frees_exclusive_queue(broker):
    conn, ch = broker.conn_channel()
    q = broker.name("q")
    ch.queue_declare(q, exclusive=True)
    conn.close()
    assert conn.is_closed
    other = broker.channel()
    code, _text, kind = broker_close(
        lambda: other.queue_declare(q, passive=True))
    assert (code, kind) == (404, "channel")


def test_closed_channel_number_can_be_reopened(broker):
    conn = broker.connect()
    ch = conn.channel(channel_number=7)
    ping(ch)
    ch.close()
    assert ch.is_closed
    again = conn.channel(channel_number=7)
    ping(again)
    assert again.channel_number == 7


def test_many_channels_work_independently(broker):
    conn = broker.connect()
    channels = [conn.channel() for _ in range(10)]
    queues = []
    for i, ch in enumerate(channels):
        q = broker.name("q%d" % i)
        ch.queue_declare(q)
        ch.basic_publish("", q, b"m%d" % i)
        queues.append(q)
    for i, (ch, q) in enumerate(zip(channels, queues)):
        assert drain(ch, q) == [b"m%d" % i]


def test_channel_flow_active_true_is_acknowledged(broker):
    ch = broker.channel()
    assert ch.flow(True) is True
    ping(ch)


def test_channel_flow_active_false_is_connection_close_540(broker):
    # RabbitMQ does not implement flow(active=false); it closes the connection.
    ch = broker.channel()
    code, text, kind = broker_close(lambda: ch.flow(False), ch)
    assert (code, kind) == (540, "connection")
    assert text.startswith("NOT_IMPLEMENTED - ")
