"""Connection limits per vhost and per user (set_vhost_limits,
set_user_limits): the connection.open past the limit is refused with
connection.close 530 NOT_ALLOWED, and a slot freed by a close can be used
again."""
import pytest

from conftest import PASSWORD, connect_when_freed, open_refusal, ping


def setup_target(t):
    t.vhosts = {s: t.name(s) for s in ("two", "zero", "free")}
    t.users = {s: t.name(s) for s in ("a", "b", "single")}
    for vhost in t.vhosts.values():
        t.add_vhost(vhost)
    for user in t.users.values():
        t.add_user(user)
        for vhost in t.vhosts.values():
            t.set_permissions(vhost, user, ".*", ".*", ".*")
    t.ctl("set_vhost_limits", "-p", t.vhosts["two"], '{"max-connections": 2}')
    t.ctl("set_vhost_limits", "-p", t.vhosts["zero"], '{"max-connections": 0}')
    t.ctl("set_user_limits", t.users["single"], '{"max-connections": 1}')


def vhost_full(vhost, user, limit):
    return (530, "NOT_ALLOWED - access to vhost '%s' refused for user '%s': "
                 "connection limit (%d) is reached" % (vhost, user, limit))


def user_full(user, limit):
    return (530, "NOT_ALLOWED - connection refused for user '%s': "
                 "user connection limit (%d) is reached" % (user, limit))


def test_vhost_connection_limit(target):
    vhost, a, b = target.vhosts["two"], target.users["a"], target.users["b"]
    first = target.connect(a, vhost=vhost)
    target.connect(b, vhost=vhost)
    # the limit counts connections of every user
    assert open_refusal(lambda: target.connect(a, vhost=vhost)) == vhost_full(vhost, a, 2)
    assert open_refusal(lambda: target.connect(b, vhost=vhost)) == vhost_full(vhost, b, 2)
    ping(first.channel())  # the open ones are unaffected
    # other vhosts are not limited by it
    target.connect(a, vhost=target.vhosts["free"]).close()
    first.close()
    connect_when_freed(target, a, PASSWORD, vhost).close()


def test_vhost_limit_zero_refuses_every_connection(target):
    vhost, a = target.vhosts["zero"], target.users["a"]
    assert open_refusal(lambda: target.connect(a, vhost=vhost)) == vhost_full(vhost, a, 0)


def test_user_connection_limit(target):
    u = target.users["single"]
    first = target.connect(u, vhost=target.vhosts["free"])
    expected = user_full(u, 1)
    assert open_refusal(lambda: target.connect(u, vhost=target.vhosts["free"])) == expected
    # the limit is the user's, across vhosts
    assert open_refusal(lambda: target.connect(u, vhost=target.vhosts["two"])) == expected
    # other users are not limited by it
    target.connect(target.users["b"], vhost=target.vhosts["free"]).close()
    ping(first.channel())
    first.close()
    connect_when_freed(target, u, PASSWORD, target.vhosts["free"]).close()


def test_user_limit_does_not_hide_wrong_password(target):
    # login comes first: a wrong password is a login refusal, not a limit
    u = target.users["single"]
    first = target.connect(u, vhost=target.vhosts["free"])
    code, _text = open_refusal(lambda: target.connect(u, "wrong", target.vhosts["free"]))
    assert code == 403
    first.close()


@pytest.fixture(autouse=True)
def _close_between_tests(target):
    yield
    target.close_connections()
