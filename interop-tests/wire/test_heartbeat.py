"""Heartbeats (case 7)."""
import socket
import time

import amqp_wire as w


def test_silent_client_is_dropped_with_heartbeat_1():
    # No bytes at all from us: the broker must drop the connection after
    # about two intervals. Only the upper bound is asserted.
    sock = w.open_connection(channel=0, heartbeat=1)
    try:
        assert w.expect_close(sock, timeout=5) == "socket closed"
    finally:
        sock.close()


def test_heartbeating_client_stays_connected():
    sock = w.open_connection(channel=1, heartbeat=2)
    try:
        received = []
        end = time.monotonic() + 6
        while time.monotonic() < end:
            sock.sendall(w.heartbeat_frame())
            try:
                f = w.read_frame(sock, 0.5)
            except socket.timeout:
                continue
            assert f is not None, "broker closed a heartbeating connection"
            received.append(f)
        # Idle for 6 s with a 2 s interval: the broker must have sent
        # heartbeats, and nothing else.
        assert received
        assert all(f == (w.FRAME_HEARTBEAT, 0, b"") for f in received)
        name = w.unique()
        w.declare_queue(sock, 1, name, exclusive=True)
        w.close_connection(sock)
    finally:
        sock.close()


def test_heartbeat_on_nonzero_channel_is_505(conn):
    conn.sendall(w.heartbeat_frame(1))
    w.check_close(w.expect_close(conn), "connection", 505, 0, 0)


def test_heartbeat_with_payload_is_501(conn):
    conn.sendall(w.frame(w.FRAME_HEARTBEAT, 0, b"abc"))
    w.check_close(w.expect_close(conn), "connection", 501, 0, 0)
