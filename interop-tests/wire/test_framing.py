"""Garbage and truncated frames after the handshake (cases 3 and 4)."""
import socket
import struct

import pytest

import amqp_wire as w


def get_frame(channel, queue):
    return w.method_frame(channel, w.BASIC_GET, w.basic_get_args(queue))


@pytest.mark.parametrize("channel", [0, 1])
@pytest.mark.parametrize("end", [0x00, 0xCD, 0xFF])
def test_bad_frame_end_is_501(conn, queue, channel, end):
    f = get_frame(channel, queue)
    conn.sendall(f[:-1] + bytes([end]))
    w.check_close(w.expect_close(conn), "connection", 501, 0, 0)


@pytest.mark.parametrize("ftype", [0, 4, 7, 9, 0xFF])
def test_unknown_frame_type_is_501(conn, ftype):
    conn.sendall(w.frame(ftype, 0, b"abc"))
    w.check_close(w.expect_close(conn), "connection", 501, 0, 0)


@pytest.mark.parametrize("payload", [b"", b"\x00\x3c"])
def test_method_frame_shorter_than_ids_is_501(conn, payload):
    conn.sendall(w.frame(w.FRAME_METHOD, 1, payload))
    w.check_close(w.expect_close(conn), "connection", 501, 0, 0)


def publish_with_body_frame(sock, queue, size):
    sock.sendall(w.method_frame(1, w.BASIC_PUBLISH,
                                w.basic_publish_args("", queue))
                 + w.header_frame(1, size)
                 + w.body_frame(1, b"x" * size))


def connect_with_frame_max(frame_max):
    """(socket, negotiated frame_max); None takes the broker's offer."""
    sock = w.connect()
    offer = w.handshake(sock, frame_max=frame_max)
    w.open_channel(sock, 1)
    frame_max = frame_max or offer["frame_max"]
    if not frame_max:
        sock.close()
        pytest.skip("broker offers no frame_max limit")
    return sock, frame_max


@pytest.mark.parametrize("frame_max", [4096, None], ids=["4096", "offer"])
def test_frame_payload_of_exactly_frame_max_is_accepted(frame_max):
    # RabbitMQ compares the payload size (not the whole frame) with frame-max.
    sock, frame_max = connect_with_frame_max(frame_max)
    try:
        name = w.unique()
        w.declare_queue(sock, 1, name, exclusive=True)
        publish_with_body_frame(sock, name, frame_max)
        assert w.get_message(sock, 1, name) == b"x" * frame_max
        w.close_connection(sock)
    finally:
        sock.close()


@pytest.mark.parametrize("frame_max", [4096, None], ids=["4096", "offer"])
@pytest.mark.parametrize("excess", [1, 1000])
def test_frame_over_frame_max_is_501(frame_max, excess):
    sock, frame_max = connect_with_frame_max(frame_max)
    try:
        name = w.unique()
        w.declare_queue(sock, 1, name, exclusive=True)
        publish_with_body_frame(sock, name, frame_max + excess)
        w.check_close(w.expect_close(sock), "connection", 501, 0, 0)
    finally:
        sock.close()


def test_oversized_method_frame_is_501():
    sock, frame_max = connect_with_frame_max(4096)
    try:
        sock.sendall(w.frame(w.FRAME_METHOD, 1,
                             struct.pack(">HH", *w.BASIC_GET)
                             + b"\x00" * frame_max))
        w.check_close(w.expect_close(sock), "connection", 501, 0, 0)
    finally:
        sock.close()


@pytest.mark.parametrize("ftype", [w.FRAME_METHOD, w.FRAME_BODY])
@pytest.mark.parametrize("size", [0x80000000, 0xFFFFFFFF])
def test_huge_frame_header_is_501_without_waiting_for_payload(conn, ftype,
                                                              size):
    # Only the 7-byte header is sent: the broker must refuse at once rather
    # than wait for (or allocate) gigabytes.
    conn.sendall(struct.pack(">BHI", ftype, 1, size))
    w.check_close(w.expect_close(conn, timeout=5), "connection", 501, 0, 0)


# ---------------------------------------------------------------- truncation

def truncate_and_vanish(data, cut, reset):
    sock = w.open_connection()
    try:
        sock.sendall(data[:cut])
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            b"\x01\x00\x00\x00\x00\x00\x00\x00")
    finally:
        sock.close()


def test_truncated_method_frame_then_disconnect():
    data = w.method_frame(1, w.QUEUE_DECLARE, w.queue_declare_args(
        w.unique(), exclusive=True, arguments={"x-max-length": 10}))
    for cut in range(1, len(data)):
        truncate_and_vanish(data, cut, reset=cut % 2 == 0)
    w.assert_broker_serves()


def test_truncated_publish_then_disconnect():
    data = w.publish_frames(1, "", w.unique(), b"0123456789" * 3)
    for cut in range(1, len(data)):
        truncate_and_vanish(data, cut, reset=cut % 2 == 1)
    w.assert_broker_serves()


def test_truncated_handshake_then_disconnect():
    start_ok = w.method_frame(0, w.CONNECTION_START_OK, w.start_ok_args())
    for cut in range(1, len(start_ok), 3):
        sock = w.connect()
        try:
            sock.sendall(w.PROTOCOL_HEADER)
            w.expect_method(sock, w.CONNECTION_START, 0)
            sock.sendall(start_ok[:cut])
        finally:
            sock.close()
    w.assert_broker_serves()
