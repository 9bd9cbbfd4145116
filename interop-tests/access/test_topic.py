"""Topic permissions: write and read patterns on routing keys, per user,
vhost and exchange, checked only on topic exchanges.

User "t" has every permission on the vhost, and topic permissions on
amq.topic (write '^allowed\\.', read '^r\\.') and on amq.direct (the same, to
show that other exchange types ignore them). User "vars" has '{username}'
and '{vhost}' patterns on amq.topic; "cleared" had topic permissions that
clear_topic_permissions removed; "plain" never had any.
"""
import pika
import pytest

from conftest import assert_usable, channel_refusal, ping


def setup_target(t):
    t.vhost = t.name("topic")
    t.add_vhost(t.vhost)
    t.users = {s: t.name(s) for s in ("owner", "t", "vars", "cleared", "plain")}
    for user in t.users.values():
        t.add_user(user)
        t.set_permissions(t.vhost, user, ".*", ".*", ".*")
    u = t.users
    t.ctl("set_topic_permissions", "-p", t.vhost, u["t"], "amq.topic", r"^allowed\.", r"^r\.")
    t.ctl("set_topic_permissions", "-p", t.vhost, u["t"], "amq.direct", r"^allowed\.", r"^r\.")
    t.ctl("set_topic_permissions", "-p", t.vhost, u["vars"], "amq.topic",
          r"^{username}\.", r"^{vhost}\.")
    t.ctl("set_topic_permissions", "-p", t.vhost, u["cleared"], "amq.topic", "^nothing$", "^nothing$")
    t.ctl("clear_topic_permissions", "-p", t.vhost, u["cleared"], "amq.topic")


@pytest.fixture(scope="module")
def owner(target):
    ch = target.conn(target.users["owner"], target.vhost).channel()
    ch.confirm_delivery()
    return ch


def queue_for(owner, name, exchange, key):
    """A queue of the owner's, bound to exchange with key, empty."""
    owner.queue_declare(name)
    owner.queue_bind(name, exchange, key)
    owner.queue_purge(name)
    return name


def drain(owner, queue):
    out = []
    while True:
        method, _props, body = owner.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append(body)


def publish_as(target, user, exchange, key, body=b"m", headers=None):
    """Publish on a confirm channel (so the message has been routed when it
    returns); a refusal raises."""
    conn = target.conn(user, target.vhost)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish(exchange, key, body, pika.BasicProperties(headers=headers))
    ch.close()


def refused_publish(target, user, exchange, key, headers=None):
    conn = target.conn(user, target.vhost)
    ch = conn.channel()
    ch.confirm_delivery()
    code, text = channel_refusal(
        lambda: ch.basic_publish(exchange, key, b"m", pika.BasicProperties(headers=headers)))
    assert_usable(conn)
    return code, text


def test_publish_with_matching_key_is_allowed(target, owner):
    q = queue_for(owner, "pub-ok", "amq.topic", "allowed.#")
    publish_as(target, target.users["t"], "amq.topic", "allowed.x", b"yes")
    assert drain(owner, q) == [b"yes"]


def test_publish_with_other_key_is_refused(target, owner):
    q = queue_for(owner, "pub-refused", "amq.topic", "#")
    u = target.users["t"]
    code, text = refused_publish(target, u, "amq.topic", "other.x")
    assert code == 403
    assert text == target.topic_refused("write", "other.x", "amq.topic", target.vhost, u)
    assert drain(owner, q) == []


def test_bind_with_matching_key_is_allowed(target, owner):
    owner.queue_declare("bind-ok")
    conn = target.conn(target.users["t"], target.vhost)
    ch = conn.channel()
    ch.queue_bind("bind-ok", "amq.topic", "r.x")
    ch.queue_unbind("bind-ok", "amq.topic", "r.x")
    ch.close()


@pytest.mark.parametrize("how", ["queue.bind", "queue.unbind", "exchange.bind"])
def test_bind_with_other_key_is_refused(target, owner, how):
    owner.queue_declare("bind-refused")
    owner.exchange_declare("bind-refused-dest", "fanout")
    owner.queue_bind("bind-refused", "amq.topic", "s.x")  # for the unbind
    u = target.users["t"]
    conn = target.conn(u, target.vhost)
    ch = conn.channel()
    ops = {
        "queue.bind": lambda: ch.queue_bind("bind-refused", "amq.topic", "s.y"),
        "queue.unbind": lambda: ch.queue_unbind("bind-refused", "amq.topic", "s.x"),
        "exchange.bind": lambda: ch.exchange_bind("bind-refused-dest", "amq.topic", "s.y"),
    }
    code, text = channel_refusal(ops[how])
    key = "s.x" if how == "queue.unbind" else "s.y"
    assert (code, text) == (403, target.topic_refused("read", key, "amq.topic", target.vhost, u))
    assert_usable(conn)


def test_other_exchange_types_ignore_topic_permissions(target, owner):
    # the same patterns on amq.direct restrict nothing
    q = queue_for(owner, "direct", "amq.direct", "other.x")
    conn = target.conn(target.users["t"], target.vhost)
    ch = conn.channel()
    ch.queue_bind(q, "amq.direct", "s.x")
    ch.close()
    publish_as(target, target.users["t"], "amq.direct", "other.x", b"direct")
    assert drain(owner, q) == [b"direct"]


def test_topic_exchange_without_topic_permissions_is_unrestricted(target, owner):
    owner.exchange_declare("free", "topic")
    q = queue_for(owner, "free-q", "free", "#")
    publish_as(target, target.users["t"], "free", "other.x", b"free")
    assert drain(owner, q) == [b"free"]


@pytest.mark.parametrize("user", ["plain", "cleared"])
def test_user_without_topic_permissions_is_unrestricted(target, owner, user):
    q = queue_for(owner, "unrestricted-" + user, "amq.topic", "other.*")
    publish_as(target, target.users[user], "amq.topic", "other.x", b"any")
    assert drain(owner, q) == [b"any"]
    conn = target.conn(target.users[user], target.vhost)
    ch = conn.channel()
    ch.queue_bind(q, "amq.topic", "s.x")
    ch.close()


def test_username_variable_in_write_pattern(target, owner):
    u = target.users["vars"]
    q = queue_for(owner, "vars-w", "amq.topic", "#")
    publish_as(target, u, "amq.topic", u + ".a", b"mine")
    assert drain(owner, q) == [b"mine"]
    other = target.users["plain"] + ".a"
    code, text = refused_publish(target, u, "amq.topic", other)
    assert (code, text) == (403, target.topic_refused("write", other, "amq.topic", target.vhost, u))


def test_vhost_variable_in_read_pattern(target, owner):
    u = target.users["vars"]
    owner.queue_declare("vars-r")
    conn = target.conn(u, target.vhost)
    ch = conn.channel()
    ch.queue_bind("vars-r", "amq.topic", target.vhost + ".a")
    code, text = channel_refusal(lambda: ch.queue_bind("vars-r", "amq.topic", u + ".a"))
    assert (code, text) == (403, target.topic_refused("read", u + ".a", "amq.topic",
                                                      target.vhost, u))
    assert_usable(conn)


@pytest.mark.parametrize("header", ["CC", "BCC"])
def test_cc_header_keys(target, owner, header):
    """RabbitMQ 3.10 checks the routing key only: a CC or BCC key that the
    write pattern refuses still routes. RabbitMQ 4.1 and later check every
    key, refusing with the first refused one; Warren does the same."""
    q = queue_for(owner, "cc-" + header, "amq.topic", "zzz.cc")
    u = target.users["t"]
    headers = {header: ["zzz.cc"]}
    if target.current_rabbitmq((4, 1)):
        code, text = refused_publish(target, u, "amq.topic", "allowed.x", headers)
        assert (code, text) == (403, target.topic_refused("write", "zzz.cc", "amq.topic",
                                                          target.vhost, u))
        assert drain(owner, q) == []
    else:
        publish_as(target, u, "amq.topic", "allowed.x", b"cc", headers)
        assert drain(owner, q) == [b"cc"]


def test_refused_publish_leaves_channel_state_alone(target, owner):
    # after a refusal the same user publishes with an allowed key again
    q = queue_for(owner, "after", "amq.topic", "allowed.after")
    u = target.users["t"]
    refused_publish(target, u, "amq.topic", "other.after")
    publish_as(target, u, "amq.topic", "allowed.after", b"again")
    assert drain(owner, q) == [b"again"]
    ping(owner)
