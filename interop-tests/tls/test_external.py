"""The EXTERNAL mechanism over amqps with pika: a client presenting a
verified certificate logs in as the user its subject names (the CN, or the
whole DN with ssl_cert_login_from = distinguished_name), as with RabbitMQ's
rabbitmq_auth_mechanism_ssl. Users are made with the broker's rabbitmqctl
verbs on the data folder before it starts."""
import uuid

import pika
import pika.exceptions as pe
import pytest

from test_tls import roundtrip


# -- EXTERNAL ---------------------------------------------------------------

def external_broker(make_broker, users, settings=()):
    """A broker offering EXTERNAL (then PLAIN) with client certificates
    optional, and the given users (each allowed to configure only queues
    named after it, to tell who logged in)."""
    b = make_broker(settings=[("ssl_options.verify", "verify_peer"),
                              ("ssl_options.fail_if_no_peer_cert", "false"),
                              ("auth_mechanisms.1", "EXTERNAL"),
                              ("auth_mechanisms.2", "PLAIN")] + list(settings),
                    start=False)
    for user in users:
        b.run_ctl("add_user", user, uuid.uuid4().hex)
        b.run_ctl("set_permissions", "-p", "/", user, "^%s-.*" % user, ".*", ".*")
    return b.start()


def assert_logged_in_as(conn, user):
    ch = conn.channel()
    ch.queue_declare("%s-q" % user, exclusive=True)  # allowed for this user only
    with pytest.raises(pe.ChannelClosedByBroker) as e:
        ch.queue_declare("someone-else-q")
    assert e.value.reply_code == 403
    assert "refused for user '%s'" % user in e.value.reply_text


EXTERNAL = pika.credentials.ExternalCredentials()


def test_external_login_with_certificate_cn(make_broker):
    b = external_broker(make_broker, ["ext-user"])
    assert_logged_in_as(b.connect(cert="ext-user", credentials=EXTERNAL), "ext-user")


def test_external_refused_for_unknown_cn(make_broker):
    b = external_broker(make_broker, ["ext-user"])
    with pytest.raises(pe.AMQPConnectionError) as e:
        b.connect(cert="nobody", credentials=EXTERNAL)
    assert "403" in str(e.value) and "ACCESS_REFUSED" in str(e.value), e.value


def test_external_not_offered_on_plain_tcp(make_broker):
    b = external_broker(make_broker, ["ext-user"])
    with pytest.raises(pe.AuthenticationError):
        b.connect(tls=False, credentials=EXTERNAL)
    b.connect(tls=False)  # PLAIN still works there


def test_external_not_offered_without_client_certificate(make_broker):
    b = external_broker(make_broker, ["ext-user"])
    with pytest.raises(pe.AuthenticationError):
        b.connect(credentials=EXTERNAL)
    b.connect()  # PLAIN over TLS still works


def test_external_with_distinguished_name(make_broker):
    user = "CN=dn-user,O=Warren Test,C=US"
    b = make_broker(settings=[("ssl_options.verify", "verify_peer"),
                              ("ssl_options.fail_if_no_peer_cert", "true"),
                              ("auth_mechanisms.1", "EXTERNAL"),
                              ("ssl_cert_login_from", "distinguished_name")], start=False)
    b.run_ctl("add_user", user, uuid.uuid4().hex)
    b.run_ctl("set_permissions", "-p", "/", user, ".*", ".*", ".*")
    b.start()
    conn = b.connect(cert="dn-user", credentials=EXTERNAL)
    roundtrip(conn)
    # the CN alone is not the user name in this mode
    with pytest.raises(pe.AMQPConnectionError):
        b.connect(cert="ext-user", credentials=EXTERNAL)
