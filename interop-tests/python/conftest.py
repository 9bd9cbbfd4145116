"""Shared fixtures for the pika interop suite.

The broker address comes from INTEROP_HOST / INTEROP_PORT (guest/guest, vhost
"/"). Every test gets its own name prefix and a factory whose connections are
closed, and whose named queues and exchanges are deleted, at teardown.
"""
import os
import struct
import time
import uuid

import pika
import pika.exceptions as pe
import pytest

HOST = os.environ.get("INTEROP_HOST", "127.0.0.1")
PORT = int(os.environ.get("INTEROP_PORT", "5672"))

# One random tag per run so concurrent runs (and other suites) never collide.
RUN_TAG = uuid.uuid4().hex[:8]
_counter = [0]

# How long to wait for something that should arrive, and how long to watch
# for something that should not.
ARRIVE_TIMEOUT = 5.0
QUIET_WAIT = 0.4


def params(**overrides):
    """Connection parameters for the broker under test."""
    kw = dict(
        host=HOST,
        port=PORT,
        virtual_host="/",
        credentials=pika.PlainCredentials("guest", "guest"),
        connection_attempts=1,
        socket_timeout=5,
        blocked_connection_timeout=10,
    )
    kw.update(overrides)
    return pika.ConnectionParameters(**kw)


def ping(ch):
    """A harmless synchronous round trip: surfaces any pending channel or
    connection close the broker has sent for earlier asynchronous methods."""
    ch.exchange_declare("amq.direct", exchange_type="direct", passive=True)


def wait_until(conn, predicate, timeout=ARRIVE_TIMEOUT):
    """Drive the connection's I/O until predicate() is true or time runs out;
    returns the final predicate value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        conn.process_data_events(time_limit=min(0.05, left))
    return predicate()


def idle(conn, seconds=QUIET_WAIT):
    """Process I/O for a fixed time, to observe that nothing (more) arrives."""
    conn.process_data_events(time_limit=seconds)


def broker_close(fn, ch=None):
    """Run fn(); then, if ch is given, make a synchronous round trip on it so
    an asynchronous error is surfaced. Return (reply_code, reply_text, kind)
    where kind is "channel" or "connection"; fail if the broker closed nothing.
    """
    try:
        fn()
        if ch is not None:
            ping(ch)
    except pe.ChannelClosedByBroker as e:
        return e.reply_code, e.reply_text, "channel"
    except pe.ConnectionClosedByBroker as e:
        return e.reply_code, e.reply_text, "connection"
    except (pe.ChannelWrongStateError, pe.ConnectionWrongStateError):
        # The close arrived during an earlier I/O step; use the recorded reason.
        reason = getattr(ch, "_closing_reason", None) if ch is not None else None
        if isinstance(reason, pe.ChannelClosedByBroker):
            return reason.reply_code, reason.reply_text, "channel"
        if isinstance(reason, pe.ConnectionClosedByBroker):
            return reason.reply_code, reason.reply_text, "connection"
        raise
    pytest.fail("the broker closed neither the channel nor the connection")


def send_raw(ch, method, content=None):
    """Send a method through pika's own frame encoder, bypassing the checks of
    its public API (for methods pika's API refuses to send, such as
    basic.publish with immediate=true or a reused consumer tag)."""
    ch._impl._send_method(method, content)
    ch._flush_output()


def raw_rpc(ch, method, reply_class):
    """Send a synchronous method with pika's encoder and return the reply
    method the broker answered with."""
    got = []
    ch._impl._rpc(method, lambda frame: got.append(frame.method), [reply_class])
    ch._flush_output(lambda: bool(got))
    return got[0]


class Broker:
    """Per-test connection/channel factory and name generator."""

    def __init__(self):
        _counter[0] += 1
        self.prefix = "py-%s-%d-" % (RUN_TAG, _counter[0])
        self.connections = []
        self.names = []

    def name(self, suffix):
        """A unique queue/exchange name, deleted (as either) at teardown."""
        n = self.prefix + suffix
        self.names.append(n)
        return n

    def connect(self, **overrides):
        conn = pika.BlockingConnection(params(**overrides))
        self.connections.append(conn)
        return conn

    def channel(self, conn=None):
        if conn is None:
            conn = self.connect()
        return conn.channel()

    def conn_channel(self, **overrides):
        conn = self.connect(**overrides)
        return conn, conn.channel()

    def teardown(self):
        for conn in self.connections:
            try:
                if conn.is_open:
                    conn.close()
            except Exception:
                pass
        if not self.names:
            return
        conn = pika.BlockingConnection(params())
        try:
            ch = conn.channel()
            for n in self.names:
                try:
                    ch.queue_delete(n)
                except pe.ChannelClosedByBroker:
                    # An exclusive queue whose closed connection the broker
                    # has not finished tearing down: it goes away by itself.
                    ch = conn.channel()
                ch.exchange_delete(n)
        finally:
            conn.close()


@pytest.fixture
def raw_content_headers(monkeypatch):
    """Record the raw property bytes (flags + property list) of every content
    header frame the client receives, in arrival order: pika's decoder is
    lossy for some field-table types, the bytes are not."""
    recorded = []
    real_decode = pika.frame.decode_frame

    def recording_decode(data):
        consumed, frame_obj = real_decode(data)
        if isinstance(frame_obj, pika.frame.Header):
            # 7-byte frame header, then class-id, weight and body-size (12
            # bytes) before the property flags; the last byte is frame-end.
            recorded.append(bytes(data[7 + 12:consumed - 1]))
        return consumed, frame_obj

    monkeypatch.setattr(pika.frame, "decode_frame", recording_decode)
    return recorded


@pytest.fixture
def broker():
    b = Broker()
    yield b
    b.teardown()


def get_body(ch, queue):
    """basic.get with auto-ack; the body, or None when the queue is empty."""
    method, _props, body = ch.basic_get(queue, auto_ack=True)
    return None if method is None else body


def drain(ch, queue):
    """All bodies currently in queue, in order (auto-ack)."""
    out = []
    while True:
        body = get_body(ch, queue)
        if body is None:
            return out
        out.append(body)


def message_count(ch, queue):
    return ch.queue_declare(queue, passive=True).method.message_count


def consumer_count(ch, queue):
    return ch.queue_declare(queue, passive=True).method.consumer_count


class Collector:
    """A consumer callback that records (method, properties, body)."""

    def __init__(self):
        self.items = []

    def __call__(self, ch, method, properties, body):
        self.items.append((method, properties, body))

    @property
    def bodies(self):
        return [b for _m, _p, b in self.items]

    def __len__(self):
        return len(self.items)


__all__ = [
    "ARRIVE_TIMEOUT", "QUIET_WAIT", "Broker", "Collector", "broker_close",
    "consumer_count", "drain", "get_body", "idle", "message_count", "params",
    "ping", "raw_rpc", "send_raw", "wait_until",
]


# --- Wire types of header tables -------------------------------------------
# pika decodes a long and a signed int to the same Python int, and turns a
# timestamp into a datetime; the dead-letter tests must tell them apart, so
# they decode the raw property bytes recorded by raw_content_headers.

# Fixed-size field-value letters and their struct formats.
_TYPED_FIXED = {
    b"t": ">B", b"b": ">b", b"B": ">B", b"s": ">h", b"u": ">H",
    b"I": ">i", b"i": ">I", b"l": ">q", b"L": ">Q", b"f": ">f",
    b"d": ">d", b"T": ">Q",
}


def _typed_value(data, pos):
    kind = data[pos:pos + 1]
    pos += 1
    if kind in _TYPED_FIXED:
        fmt = _TYPED_FIXED[kind]
        (value,) = struct.unpack_from(fmt, data, pos)
        return (kind.decode(), value), pos + struct.calcsize(fmt)
    if kind in (b"S", b"x"):
        (n,) = struct.unpack_from(">I", data, pos)
        return (kind.decode(), bytes(data[pos + 4:pos + 4 + n])), pos + 4 + n
    if kind == b"D":
        scale, raw = struct.unpack_from(">Bi", data, pos)
        return ("D", (scale, raw)), pos + 5
    if kind == b"F":
        table, pos = _typed_table(data, pos)
        return ("F", table), pos
    if kind == b"A":
        (n,) = struct.unpack_from(">I", data, pos)
        end, pos, items = pos + 4 + n, pos + 4, []
        while pos < end:
            item, pos = _typed_value(data, pos)
            items.append(item)
        return ("A", items), pos
    if kind == b"V":
        return ("V", None), pos
    raise ValueError("unknown field type %r" % kind)


def _typed_table(data, pos):
    (n,) = struct.unpack_from(">I", data, pos)
    end, pos, table = pos + 4 + n, pos + 4, {}
    while pos < end:
        klen = data[pos]
        key = bytes(data[pos + 1:pos + 1 + klen]).decode()
        value, pos = _typed_value(data, pos + 1 + klen)
        table[key] = value
    return table, pos


def typed_headers(raw):
    """The headers table of one recorded property list (raw_content_headers)
    with every value as a (type letter, value) pair: ("l", 1), ("S", b"q"),
    ("T", seconds), ("A", [pairs]), ("F", {name: pair}). None when the
    headers property is absent, {} when it is present but empty."""
    (flags,) = struct.unpack_from(">H", raw, 0)
    pos = 2
    for bit in (0x8000, 0x4000):  # content-type, content-encoding
        if flags & bit:
            pos += 1 + raw[pos]
    if not flags & 0x2000:
        return None
    table, _pos = _typed_table(raw, pos)
    return table


def get_typed(ch, queue, recorded, auto_ack=True):
    """basic.get that also returns the typed headers of the message got:
    (method, properties, body, headers), or None when the queue is empty.
    recorded is the raw_content_headers list of the running test."""
    before = len(recorded)
    method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
    if method is None:
        return None
    assert len(recorded) == before + 1
    return method, props, body, typed_headers(recorded[before])


def wait_for_count(ch, queue, count, timeout=ARRIVE_TIMEOUT):
    """Poll passive declare until message_count == count; returns whether it
    got there (dead-lettering and expiry happen in the background)."""
    return wait_until(ch.connection,
                      lambda: message_count(ch, queue) == count, timeout)


__all__ += ["get_typed", "typed_headers", "wait_for_count"]
