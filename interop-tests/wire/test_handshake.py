"""Protocol header, login, tune-ok and handshake timeout (cases 1, 2, 8, 9, 12)."""
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import amqp_wire as w


def read_until_eof(sock, timeout=5.0):
    """All bytes the broker sends before it ends the connection."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "broker kept the socket open; got %r" % data
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def random_header():
    # Never starts with "A", so it cannot be a valid header by chance.
    return bytes([0x42 + os.urandom(1)[0] % 0x80]) + os.urandom(7)


@pytest.mark.parametrize("header", [
    b"AMQP\x00\x00\x09\x00",
    b"AMQP\x00\x00\x09\x02",
    b"AMQP\x00\x01\x00\x00",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x00" * 8,
    "random",
])
def test_bad_protocol_header_gets_ours_and_close(header):
    if header == "random":
        header = random_header()
    sock = w.connect()
    try:
        sock.sendall(header)
        assert read_until_eof(sock) == w.PROTOCOL_HEADER
    finally:
        sock.close()


def test_legacy_0_9_header_is_served_as_0_9_1():
    # RabbitMQ maps the pre-0-9-1 header "AMQP 1 1 0 9" onto 0-9-1.
    sock = w.connect()
    try:
        sock.sendall(b"AMQP\x01\x01\x00\x09")
        args = w.expect_method(sock, w.CONNECTION_START, 0)
        assert (args["version_major"], args["version_minor"]) == (0, 9)
        w.handshake(sock, header=None, read_start=False)
        w.open_channel(sock, 1)
        w.close_connection(sock)
    finally:
        sock.close()


@pytest.mark.parametrize("cut", [1, 4, 7])
@pytest.mark.parametrize("reset", [False, True])
def test_half_header_then_disconnect(cut, reset):
    sock = w.connect()
    sock.sendall(w.PROTOCOL_HEADER[:cut])
    if reset:
        # Abort with RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def test_header_one_byte_at_a_time():
    sock = w.connect()
    try:
        for b in w.PROTOCOL_HEADER:
            sock.sendall(bytes([b]))
            time.sleep(0.02)
        w.handshake(sock, header=None)
        w.open_channel(sock, 1)
        name = w.unique()
        w.declare_queue(sock, 1, name, exclusive=True)
        sock.sendall(w.publish_frames(1, "", name, b"slow start"))
        assert w.get_message(sock, 1, name) == b"slow start"
        w.close_connection(sock)
    finally:
        sock.close()


# ---------------------------------------------------------------- tune-ok

def tune_with(channel_max=None, frame_max=None, heartbeat=0):
    def tune(offer):
        return w.tune_ok_args(
            offer["channel_max"] if channel_max is None else channel_max,
            offer["frame_max"] if frame_max is None else frame_max,
            heartbeat)
    return tune


def run_concurrently(cases, fn):
    """{case id: fn(case)} with all cases run in parallel threads.

    The broker delays these socket closes by a few seconds, so running the
    variants side by side keeps the suite fast.
    """
    with ThreadPoolExecutor(len(cases)) as pool:
        futures = {k: pool.submit(fn, v) for k, v in cases.items()}
        out = {}
        for k, f in futures.items():
            try:
                out[k] = f.result()
            except Exception as e:  # reported per case below
                out[k] = repr(e)
        return out


def bad_tune_ok(values):
    def tune(offer):
        v = dict(values)
        for k in v:
            if v[k] == "offer+1":
                v[k] = offer[k] + 1
        return tune_with(**v)(offer)

    sock = w.connect()
    try:
        w.handshake(sock, tune=tune, open_vhost=False)
        sock.sendall(w.method_frame(0, w.CONNECTION_OPEN, w.open_args("/")))
        return w.expect_close(sock, timeout=8)
    finally:
        sock.close()


def test_bad_tune_ok_drops_socket():
    # RabbitMQ treats these as handshake errors: no connection.close, the
    # socket just ends (after a short delay), even with connection.open sent.
    cases = {
        "frame_max=4095": dict(frame_max=4095),
        "frame_max=8": dict(frame_max=8),
        "frame_max=0 (unlimited, above offer)": dict(frame_max=0),
        "frame_max=offer+1": dict(frame_max="offer+1"),
        "channel_max=offer+1": dict(channel_max="offer+1"),
        "channel_max=0 (unlimited, above offer)": dict(channel_max=0),
    }
    got = run_concurrently(cases, bad_tune_ok)
    # RabbitMQ drops the socket; Warren first says why with connection.close
    # 530 NOT_ALLOWED (spec README). Either way the connection ends.
    for case, outcome in got.items():
        if outcome != "socket closed":
            assert outcome[:2] == ("connection", 530), (case, outcome)


@pytest.mark.parametrize("values", [
    dict(frame_max=4096),
    dict(channel_max=1),
    dict(heartbeat=65535),          # more than offered is accepted
])
def test_acceptable_tune_ok(values):
    sock = w.connect()
    try:
        w.handshake(sock, tune=tune_with(**values))
        w.open_channel(sock, 1)
        w.close_connection(sock)
    finally:
        sock.close()


# ---------------------------------------------------------------- login

def test_unknown_vhost_is_530():
    sock = w.connect()
    try:
        w.handshake(sock, open_vhost=False)
        sock.sendall(w.method_frame(0, w.CONNECTION_OPEN,
                                    w.open_args(w.unique("no-such-vhost"))))
        w.check_close(w.expect_close(sock, wait_eof=True), "connection",
                      530, *w.CONNECTION_OPEN)
    finally:
        sock.close()


def test_wrong_password_with_auth_failure_close_is_403():
    sock = w.connect()
    try:
        sock.sendall(w.PROTOCOL_HEADER)
        w.expect_method(sock, w.CONNECTION_START, 0)
        sock.sendall(w.method_frame(0, w.CONNECTION_START_OK, w.start_ok_args(
            "guest", "wrong-" + w.unique(),
            {"authentication_failure_close": True})))
        w.check_close(w.expect_close(sock, wait_eof=True), "connection",
                      403, 0, 0)
    finally:
        sock.close()


def wrong_password(capabilities):
    sock = w.connect()
    try:
        sock.sendall(w.PROTOCOL_HEADER)
        w.expect_method(sock, w.CONNECTION_START, 0)
        sock.sendall(w.method_frame(0, w.CONNECTION_START_OK, w.start_ok_args(
            "guest", "wrong-" + w.unique(), capabilities)))
        return w.expect_close(sock, timeout=8)
    finally:
        sock.close()


def test_wrong_password_without_capability_drops_socket():
    cases = {
        "no capabilities": None,
        "empty capabilities": {},
        "authentication_failure_close=false":
            {"authentication_failure_close": False},
    }
    got = run_concurrently(cases, wrong_password)
    assert got == {k: "socket closed" for k in cases}


# ---------------------------------------------------------------- timeout

@pytest.mark.slow
def test_silent_client_is_dropped_after_handshake_timeout():
    # One socket sends nothing, one stops inside the header; both must be
    # dropped by the broker's handshake timeout (10 s on RabbitMQ).
    socks = [w.connect(), w.connect()]
    try:
        socks[1].sendall(w.PROTOCOL_HEADER[:5])
        for sock in socks:
            assert read_until_eof(sock, timeout=15) == b""
    finally:
        for sock in socks:
            sock.close()
