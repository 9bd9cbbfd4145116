"""max_message_size in the settings file (Warren only): a body one byte over
the limit is refused with 406 on the channel, RabbitMQ's text, and nothing
of it is queued; a body of exactly the limit goes through; the connection
stays usable."""
import pika
import pytest

from conftest import assert_usable

LIMIT = 1024 * 1024
CONFIG = ["max_message_size = %d" % LIMIT]


def setup_target(t):
    t.user = t.name("user")
    t.add_user(t.user)
    t.set_permissions("/", t.user, ".*", ".*", ".*")


def test_body_over_max_message_size_is_406(target):
    conn = target.connect(target.user)
    ch = conn.channel()
    q = target.name("big")
    ch.queue_declare(q, auto_delete=True)
    ch.basic_publish("", q, b"x" * LIMIT)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.basic_publish("", q, b"y" * (LIMIT + 1))
        ch.queue_declare(q, passive=True)  # a round trip: the close arrives
    assert e.value.reply_code == 406
    assert e.value.reply_text == ("PRECONDITION_FAILED - message size %d is larger than "
                                  "configured max size %d" % (LIMIT + 1, LIMIT))
    ch = conn.channel()
    assert ch.queue_declare(q, passive=True).method.message_count == 1
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert method is not None and len(body) == LIMIT
    assert_usable(conn)
    conn.close()
