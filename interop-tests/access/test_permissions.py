"""The permission matrix: every AMQP operation that RabbitMQ checks, tried by
users holding exactly one, two, all or none of configure / write / read on
the module's vhost, against resources that a user with every permission made.

RabbitMQ checks an operation's permissions one after the other and refuses
with the first that fails, so each operation lists its checks in RabbitMQ's
order and the expected answer for a user is the first check it cannot pass
(a 403 channel close naming that permission and resource), or success.
"""
import re

import pika
import pytest

from conftest import assert_usable, channel_refusal, ping

PERMS = {  # user suffix -> the permissions it holds ('.*'), others ''
    "all": "cwr", "c": "c", "w": "w", "r": "r", "none": "",
    "cw": "cw", "cr": "cr", "wr": "wr",
}
WORD = {"c": "configure", "w": "write", "r": "read"}
SERVER_NAMED = "<server-named>"


def setup_target(t):
    t.vhost = t.name("matrix")
    t.add_vhost(t.vhost)
    t.users = {}
    for suffix, held in PERMS.items():
        user = t.users[suffix] = t.name(suffix)
        t.add_user(user)
        t.set_permissions(t.vhost, user, *(".*" if p in held else "" for p in "cwr"))
    # regular expressions: anchored, unanchored (a search, as RabbitMQ's),
    # and '^$', which is what an empty pattern means
    t.users["anchored"] = t.name("anchored")
    t.add_user(t.users["anchored"])
    t.set_permissions(t.vhost, t.users["anchored"], "^cfg-.*", "^cfg-.*", "^cfg-.*")
    t.users["unanchored"] = t.name("unanchored")
    t.add_user(t.users["unanchored"])
    t.set_permissions(t.vhost, t.users["unanchored"], "cfg", "", "")
    t.users["caret-dollar"] = t.name("caret-dollar")
    t.add_user(t.users["caret-dollar"])
    t.set_permissions(t.vhost, t.users["caret-dollar"], "^$", "^$", "^$")


class Owner:
    """The all-permissions user's channel, which makes and inspects the
    resources; a fresh one after any error."""

    def __init__(self, t):
        self.t = t
        self.ch = None

    def __call__(self):
        if self.ch is None or not self.ch.is_open:
            self.ch = self.t.conn(self.t.users["all"], self.t.vhost).channel()
            self.ch.confirm_delivery()
        return self.ch

    def count(self, queue):
        return self().queue_declare(queue, passive=True).method.message_count

    def exists(self, kind, name):
        ch = self.t.conn(self.t.users["all"], self.t.vhost).channel()
        try:
            if kind == "exchange":
                ch.exchange_declare(name, passive=True)
            else:
                ch.queue_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as e:
            assert e.reply_code == 404, e
            return False
        ch.close()
        return True


@pytest.fixture(scope="module")
def owner(target):
    return Owner(target)


# -- the operations ---------------------------------------------------------
# Each: prepare(owner, b) makes what the operation needs (names start with b,
# unique to the operation and user); run(ch, b) does it as the user;
# checks(b) lists (permission, kind, name) in RabbitMQ's order; after(owner,
# b, ok) looks at the effect (ok: whether the broker accepted).


def declare(kinds):
    def prepare(owner, b):
        ch = owner()
        for kind, suffix in kinds:
            if kind == "q":
                ch.queue_declare(b + suffix)
            else:
                ch.exchange_declare(b + suffix, "direct")
    return prepare


def with_message(b_queue):
    def prepare(owner, b):
        ch = owner()
        ch.queue_declare(b + b_queue)
        ch.basic_publish("", b + b_queue, b"m", mandatory=True)
    return prepare


def bound(owner, b):
    ch = owner()
    ch.queue_declare(b + "-q")
    ch.exchange_declare(b + "-x", "direct")
    ch.queue_bind(b + "-q", b + "-x", "k")


def x2x_bound(owner, b):
    ch = owner()
    ch.exchange_declare(b + "-s", "direct")
    ch.exchange_declare(b + "-d", "direct")
    ch.exchange_bind(b + "-d", b + "-s", "k")


def publish(exchange, key):
    """basic.publish on a confirm channel: the confirm (or the refusal)
    comes after the message reached its queue."""
    def run(ch, b):
        ch.confirm_delivery()
        ch.basic_publish(exchange(b), key(b), b"m")
    return run


def exists_when(kind, suffix, when_ok):
    """after(): the resource exists if the operation passed (when_ok=True:
    a declare) or was refused (when_ok=False: a delete)."""
    def after(owner, b, ok):
        assert owner.exists(kind, b + suffix) == (when_ok if ok else not when_ok)
    return after


def queue_count(suffix, if_ok, if_refused):
    def after(owner, b, ok):
        assert owner.count(b + suffix) == (if_ok if ok else if_refused)
    return after


def nothing(owner, b, ok):
    pass


OPS = {
    "exchange.declare": (
        None, lambda ch, b: ch.exchange_declare(b + "-x", "direct"),
        lambda b: [("c", "exchange", b + "-x")], exists_when("exchange", "-x", True)),
    # A new exchange with an alternate exchange: configure and read on it,
    # then write on the alternate.
    "exchange.declare(alternate-exchange)": (
        declare([("x", "-ae")]),
        lambda ch, b: ch.exchange_declare(b + "-x", "direct",
                                          arguments={"alternate-exchange": b + "-ae"}),
        lambda b: [("c", "exchange", b + "-x"), ("r", "exchange", b + "-x"),
                   ("w", "exchange", b + "-ae")],
        nothing),
    "exchange.delete": (
        declare([("x", "-x")]), lambda ch, b: ch.exchange_delete(b + "-x"),
        lambda b: [("c", "exchange", b + "-x")], exists_when("exchange", "-x", False)),
    "queue.declare": (
        None, lambda ch, b: ch.queue_declare(b + "-q"),
        lambda b: [("c", "queue", b + "-q")], exists_when("queue", "-q", True)),
    # A new queue with a dead-letter exchange: configure and read on the
    # queue, then write on the exchange.
    "queue.declare(x-dead-letter-exchange)": (
        declare([("x", "-dlx")]),
        lambda ch, b: ch.queue_declare(b + "-q", arguments={"x-dead-letter-exchange": b + "-dlx"}),
        lambda b: [("c", "queue", b + "-q"), ("r", "queue", b + "-q"),
                   ("w", "exchange", b + "-dlx")],
        nothing),
    "queue.declare(server-named)": (
        None, lambda ch, b: ch.queue_declare(""),
        lambda b: [("c", "queue", SERVER_NAMED)], nothing),
    "queue.delete": (
        declare([("q", "-q")]), lambda ch, b: ch.queue_delete(b + "-q"),
        lambda b: [("c", "queue", b + "-q")], exists_when("queue", "-q", False)),
    "queue.purge": (
        with_message("-q"), lambda ch, b: ch.queue_purge(b + "-q"),
        lambda b: [("r", "queue", b + "-q")], queue_count("-q", 0, 1)),
    # bind and unbind: write on the queue, then read on the exchange
    "queue.bind": (
        declare([("q", "-q"), ("x", "-x")]), lambda ch, b: ch.queue_bind(b + "-q", b + "-x", "k"),
        lambda b: [("w", "queue", b + "-q"), ("r", "exchange", b + "-x")], nothing),
    "queue.unbind": (
        bound, lambda ch, b: ch.queue_unbind(b + "-q", b + "-x", "k"),
        lambda b: [("w", "queue", b + "-q"), ("r", "exchange", b + "-x")], nothing),
    # exchange to exchange: write on the destination, read on the source
    "exchange.bind": (
        declare([("x", "-s"), ("x", "-d")]),
        lambda ch, b: ch.exchange_bind(b + "-d", b + "-s", "k"),
        lambda b: [("w", "exchange", b + "-d"), ("r", "exchange", b + "-s")], nothing),
    "exchange.unbind": (
        x2x_bound, lambda ch, b: ch.exchange_unbind(b + "-d", b + "-s", "k"),
        lambda b: [("w", "exchange", b + "-d"), ("r", "exchange", b + "-s")], nothing),
    "basic.publish": (
        bound, publish(lambda b: b + "-x", lambda b: "k"),
        lambda b: [("w", "exchange", b + "-x")], queue_count("-q", 1, 0)),
    # The default exchange is checked under the name 'amq.default'.
    "basic.publish(default exchange)": (
        declare([("q", "-q")]), publish(lambda b: "", lambda b: b + "-q"),
        lambda b: [("w", "exchange", "amq.default")], queue_count("-q", 1, 0)),
    "basic.get": (
        with_message("-q"),
        lambda ch, b: ch.basic_get(b + "-q", auto_ack=True)[2] == b"m" or pytest.fail("no message"),
        lambda b: [("r", "queue", b + "-q")], queue_count("-q", 0, 1)),
    "basic.consume": (
        declare([("q", "-q")]),
        lambda ch, b: ch.basic_consume(b + "-q", lambda *a: None, auto_ack=True),
        lambda b: [("r", "queue", b + "-q")], nothing),
}


def first_refusal(held, checks):
    for perm, kind, name in checks:
        if perm not in held:
            return perm, kind, name
    return None


def assert_refused_text(target, text, user, perm, kind, name):
    expected = target.refused(WORD[perm], kind, name, target.vhost, user)
    if name == SERVER_NAMED:
        pattern = re.escape(expected).replace(re.escape(SERVER_NAMED), r"amq\.gen-[A-Za-z0-9_-]+")
        assert re.fullmatch(pattern, text), (text, expected)
    else:
        assert text == expected


@pytest.mark.parametrize("user", list(PERMS))
@pytest.mark.parametrize("op", list(OPS))
def test_operation(target, owner, op, user):
    prepare, run, checks, after = OPS[op]
    b = "%s-%s" % (op.replace("(", "-").replace(")", "").replace(" ", "-"), user)
    if prepare:
        prepare(owner, b)
    conn = target.conn(target.users[user], target.vhost)
    ch = conn.channel()
    refusal = first_refusal(PERMS[user], checks(b))
    if refusal is None:
        run(ch, b)
        ping(ch)
        ch.close()
    else:
        code, text = channel_refusal(lambda: run(ch, b))
        assert code == 403
        assert_refused_text(target, text, target.users[user], *refusal)
    assert_usable(conn)
    after(owner, b, refusal is None)


# -- passive declares ---------------------------------------------------------
# RabbitMQ 3.10 checks no permission on a passive exchange.declare or
# queue.declare. Current RabbitMQ (rabbitmq-server#16085, after 4.2) requires
# any one of configure, write or read on the resource, and refuses with the
# configure text; Warren follows current RabbitMQ. So: Warren must refuse the
# user with no permissions; RabbitMQ 3.x must let everyone through; a newer
# RabbitMQ may do either.

@pytest.mark.parametrize("user", list(PERMS))
@pytest.mark.parametrize("kind", ["exchange", "queue"])
def test_passive_declare(target, owner, kind, user):
    name = "passive-%s-%s" % (kind, user)
    if kind == "exchange":
        owner().exchange_declare(name, "direct")
        op = lambda ch: ch.exchange_declare(name, passive=True)  # noqa: E731
    else:
        owner().queue_declare(name)
        op = lambda ch: ch.queue_declare(name, passive=True)  # noqa: E731
    conn = target.conn(target.users[user], target.vhost)
    ch = conn.channel()
    if target.warren:
        must_refuse = PERMS[user] == ""
    elif target.rabbit_version() < (4,):
        must_refuse = False
    else:
        must_refuse = None  # either answer
    if must_refuse is False or (must_refuse is None and PERMS[user]):
        op(ch)
        ch.close()
    else:
        try:
            op(ch)
        except pika.exceptions.ChannelClosedByBroker as e:
            assert e.reply_code == 403
            assert_refused_text(target, e.reply_text, target.users[user], "c", kind, name)
        else:
            assert must_refuse is None, "passive declare by a user without permissions passed"
    assert_usable(conn)


def test_passive_declare_of_missing_resource_is_404_for_a_permitted_user(target):
    conn = target.conn(target.users["r"], target.vhost)
    ch = conn.channel()
    code, _ = channel_refusal(lambda: ch.queue_declare("passive-missing", passive=True))
    assert code == 404
    assert_usable(conn)


# -- regular expressions ----------------------------------------------------

def refused_or_ok(target, user, op, perm=None, kind=None, name=None):
    conn = target.conn(user, target.vhost)
    ch = conn.channel()
    if perm is None:
        op(ch)
        ping(ch)
        ch.close()
    else:
        code, text = channel_refusal(lambda: op(ch))
        assert (code, text) == (403, target.refused(perm, kind, name, target.vhost, user))
    assert_usable(conn)


def test_anchored_pattern_allows_matching_names(target, owner):
    u = target.users["anchored"]
    refused_or_ok(target, u, lambda ch: ch.exchange_declare("cfg-x", "fanout"))
    refused_or_ok(target, u, lambda ch: ch.queue_declare("cfg-q"))
    refused_or_ok(target, u, lambda ch: ch.queue_bind("cfg-q", "cfg-x"))
    refused_or_ok(target, u, lambda ch: (ch.basic_publish("cfg-x", "", b"m"), ping(ch)))
    assert owner.count("cfg-q") == 1
    refused_or_ok(target, u, lambda ch: ch.basic_get("cfg-q", auto_ack=True))
    assert owner.count("cfg-q") == 0


def test_anchored_pattern_refuses_other_names(target):
    u = target.users["anchored"]
    refused_or_ok(target, u, lambda ch: ch.exchange_declare("other-x", "fanout"),
                  "configure", "exchange", "other-x")
    refused_or_ok(target, u, lambda ch: ch.queue_declare("x-cfg-q"),
                  "configure", "queue", "x-cfg-q")
    refused_or_ok(target, u, lambda ch: (ch.basic_publish("", "cfg-q", b"m"), ping(ch)),
                  "write", "exchange", "amq.default")


def test_unanchored_pattern_matches_anywhere_in_the_name(target):
    u = target.users["unanchored"]
    refused_or_ok(target, u, lambda ch: ch.exchange_declare("my-cfg-x", "fanout"))
    refused_or_ok(target, u, lambda ch: ch.queue_declare("q-cfg"))
    refused_or_ok(target, u, lambda ch: ch.exchange_declare("other-x", "fanout"),
                  "configure", "exchange", "other-x")


def test_empty_pattern_means_caret_dollar(target):
    # '' grants nothing (it is '^$', not "match anything"): the matrix above
    # already refuses the '' permissions of users c, w, r and none; a user
    # with '^$' written out is refused the same way.
    u = target.users["caret-dollar"]
    refused_or_ok(target, u, lambda ch: ch.exchange_declare("any-x", "fanout"),
                  "configure", "exchange", "any-x")
    refused_or_ok(target, u, lambda ch: (ch.basic_publish("", "any", b"m"), ping(ch)),
                  "write", "exchange", "amq.default")
