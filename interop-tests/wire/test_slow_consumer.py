"""A consumer that never reads must not stall the broker (case 11)."""
import os
import socket
import time

import amqp_wire as w

MESSAGE = 1 << 20
COUNT = 50


def test_consumer_that_never_reads():
    name = w.unique("slow")
    slow = w.connect(rcvbuf=4096)
    publisher = None
    try:
        w.handshake(slow)
        w.open_channel(slow, 1)
        w.declare_queue(slow, 1, name, exclusive=True)
        slow.sendall(w.method_frame(1, w.BASIC_CONSUME,
                                    w.basic_consume_args(name, no_ack=True)))
        w.expect_method(slow, w.BASIC_CONSUME_OK, 1)
        # From here on the slow socket is never read again.

        publisher = w.connect()
        frame_max = w.handshake(publisher)["frame_max"] or 131072
        w.open_channel(publisher, 1)
        publisher.settimeout(30)  # bounded: sendall fails rather than hangs
        body = os.urandom(MESSAGE)
        for _ in range(COUNT):
            publisher.sendall(w.publish_frames(1, "", name, body,
                                               frame_max=frame_max))
        # A round trip proves the publishing connection is still served.
        publisher.sendall(w.method_frame(1, w.BASIC_QOS,
                                         w.basic_qos_args(0, 1)))
        w.expect_method(publisher, w.BASIC_QOS_OK, 1, timeout=30)

        # While ~50 MB wait for the stuck consumer, others are served.
        w.assert_broker_serves()
    finally:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
        slow.close()
    try:
        # Still served after the slow consumer vanished.
        w.close_connection(publisher)
    finally:
        publisher.close()


def broker_rss():
    """The broker's resident memory in bytes, when the launcher told us its pid."""
    pid = os.environ.get("WARREN_PID")
    if not pid:
        return None
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def test_publisher_that_never_reads_its_returns():
    # Every mandatory publish comes back as a 1 MiB basic.return that this
    # client never reads. The broker must stop reading it rather than pile up
    # returns without bound, and keep serving everyone else.
    sock = w.connect(rcvbuf=4096)
    try:
        frame_max = w.handshake(sock)["frame_max"] or 131072
        w.open_channel(sock, 1)
        sock.setblocking(False)
        body = b"r" * MESSAGE
        frames = w.publish_frames(1, "", w.unique("nowhere"), body, frame_max=frame_max,
                                  mandatory=True)
        sent, deadline = 0, time.monotonic() + 8
        pending = memoryview(frames)
        while sent < 400 and time.monotonic() < deadline:
            try:
                n = sock.send(pending)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            pending = pending[n:]
            if not pending:
                sent += 1
                pending = memoryview(frames)
        rss = broker_rss()
        if rss is not None:
            # 400 MiB of returns would have been queued without a limit
            assert rss < 200 * MESSAGE, "broker RSS %d after %d unread returns" % (rss, sent)
        w.assert_broker_serves()
    finally:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    w.assert_broker_serves()
