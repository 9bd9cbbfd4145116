"""Tiny AMQP 0-9-1 wire codec for the raw interop tests.

Just enough to build frames byte by byte, decode what a broker sends back,
and log in with PLAIN. It is deliberately permissive when encoding so the
tests can produce invalid input that a real client library would refuse.
"""
import os
import socket
import struct
import time

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_END = 0xCE
FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8

# (class, method) ids used by the tests.
CONNECTION_START = (10, 10)
CONNECTION_START_OK = (10, 11)
CONNECTION_TUNE = (10, 30)
CONNECTION_TUNE_OK = (10, 31)
CONNECTION_OPEN = (10, 40)
CONNECTION_OPEN_OK = (10, 41)
CONNECTION_CLOSE = (10, 50)
CONNECTION_CLOSE_OK = (10, 51)
CHANNEL_OPEN = (20, 10)
CHANNEL_OPEN_OK = (20, 11)
CHANNEL_FLOW = (20, 20)
CHANNEL_FLOW_OK = (20, 21)
CHANNEL_CLOSE = (20, 40)
CHANNEL_CLOSE_OK = (20, 41)
ACCESS_REQUEST = (30, 10)
ACCESS_REQUEST_OK = (30, 11)
QUEUE_DECLARE = (50, 10)
QUEUE_DECLARE_OK = (50, 11)
QUEUE_DELETE = (50, 40)
QUEUE_DELETE_OK = (50, 41)
BASIC_QOS = (60, 10)
BASIC_QOS_OK = (60, 11)
BASIC_CONSUME = (60, 20)
BASIC_CONSUME_OK = (60, 21)
BASIC_PUBLISH = (60, 40)
BASIC_DELIVER = (60, 60)
BASIC_GET = (60, 70)
BASIC_GET_OK = (60, 71)
BASIC_GET_EMPTY = (60, 72)
BASIC_ACK = (60, 80)
BASIC_RECOVER = (60, 110)
BASIC_RECOVER_OK = (60, 111)

# Argument layouts of the methods a broker sends us, for decoding.
# Letters: o octet, s short, l long, L longlong, n shortstr, S longstr,
# F table, b bit.
_SERVER_METHODS = {
    CONNECTION_START: ("version_major:o version_minor:o server_properties:F "
                       "mechanisms:S locales:S"),
    CONNECTION_TUNE: "channel_max:s frame_max:l heartbeat:s",
    CONNECTION_OPEN_OK: "known_hosts:n",
    CONNECTION_CLOSE: "reply_code:s reply_text:n class_id:s method_id:s",
    CONNECTION_CLOSE_OK: "",
    CHANNEL_OPEN_OK: "reserved:S",
    CHANNEL_FLOW: "active:b",
    CHANNEL_FLOW_OK: "active:b",
    CHANNEL_CLOSE: "reply_code:s reply_text:n class_id:s method_id:s",
    CHANNEL_CLOSE_OK: "",
    ACCESS_REQUEST_OK: "ticket:s",
    QUEUE_DECLARE_OK: "queue:n message_count:l consumer_count:l",
    QUEUE_DELETE_OK: "message_count:l",
    BASIC_QOS_OK: "",
    BASIC_CONSUME_OK: "consumer_tag:n",
    BASIC_DELIVER: ("consumer_tag:n delivery_tag:L redelivered:b "
                    "exchange:n routing_key:n"),
    BASIC_GET_OK: ("delivery_tag:L redelivered:b exchange:n routing_key:n "
                   "message_count:l"),
    BASIC_GET_EMPTY: "reserved:n",
    BASIC_RECOVER_OK: "",
}


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- encoding

def octet(v):
    return struct.pack(">B", v)


def short(v):
    return struct.pack(">H", v)


def long_(v):
    return struct.pack(">I", v)


def longlong(v):
    return struct.pack(">Q", v)


def shortstr(v):
    if isinstance(v, str):
        v = v.encode()
    return struct.pack(">B", len(v)) + v


def longstr(v):
    if isinstance(v, str):
        v = v.encode()
    return struct.pack(">I", len(v)) + v


def bits(*flags):
    v = 0
    for i, f in enumerate(flags):
        if f:
            v |= 1 << i
    return octet(v)


def field_value(v):
    if isinstance(v, bool):
        return b"t" + octet(1 if v else 0)
    if isinstance(v, int):
        return b"l" + struct.pack(">q", v)
    if isinstance(v, (str, bytes)):
        return b"S" + longstr(v)
    if isinstance(v, dict):
        return b"F" + table(v)
    raise TypeError("cannot encode %r" % (v,))


def table(d):
    body = b"".join(shortstr(k) + field_value(v) for k, v in d.items())
    return long_(len(body)) + body


def frame(ftype, channel, payload, frame_end=FRAME_END):
    return (struct.pack(">BHI", ftype, channel, len(payload)) + payload
            + octet(frame_end))


def method_frame(channel, method, args=b""):
    return frame(FRAME_METHOD, channel, struct.pack(">HH", *method) + args)


def header_frame(channel, body_size, class_id=60, flags=0, props=b""):
    payload = struct.pack(">HHQH", class_id, 0, body_size, flags) + props
    return frame(FRAME_HEADER, channel, payload)


def body_frame(channel, data):
    return frame(FRAME_BODY, channel, data)


def heartbeat_frame(channel=0):
    return frame(FRAME_HEARTBEAT, channel, b"")


# Argument encoders for the client methods the tests send.

def start_ok_args(user="guest", password="guest", capabilities=None):
    props = {"product": "warren-wire-tests"}
    if capabilities is not None:
        props["capabilities"] = capabilities
    response = b"\x00" + user.encode() + b"\x00" + password.encode()
    return table(props) + shortstr("PLAIN") + longstr(response) + \
        shortstr("en_US")


def tune_ok_args(channel_max, frame_max, heartbeat):
    return short(channel_max) + long_(frame_max) + short(heartbeat)


def open_args(vhost="/"):
    return shortstr(vhost) + shortstr("") + octet(0)


def close_args(code=200, text="bye", class_id=0, method_id=0):
    return short(code) + shortstr(text) + short(class_id) + short(method_id)


def queue_declare_args(name, passive=False, durable=False, exclusive=False,
                       auto_delete=False, nowait=False, arguments=None):
    return (short(0) + shortstr(name)
            + bits(passive, durable, exclusive, auto_delete, nowait)
            + table(arguments or {}))


def basic_publish_args(exchange, routing_key, mandatory=False,
                       immediate=False):
    return (short(0) + shortstr(exchange) + shortstr(routing_key)
            + bits(mandatory, immediate))


def basic_get_args(queue, no_ack=True):
    return short(0) + shortstr(queue) + bits(no_ack)


def basic_consume_args(queue, tag="", no_local=False, no_ack=False,
                       exclusive=False, nowait=False):
    return (short(0) + shortstr(queue) + shortstr(tag)
            + bits(no_local, no_ack, exclusive, nowait) + table({}))


def basic_qos_args(prefetch_size, prefetch_count, global_=False):
    return long_(prefetch_size) + short(prefetch_count) + bits(global_)


def publish_frames(channel, exchange, routing_key, body, frame_max=131072,
                   **kw):
    """basic.publish + header + body frames split to fit frame_max."""
    out = [method_frame(channel, BASIC_PUBLISH,
                        basic_publish_args(exchange, routing_key, **kw)),
           header_frame(channel, len(body))]
    chunk = frame_max - 8
    for i in range(0, len(body), chunk):
        out.append(body_frame(channel, body[i:i + chunk]))
    return b"".join(out)


# ---------------------------------------------------------------- decoding

class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ProtocolError("truncated method arguments")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def shortstr(self):
        return self.take(self.unpack(">B")).decode("utf-8", "replace")

    def longstr(self):
        return self.take(self.unpack(">I"))

    def table(self):
        sub = _Reader(self.longstr())
        out = {}
        while sub.pos < len(sub.data):
            key = sub.shortstr()
            out[key] = sub.value()
        return out

    def value(self):
        tag = self.take(1)
        simple = {b"t": ">B", b"b": ">b", b"B": ">B", b"s": ">h", b"u": ">H",
                  b"I": ">i", b"i": ">I", b"l": ">q", b"L": ">q", b"f": ">f",
                  b"d": ">d", b"T": ">Q"}
        if tag in simple:
            v = self.unpack(simple[tag])
            return bool(v) if tag == b"t" else v
        if tag in (b"S", b"x"):
            return self.longstr()
        if tag == b"F":
            return self.table()
        if tag == b"A":
            sub = _Reader(self.longstr())
            items = []
            while sub.pos < len(sub.data):
                items.append(sub.value())
            return items
        if tag == b"D":
            return (self.unpack(">B"), self.unpack(">I"))
        if tag == b"V":
            return None
        raise ProtocolError("unknown field type %r" % tag)


def decode_method(payload):
    """Return ((class, method), {name: value}) for a method frame payload."""
    class_id, method_id = struct.unpack(">HH", payload[:4])
    layout = _SERVER_METHODS.get((class_id, method_id))
    args = {}
    if layout is None:
        return (class_id, method_id), args
    r = _Reader(payload[4:])
    bitbyte, bitpos = 0, 8
    for spec in layout.split():
        name, kind = spec.split(":")
        if kind == "b":
            if bitpos == 8:
                bitbyte, bitpos = r.unpack(">B"), 0
            args[name] = bool(bitbyte >> bitpos & 1)
            bitpos += 1
            continue
        bitpos = 8
        if kind == "o":
            args[name] = r.unpack(">B")
        elif kind == "s":
            args[name] = r.unpack(">H")
        elif kind == "l":
            args[name] = r.unpack(">I")
        elif kind == "L":
            args[name] = r.unpack(">Q")
        elif kind == "n":
            args[name] = r.shortstr()
        elif kind == "S":
            args[name] = r.longstr()
        elif kind == "F":
            args[name] = r.table()
    return (class_id, method_id), args


# ---------------------------------------------------------------- socket I/O

def connect(host=None, port=None, timeout=5.0, rcvbuf=None):
    host = host or os.environ.get("INTEROP_HOST", "127.0.0.1")
    port = int(port or os.environ.get("INTEROP_PORT", "5672"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # Must be set before connect() to limit the advertised window.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exact(sock, n, deadline, grace=5.0):
    """n bytes, or fewer if the peer closed; socket.timeout past deadline.

    Once part of the bytes arrived the deadline is extended by grace (once),
    so a timeout never drops half a frame and desynchronises the stream.
    """
    buf = b""
    extended = False
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0 and buf and not extended:
            deadline, extended = time.monotonic() + grace, True
            continue
        if left <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
    return buf


def read_frame(sock, timeout=5.0):
    """Next frame as (type, channel, payload), or None if the peer closed.

    Raises socket.timeout when nothing complete arrives in time.
    """
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 7, deadline)
    if len(head) < 7:
        return None
    ftype, channel, size = struct.unpack(">BHI", head)
    # The header is in: finish the frame even if the deadline just passed.
    rest = recv_exact(sock, size + 1, max(deadline, time.monotonic() + 5.0))
    if len(rest) < size + 1:
        return None
    if rest[-1] != FRAME_END:
        raise ProtocolError("bad frame end from peer")
    return ftype, channel, rest[:-1]


def read_method(sock, timeout=5.0, skip_heartbeats=True):
    """Next method frame as (channel, (class, method), args), None on EOF.

    Content header and body frames in between are skipped.
    """
    deadline = time.monotonic() + timeout
    while True:
        f = read_frame(sock, max(0.0, deadline - time.monotonic()))
        if f is None:
            return None
        ftype, channel, payload = f
        if ftype == FRAME_METHOD:
            method, args = decode_method(payload)
            return channel, method, args
        if ftype == FRAME_HEARTBEAT and not skip_heartbeats:
            return channel, None, {}


def expect_method(sock, method, channel=None, timeout=5.0):
    got = read_method(sock, timeout)
    if got is None:
        raise ProtocolError("socket closed while waiting for %r" % (method,))
    ch, m, args = got
    if m != method or (channel is not None and ch != channel):
        raise ProtocolError("expected %r on channel %r, got %r on %r: %r"
                            % (method, channel, m, ch, args))
    return args


def wait_closed(sock, timeout=5.0):
    """True if the peer closes the socket within timeout (data is drained)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def expect_close(sock, timeout=5.0, reply=True, wait_eof=False):
    """Read until the broker closes something.

    Returns ('connection'|'channel', code, text, class_id, method_id), or
    'socket closed' if the TCP connection ends without a close method.
    With reply=True answers with the matching close-ok; with wait_eof=True
    then also waits (same timeout) for the broker to end the socket.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = read_method(sock, max(0.0, deadline - time.monotonic()))
        except socket.timeout:
            raise ProtocolError("no close from broker within %.1fs" % timeout)
        if got is None:
            return "socket closed"
        ch, m, a = got
        if m in (CONNECTION_CLOSE, CHANNEL_CLOSE):
            kind = "connection" if m == CONNECTION_CLOSE else "channel"
            if reply:
                ok = CONNECTION_CLOSE_OK if kind == "connection" \
                    else CHANNEL_CLOSE_OK
                try:
                    sock.sendall(method_frame(ch, ok))
                except OSError:
                    pass
            if wait_eof and not wait_closed(
                    sock, max(0.0, deadline - time.monotonic())):
                raise ProtocolError("socket still open after close")
            return (kind, a["reply_code"], a["reply_text"], a["class_id"],
                    a["method_id"])


REPLY_NAMES = {
    200: "REPLY_SUCCESS", 311: "CONTENT_TOO_LARGE", 312: "NO_ROUTE",
    313: "NO_CONSUMERS", 320: "CONNECTION_FORCED", 402: "INVALID_PATH",
    403: "ACCESS_REFUSED", 404: "NOT_FOUND", 405: "RESOURCE_LOCKED",
    406: "PRECONDITION_FAILED", 501: "FRAME_ERROR", 502: "SYNTAX_ERROR",
    503: "COMMAND_INVALID", 504: "CHANNEL_ERROR", 505: "UNEXPECTED_FRAME",
    506: "RESOURCE_ERROR", 530: "NOT_ALLOWED", 540: "NOT_IMPLEMENTED",
    541: "INTERNAL_ERROR",
}


def check_close(result, kind, code, class_id=None, method_id=None,
                text=None):
    """Assert an expect_close() result.

    The reply text must be "<NAME>" or "<NAME> - detail"; text, if given,
    must match exactly.
    """
    assert result != "socket closed", \
        "broker closed the socket without a close method"
    got_kind, got_code, got_text, got_class, got_method = result
    assert (got_kind, got_code) == (kind, code), result
    name = REPLY_NAMES[code]
    assert got_text == name or got_text.startswith(name + " - "), result
    if text is not None:
        assert got_text == text, result
    if class_id is not None:
        assert (got_class, got_method) == (class_id, method_id), result


# ---------------------------------------------------------------- handshake

def handshake(sock, user="guest", password="guest", vhost="/",
              heartbeat=0, frame_max=None, channel_max=None,
              capabilities=None, tune=None, open_vhost=True,
              header=PROTOCOL_HEADER, read_start=True):
    """Log in with PLAIN up to open-ok; return the broker's tune args.

    frame_max / channel_max default to what the broker offers. tune, if
    given, is a function(tune_args) -> tune-ok arguments bytes, for tests
    that send odd values. With open_vhost=False stops after tune-ok.
    header=None skips the protocol header, read_start=False the reading of
    connection.start (the caller did those).
    """
    if header:
        sock.sendall(header)
    if read_start:
        expect_method(sock, CONNECTION_START, 0)
    sock.sendall(method_frame(0, CONNECTION_START_OK,
                              start_ok_args(user, password, capabilities)))
    t = expect_method(sock, CONNECTION_TUNE, 0)
    if tune is not None:
        args = tune(t)
    else:
        args = tune_ok_args(
            t["channel_max"] if channel_max is None else channel_max,
            t["frame_max"] if frame_max is None else frame_max,
            heartbeat)
    sock.sendall(method_frame(0, CONNECTION_TUNE_OK, args))
    if open_vhost:
        sock.sendall(method_frame(0, CONNECTION_OPEN, open_args(vhost)))
        expect_method(sock, CONNECTION_OPEN_OK, 0)
    return t


def open_channel(sock, channel=1):
    sock.sendall(method_frame(channel, CHANNEL_OPEN, shortstr("")))
    expect_method(sock, CHANNEL_OPEN_OK, channel)


def open_connection(channel=1, **kw):
    """Connected, logged-in socket with `channel` open (0: none)."""
    sock = connect()
    handshake(sock, **kw)
    if channel:
        open_channel(sock, channel)
    return sock


def close_connection(sock):
    try:
        sock.sendall(method_frame(0, CONNECTION_CLOSE, close_args()))
        expect_method(sock, CONNECTION_CLOSE_OK, 0)
    finally:
        sock.close()


def get_message(sock, channel, queue, timeout=5.0):
    """basic.get with no-ack: the body, or None if the queue is empty."""
    sock.sendall(method_frame(channel, BASIC_GET, basic_get_args(queue)))
    got = read_method(sock, timeout)
    if got is None:
        raise ProtocolError("socket closed while waiting for basic.get")
    ch, m, args = got
    if m == BASIC_GET_EMPTY:
        return None
    if m != BASIC_GET_OK:
        raise ProtocolError("basic.get answered with %r %r" % (m, args))
    deadline = time.monotonic() + timeout
    ftype, _, payload = read_frame(sock, timeout)
    assert ftype == FRAME_HEADER
    size = struct.unpack(">Q", payload[4:12])[0]
    body = b""
    while len(body) < size:
        ftype, _, payload = read_frame(sock, deadline - time.monotonic())
        assert ftype == FRAME_BODY
        body += payload
    return body


def declare_queue(sock, channel, name, **kw):
    sock.sendall(method_frame(channel, QUEUE_DECLARE,
                              queue_declare_args(name, **kw)))
    return expect_method(sock, QUEUE_DECLARE_OK, channel)


def assert_broker_serves(timeout=5.0):
    """A fresh connection can declare a queue, publish and get it back."""
    sock = open_connection()
    try:
        sock.settimeout(timeout)
        name = unique("health")
        declare_queue(sock, 1, name, auto_delete=True)
        body = os.urandom(16)
        sock.sendall(publish_frames(1, "", name, body))
        assert get_message(sock, 1, name, timeout) == body
        # Delete explicitly: a basic.get does not trigger auto-delete.
        sock.sendall(method_frame(1, QUEUE_DELETE,
                                  short(0) + shortstr(name) + bits(0, 0, 0)))
        expect_method(sock, QUEUE_DELETE_OK, 1)
        close_connection(sock)
    finally:
        sock.close()


def unique(prefix="wire"):
    return "%s-%s" % (prefix, os.urandom(6).hex())
