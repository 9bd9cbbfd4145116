"""Bad, misplaced and unimplemented methods, and content framing errors
(cases 5, 6, 10 and 13).
"""
import struct

import pytest

import amqp_wire as w
from amqp_wire import bits, long_, longlong, short, shortstr


def publish(channel, queue, **kw):
    return w.method_frame(channel, w.BASIC_PUBLISH,
                          w.basic_publish_args("", queue, **kw))


def get(channel, queue):
    return w.method_frame(channel, w.BASIC_GET, w.basic_get_args(queue))


# ---------------------------------------------------------------- case 5

@pytest.mark.parametrize("channel,method", [
    (1, (99, 10)), (1, (60, 99)), (0, (99, 10)), (0, (10, 99))],
    ids=["ch1-class99", "ch1-basic.99", "ch0-class99", "ch0-connection.99"])
def test_unknown_class_or_method_drops_socket(conn, channel, method):
    # RabbitMQ cannot look the method up and ends the connection without a
    # connection.close. Warren says why instead: connection.close 503 naming
    # the method. Either way the connection ends.
    conn.sendall(w.method_frame(channel, method, b"\x00" * 8))
    got = w.expect_close(conn)
    if got != "socket closed":
        w.check_close(got, "connection", 503, *method)


DELIVER_ARGS = (shortstr("ctag") + longlong(1) + bits(0) + shortstr("")
                + shortstr("q"))
SERVER_ONLY_CONTENT = {
    "basic.deliver": (w.BASIC_DELIVER, DELIVER_ARGS),
    "basic.get-ok": (w.BASIC_GET_OK, longlong(1) + bits(0) + shortstr("")
                     + shortstr("q") + long_(0)),
    "basic.return": ((60, 50), short(312) + shortstr("NO_ROUTE")
                     + shortstr("") + shortstr("q")),
}


@pytest.mark.parametrize("name", sorted(SERVER_ONLY_CONTENT))
def test_server_only_content_method_is_503(conn, name):
    # The content is read first, then the method is refused.
    method, args = SERVER_ONLY_CONTENT[name]
    conn.sendall(w.method_frame(1, method, args) + w.header_frame(1, 3)
                 + w.body_frame(1, b"abc"))
    w.check_close(w.expect_close(conn), "connection", 503, *method,
                  text="COMMAND_INVALID - unimplemented method")


SERVER_ONLY = {
    "channel.open-ok": (1, w.CHANNEL_OPEN_OK, w.longstr("")),
    "channel.flow-ok": (1, w.CHANNEL_FLOW_OK, bits(1)),
    "channel.close-ok (unsolicited)": (1, w.CHANNEL_CLOSE_OK, b""),
    "queue.declare-ok": (1, w.QUEUE_DECLARE_OK, shortstr("q") + long_(0)
                         + long_(0)),
    "basic.consume-ok": (1, w.BASIC_CONSUME_OK, shortstr("ctag")),
    "basic.get-empty": (1, w.BASIC_GET_EMPTY, shortstr("")),
    "connection.start on channel 1": (
        1, w.CONNECTION_START, b"\x00\x09" + w.table({})
        + w.longstr("PLAIN") + w.longstr("en_US")),
}


@pytest.mark.parametrize("name", sorted(SERVER_ONLY))
def test_server_only_method_is_503(conn, name):
    channel, method, args = SERVER_ONLY[name]
    conn.sendall(w.method_frame(channel, method, args))
    w.check_close(w.expect_close(conn), "connection", 503, *method,
                  text="COMMAND_INVALID - unimplemented method")


CONNECTION_METHODS_AFTER_OPEN = {
    "connection.start": (w.CONNECTION_START, b"\x00\x09" + w.table({})
                         + w.longstr("PLAIN") + w.longstr("en_US")),
    "connection.tune": (w.CONNECTION_TUNE, w.tune_ok_args(0, 131072, 0)),
    "connection.open-ok": (w.CONNECTION_OPEN_OK, shortstr("")),
    "connection.tune-ok": (w.CONNECTION_TUNE_OK,
                           w.tune_ok_args(0, 131072, 0)),
    "connection.open": (w.CONNECTION_OPEN, w.open_args("/")),
}


@pytest.mark.parametrize("name", sorted(CONNECTION_METHODS_AFTER_OPEN))
def test_handshake_method_on_open_connection_is_504(conn, name):
    method, args = CONNECTION_METHODS_AFTER_OPEN[name]
    conn.sendall(w.method_frame(0, method, args))
    w.check_close(w.expect_close(conn), "connection", 504, *method,
                  text="CHANNEL_ERROR - unexpected method in connection "
                       "state running")


@pytest.mark.parametrize("method,args", [
    (w.BASIC_GET, w.basic_get_args("q")),
    (w.ACCESS_REQUEST, shortstr("/data") + bits(1, 0, 1, 1, 1)),
], ids=["basic.get", "access.request"])
def test_channel_method_on_channel_zero_is_504(conn, method, args):
    conn.sendall(w.method_frame(0, method, args))
    w.check_close(w.expect_close(conn), "connection", 504, *method)


# ---------------------------------------------------------------- case 6

@pytest.mark.parametrize("method,args", [
    (w.BASIC_GET, w.basic_get_args("q")),
    (w.CHANNEL_CLOSE, w.close_args()),
    (w.CHANNEL_FLOW, bits(1)),
], ids=["basic.get", "channel.close", "channel.flow"])
def test_method_on_unopened_channel_is_504(conn, method, args):
    conn.sendall(w.method_frame(5, method, args))
    w.check_close(w.expect_close(conn), "connection", 504, *method,
                  text="CHANNEL_ERROR - expected 'channel.open'")


def test_second_channel_open_is_504(conn):
    conn.sendall(w.method_frame(1, w.CHANNEL_OPEN, shortstr("")))
    w.check_close(w.expect_close(conn), "connection", 504, *w.CHANNEL_OPEN,
                  text="CHANNEL_ERROR - second 'channel.open' seen")


def test_channel_closed_by_close_ok_can_be_reopened(conn):
    conn.sendall(w.method_frame(1, w.CHANNEL_CLOSE, w.close_args()))
    w.expect_method(conn, w.CHANNEL_CLOSE_OK, 1)
    w.open_channel(conn, 1)
    conn.sendall(get(1, w.unique()))
    w.check_close(w.expect_close(conn), "channel", 404, *w.BASIC_GET)


def test_channel_count_over_channel_max_is_530():
    # RabbitMQ limits the number of open channels, not the channel number:
    # with channel_max=2 channels 7 and 9 open, a third is refused.
    sock = w.open_connection(channel=0, channel_max=2)
    try:
        w.open_channel(sock, 7)
        w.open_channel(sock, 9)
        sock.sendall(w.method_frame(3, w.CHANNEL_OPEN, shortstr("")))
        w.check_close(w.expect_close(sock), "connection", 530, 0, 0)
    finally:
        sock.close()


@pytest.mark.parametrize("channel_max,number", [(10, 11), (0, 65535)])
def test_channel_number_above_channel_max_is_accepted(channel_max, number):
    # RabbitMQ 3.10 quirk: only the count is checked, so a channel number
    # above the negotiated channel_max still opens and works. channel_max=0
    # here means "keep the broker's offer" (2047 on RabbitMQ).
    if channel_max == 0:
        sock = w.open_connection(channel=0)  # keep the broker's offer
    else:
        sock = w.open_connection(channel=0, channel_max=channel_max)
    try:
        w.open_channel(sock, number)
        name = w.unique()
        w.declare_queue(sock, number, name, exclusive=True)
        w.close_connection(sock)
    finally:
        sock.close()


DECLARE_HEAD = short(0) + shortstr("wire-bad-args") + bits(0, 0, 1, 1, 0)


@pytest.mark.parametrize("args", [
    # table length runs past the method payload
    DECLARE_HEAD + long_(100) + shortstr("k") + b"t\x01",
    # queue name shortstr runs past the payload
    short(0) + b"\x50abc",
    # valid arguments followed by trailing bytes
    DECLARE_HEAD + long_(0) + b"xyz",
    # arguments cut in the middle of the flags
    short(0) + shortstr("q"),
], ids=["table-overrun", "shortstr-overrun", "trailing-bytes", "truncated"])
def test_undecodable_method_arguments_are_501(conn, args):
    conn.sendall(w.method_frame(1, w.QUEUE_DECLARE, args))
    w.check_close(w.expect_close(conn), "connection", 501, *w.QUEUE_DECLARE)


@pytest.mark.parametrize("table_body", [
    shortstr("k") + b"Z\x00\x00",             # unknown type letter
    shortstr("k") + b"U\x00\x00",             # spec's signed 16, not used
    shortstr("k") + b"S" + long_(50) + b"ab",  # value overruns the table
], ids=["letter-Z", "letter-U", "value-overrun"])
def test_bad_field_table_drops_socket(conn, table_body):
    # RabbitMQ 3.10 quirk: an undecodable field *value* ends the connection
    # without connection.close (a table-length overrun gets 501, above).
    # Warren answers every undecodable argument with 501 FRAME_ERROR, as the
    # spec README asks; either way the connection ends.
    conn.sendall(w.method_frame(1, w.QUEUE_DECLARE, DECLARE_HEAD
                                + long_(len(table_body)) + table_body))
    got = w.expect_close(conn)
    if got != "socket closed":
        w.check_close(got, "connection", 501, *w.QUEUE_DECLARE)


@pytest.mark.parametrize("channel", [0, 1])
def test_content_header_without_publish_is_505(conn, channel):
    conn.sendall(w.header_frame(channel, 3))
    w.check_close(w.expect_close(conn), "connection", 505, 0, 0)


@pytest.mark.parametrize("channel", [0, 1])
def test_body_without_header_is_505(conn, channel):
    conn.sendall(w.body_frame(channel, b"abc"))
    w.check_close(w.expect_close(conn), "connection", 505, 0, 0)


def test_body_after_complete_message_is_505(conn, queue):
    conn.sendall(publish(1, queue) + w.header_frame(1, 3)
                 + w.body_frame(1, b"abc") + w.body_frame(1, b"d"))
    w.check_close(w.expect_close(conn), "connection", 505, 0, 0)


def test_empty_body_frame_after_zero_size_header_is_505(conn, queue):
    conn.sendall(publish(1, queue) + w.header_frame(1, 0)
                 + w.body_frame(1, b""))
    w.check_close(w.expect_close(conn), "connection", 505, 0, 0)


@pytest.mark.parametrize("bodies", [[b"abcdef"], [b"ab", b"cd"]],
                         ids=["one-frame", "two-frames"])
def test_body_larger_than_announced_is_505(conn, queue, bodies):
    # RabbitMQ keeps waiting for the body to end exactly, so the error shows
    # when the next method arrives; refusing the body itself is as good.
    conn.sendall(publish(1, queue) + w.header_frame(1, 3)
                 + b"".join(w.body_frame(1, b) for b in bodies) + get(1, queue))
    w.check_close(w.expect_close(conn), "connection", 505, *w.BASIC_PUBLISH)


@pytest.mark.parametrize("class_id", [0, 50, 99])
def test_header_class_differs_from_method_is_505(conn, queue, class_id):
    conn.sendall(publish(1, queue) + w.header_frame(1, 3, class_id=class_id))
    w.check_close(w.expect_close(conn), "connection", 505, *w.BASIC_PUBLISH)


def test_header_with_nonzero_weight_is_505(conn, queue):
    conn.sendall(publish(1, queue) + w.frame(
        w.FRAME_HEADER, 1, struct.pack(">HHQH", 60, 5, 0, 0)))
    w.check_close(w.expect_close(conn), "connection", 505, *w.BASIC_PUBLISH)


@pytest.mark.parametrize("stage", ["before-header", "before-body",
                                   "mid-body", "second-publish"])
def test_method_inside_content_is_505(conn, queue, stage):
    frames = {
        "before-header": [get(1, queue)],
        "before-body": [w.header_frame(1, 3), get(1, queue)],
        "mid-body": [w.header_frame(1, 3), w.body_frame(1, b"a"),
                     get(1, queue)],
        "second-publish": [publish(1, queue)],
    }[stage]
    conn.sendall(publish(1, queue) + b"".join(frames))
    w.check_close(w.expect_close(conn), "connection", 505, *w.BASIC_PUBLISH)


def test_truncated_content_properties_are_541(conn, queue):
    # content-type flag set but no property bytes. RabbitMQ decodes the
    # properties late and fails with 541 INTERNAL_ERROR (its own crash);
    # Warren decodes them on arrival and answers 501 FRAME_ERROR.
    conn.sendall(publish(1, queue) + w.header_frame(1, 0, flags=0x8000))
    got = w.expect_close(conn)
    assert got != "socket closed"
    if got[1] == 541:
        w.check_close(got, "connection", 541, 0, 0)
    else:
        w.check_close(got, "connection", 501, *w.BASIC_PUBLISH)


def test_heartbeat_and_other_channel_between_content_frames(conn, queue):
    # Content frames on one channel may be interleaved with heartbeats and
    # with frames of other channels.
    w.open_channel(conn, 2)
    conn.sendall(publish(1, queue) + w.heartbeat_frame()
                 + w.header_frame(1, 6) + w.body_frame(1, b"abc")
                 + w.method_frame(2, w.BASIC_QOS, w.basic_qos_args(0, 5))
                 + w.heartbeat_frame() + w.body_frame(1, b"def"))
    w.expect_method(conn, w.BASIC_QOS_OK, 2)
    assert w.get_message(conn, 1, queue) == b"abcdef"


# ---------------------------------------------------------------- case 10

def test_connection_close_gets_close_ok(conn):
    conn.sendall(w.method_frame(0, w.CONNECTION_CLOSE,
                                w.close_args(200, "bye")))
    w.expect_method(conn, w.CONNECTION_CLOSE_OK, 0)


def test_channel_close_gets_close_ok_and_connection_lives(conn, queue):
    w.open_channel(conn, 2)
    conn.sendall(w.method_frame(2, w.CHANNEL_CLOSE, w.close_args(200, "bye")))
    w.expect_method(conn, w.CHANNEL_CLOSE_OK, 2)
    conn.sendall(publish(1, queue) + w.header_frame(1, 2)
                 + w.body_frame(1, b"ok"))
    assert w.get_message(conn, 1, queue) == b"ok"


def test_channel_flow_active_false_is_540(conn):
    conn.sendall(w.method_frame(1, w.CHANNEL_FLOW, bits(0)))
    w.check_close(w.expect_close(conn), "connection", 540, *w.CHANNEL_FLOW,
                  text="NOT_IMPLEMENTED - active=false")


def test_channel_flow_active_true_is_flow_ok_true(conn):
    conn.sendall(w.method_frame(1, w.CHANNEL_FLOW, bits(1)))
    assert w.expect_method(conn, w.CHANNEL_FLOW_OK, 1) == {"active": True}


# ---------------------------------------------------------------- case 13

@pytest.mark.parametrize("global_", [False, True])
def test_qos_prefetch_size_is_540(conn, global_):
    conn.sendall(w.method_frame(1, w.BASIC_QOS,
                                w.basic_qos_args(1000, 10, global_)))
    w.check_close(w.expect_close(conn), "connection", 540, *w.BASIC_QOS,
                  text="NOT_IMPLEMENTED - prefetch_size!=0 (1000)")


def test_qos_prefetch_count_only_is_ok(conn):
    conn.sendall(w.method_frame(1, w.BASIC_QOS, w.basic_qos_args(0, 10)))
    w.expect_method(conn, w.BASIC_QOS_OK, 1)


@pytest.mark.parametrize("method", [w.BASIC_RECOVER, (60, 100)],
                         ids=["recover", "recover-async"])
def test_recover_requeue_false_is_540(conn, method):
    conn.sendall(w.method_frame(1, method, bits(0)))
    w.check_close(w.expect_close(conn), "connection", 540, *method,
                  text="NOT_IMPLEMENTED - requeue=false")


def test_recover_requeue_true_is_recover_ok(conn):
    conn.sendall(w.method_frame(1, w.BASIC_RECOVER, bits(1)))
    w.expect_method(conn, w.BASIC_RECOVER_OK, 1)


def test_publish_immediate_is_540(conn, queue):
    # Refused once the content has arrived.
    conn.sendall(publish(1, queue, immediate=True) + w.header_frame(1, 2)
                 + w.body_frame(1, b"hi"))
    w.check_close(w.expect_close(conn), "connection", 540, *w.BASIC_PUBLISH,
                  text="NOT_IMPLEMENTED - immediate=true")


def test_access_request_is_request_ok(conn):
    conn.sendall(w.method_frame(1, w.ACCESS_REQUEST,
                                shortstr("/data") + bits(1, 0, 1, 1, 1)))
    assert w.expect_method(conn, w.ACCESS_REQUEST_OK, 1) == {"ticket": 1}
