"""loopback_users.guest = false in the settings file lets guest log in from
a non-loopback address (Warren only: the suite cannot change RabbitMQ's
settings). guest gets a random password here, as it is reachable from the
network while this module runs."""
import uuid

import pytest

from conftest import open_refusal, own_address, ping

GUEST_PASS = "guest-" + uuid.uuid4().hex
CONFIG = ["loopback_users.guest = false", "default_pass = " + GUEST_PASS]
BIND = "0.0.0.0"


@pytest.fixture(scope="module")
def remote_host(target):
    addr = own_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address")
    return addr


@pytest.mark.parametrize("where", ["loopback", "non-loopback"])
def test_guest_logs_in(target, remote_host, where):
    host = "127.0.0.1" if where == "loopback" else remote_host
    conn = target.connect("guest", GUEST_PASS, "/", host)
    ping(conn.channel())
    conn.close()


def test_default_pass_replaces_guests_password(target, remote_host):
    code, _text = open_refusal(lambda: target.connect("guest", "guest", "/", remote_host))
    assert code == 403
