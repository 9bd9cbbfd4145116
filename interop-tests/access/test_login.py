"""Login and vhost access: passwords, deleted and changed users, vhosts
without permissions, unknown and deleted vhosts, and the loopback-only guest.

A refused login is a connection.close 403 whose text says only which
mechanism refused (the reason goes to the broker's log); a refused vhost is
connection.close 530 NOT_ALLOWED after login.
"""
import pytest

from conftest import LOGIN_REFUSED, MODE, PASSWORD, open_refusal, own_address, ping

# Warren listens on every address so that a client can come from this
# machine's own non-loopback address (guest stays loopback-only).
BIND = "0.0.0.0"


def setup_target(t):
    t.vhost = t.name("login")
    t.add_vhost(t.vhost)
    t.users = {s: t.name(s) for s in ("ok", "deleted", "changed", "nop", "cleared")}
    for user in t.users.values():
        t.add_user(user)
    u = t.users
    t.set_permissions(t.vhost, u["ok"], ".*", ".*", ".*")
    t.set_permissions(t.vhost, u["changed"], ".*", ".*", ".*")
    t.set_permissions(t.vhost, u["cleared"], ".*", ".*", ".*")
    t.ctl("clear_permissions", "-p", t.vhost, u["cleared"])
    t.set_permissions(t.vhost, u["deleted"], ".*", ".*", ".*")
    t.ctl("delete_user", u["deleted"])
    t.ctl("change_password", u["changed"], "new-" + PASSWORD)
    t.gone_vhost = t.name("gone")
    t.add_vhost(t.gone_vhost)
    t.ctl("delete_vhost", t.gone_vhost)


def login_ok(target, user, password=PASSWORD, vhost=None, host=None):
    conn = target.connect(user, password, vhost or target.vhost, host)
    ch = conn.channel()
    ping(ch)
    conn.close()


def refusal(target, user, password=PASSWORD, vhost=None, host=None):
    return open_refusal(lambda: target.connect(user, password, vhost or target.vhost, host))


def test_user_with_permissions_logs_in(target):
    login_ok(target, target.users["ok"])


def test_wrong_password_is_refused(target):
    assert refusal(target, target.users["ok"], "wrong") == (403, LOGIN_REFUSED)


def test_unknown_user_is_refused(target):
    assert refusal(target, target.name("nobody")) == (403, LOGIN_REFUSED)


def test_deleted_user_is_refused(target):
    assert refusal(target, target.users["deleted"]) == (403, LOGIN_REFUSED)


def test_changed_password_replaces_the_old_one(target):
    login_ok(target, target.users["changed"], "new-" + PASSWORD)
    assert refusal(target, target.users["changed"]) == (403, LOGIN_REFUSED)


@pytest.mark.parametrize("user", ["nop", "cleared"])
def test_vhost_without_permissions_is_refused(target, user):
    u = target.users[user]
    assert refusal(target, u) == (
        530, "NOT_ALLOWED - access to vhost '%s' refused for user '%s'" % (target.vhost, u))


def test_permissions_are_per_vhost(target):
    u = target.users["ok"]
    assert refusal(target, u, vhost="/") == (
        530, "NOT_ALLOWED - access to vhost '/' refused for user '%s'" % u)


def test_unknown_vhost_is_refused(target):
    v = target.name("nowhere")
    assert refusal(target, target.users["ok"], vhost=v) == (530, "NOT_ALLOWED - vhost %s not found" % v)


def test_deleted_vhost_is_refused(target):
    v = target.gone_vhost
    assert refusal(target, target.users["ok"], vhost=v) == (530, "NOT_ALLOWED - vhost %s not found" % v)


def test_guest_logs_in_from_loopback(target):
    login_ok(target, "guest", "guest", "/", "127.0.0.1")


@pytest.fixture(scope="module")
def remote_host(target):
    addr = own_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address")
    if MODE == "rabbitmq" and not target.host.startswith("127."):
        pytest.skip("RabbitMQ is not on this machine")
    return addr


def test_other_users_log_in_from_a_non_loopback_address(target, remote_host):
    login_ok(target, target.users["ok"], host=remote_host)


def test_guest_is_refused_from_a_non_loopback_address(target, remote_host):
    """RabbitMQ's default loopback_users: guest only from localhost. The client
    sees the usual login refusal; the reason ("user 'guest' can only connect
    via localhost") is in the broker's log."""
    assert refusal(target, "guest", "guest", "/", remote_host) == (403, LOGIN_REFUSED)
    if target.warren:
        assert "can only connect via localhost" in target.log_text()
