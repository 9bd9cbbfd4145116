"""amqps with pika: server verification, client certificates, protocol
versions, hostile handshakes, certificate reload, and the EXTERNAL mechanism.
The expectations are RabbitMQ's with the same ssl_options."""
import os
import shutil
import signal
import socket
import ssl
import subprocess

import pika.exceptions as pe
import pytest


def roundtrip(conn, bodies=(b"hello",)):
    """Publish bodies to a fresh queue on conn and read them back."""
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.confirm_delivery()
    for body in bodies:
        ch.basic_publish("", q, body, mandatory=True)
    got = []
    for _ in bodies:
        method, _props, body = ch.basic_get(q, auto_ack=True)
        assert method is not None, "a published message is missing"
        got.append(body)
    assert got == list(bodies)


def handshake_error(broker, context):
    """Connect with context and return the ssl.SSLError the broker's refusal
    causes. In TLS 1.3 the client finishes its side before the server has
    checked the client's certificate, so the refusal (an alert) may come
    with the first read rather than in wrap_socket. Nothing is sent: data the
    broker never reads would make its close a reset, which can destroy the
    alert before we read it."""
    try:
        with broker.raw_tls(context) as s:
            s.settimeout(5)
            data = s.recv(4096)
    except ssl.SSLError as e:
        return e
    except socket.timeout:
        data = b"(nothing, the connection stayed open)"
    pytest.fail("the broker accepted the TLS handshake and answered %r" % data[:32])


def expect_connect_fails(broker, **kw):
    """pika gives up: it raises the TLS error itself, or its own wrapper."""
    with pytest.raises((pe.AMQPConnectionError, OSError)):
        broker.connect(**kw)


def read_until_eof(sock):
    """Read until the broker closes; returns what it sent. A reset counts as closing."""
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


# -- server verification ----------------------------------------------------

def test_client_verifies_server_by_name_and_ip(broker):
    roundtrip(broker.connect())
    # the certificate's SAN also names 127.0.0.1
    roundtrip(broker.connect(server_hostname="127.0.0.1"))


def test_client_with_another_ca_refuses_the_server(broker):
    e = handshake_error(broker, broker.client_context(ca="rogue-ca.pem"))
    assert isinstance(e, ssl.SSLCertVerificationError), e
    expect_connect_fails(broker, ca="rogue-ca.pem")


def test_client_checking_another_hostname_refuses_the_server(broker):
    with pytest.raises(ssl.SSLCertVerificationError):
        broker.raw_tls(broker.client_context(), server_hostname="not-warren.example")


def test_plain_tcp_still_served_beside_tls(broker):
    roundtrip(broker.connect(tls=False))


# -- client certificates ----------------------------------------------------

def test_client_certificate_required(mtls_broker):
    e = handshake_error(mtls_broker, mtls_broker.client_context())
    # TLS 1.3: "certificate required" alert; TLS 1.2: handshake failure
    assert "CERTIFICATE_REQUIRED" in str(e) or "HANDSHAKE_FAILURE" in str(e), e
    expect_connect_fails(mtls_broker)


def test_client_certificate_required_tls12(mtls_broker):
    ctx = mtls_broker.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    e = handshake_error(mtls_broker, ctx)
    assert "HANDSHAKE_FAILURE" in str(e), e


def test_client_certificate_from_another_ca_refused(mtls_broker):
    e = handshake_error(mtls_broker, mtls_broker.client_context(cert="rogue-client"))
    assert "UNKNOWN_CA" in str(e), e
    expect_connect_fails(mtls_broker, cert="rogue-client")


def test_good_client_certificate_accepted(mtls_broker):
    roundtrip(mtls_broker.connect(cert="client"))
    with mtls_broker.raw_tls(mtls_broker.client_context(cert="client")) as s:
        s.sendall(b"AMQP\x00\x00\x09\x01")
        assert s.recv(7)[:1] == b"\x01", "no connection.start method frame"


def test_verify_peer_without_fail_if_no_peer_cert_lets_anonymous_in(make_broker):
    b = make_broker(settings=[("ssl_options.verify", "verify_peer")])
    roundtrip(b.connect())
    roundtrip(b.connect(cert="client"))
    # a certificate is still checked when one is presented
    expect_connect_fails(b, cert="rogue-client")


# -- messages over TLS ------------------------------------------------------

def test_publish_and_consume_over_tls(mtls_broker):
    conn = mtls_broker.connect(cert="client")
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.confirm_delivery()
    big = os.urandom(3 * 1024 * 1024 + 12345)  # many TLS records, several frames
    bodies = [b"one", b"two", big, b"x" * 70000, b"last"]
    for body in bodies:
        ch.basic_publish("", q, body, mandatory=True)
    got = []

    def on_message(channel, method, _props, body):
        got.append(body)
        channel.basic_ack(method.delivery_tag)
        if len(got) == len(bodies):
            channel.stop_consuming()

    ch.basic_qos(prefetch_count=2)
    ch.basic_consume(q, on_message)
    ch.start_consuming()
    assert [len(b) for b in got] == [len(b) for b in bodies]
    assert got == bodies


# -- protocol versions ------------------------------------------------------

OLD_VERSIONS = [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1]


def old_client(broker, version):
    # SECLEVEL=0, or the local OpenSSL would refuse to offer these itself:
    # the refusal must come from the broker.
    return broker.client_context(minimum=version, maximum=version, ciphers="DEFAULT:@SECLEVEL=0")


@pytest.mark.parametrize("version", OLD_VERSIONS, ids=["tls1.0", "tls1.1"])
def test_old_tls_versions_refused(broker, version):
    e = handshake_error(broker, old_client(broker, version))
    # the broker's protocol_version alert, not the client's own refusal
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in str(e), e
    expect_connect_fails(broker, context=old_client(broker, version))


def test_old_tls_version_accepted_when_configured(make_broker):
    """The control for the test above: the same client gets in when the
    broker is told to allow TLS 1.1 (so the refusal above is the broker's)."""
    b = make_broker(settings=[("ssl_options.versions.1", "tlsv1.1"),
                              ("ssl_options.versions.2", "tlsv1.2")])
    ctx = old_client(b, ssl.TLSVersion.TLSv1_1)
    with b.raw_tls(ctx) as s:
        assert s.version() == "TLSv1.1"
    roundtrip(b.connect(context=old_client(b, ssl.TLSVersion.TLSv1_1)))
    # TLS 1.3 was not listed, so it is off
    e = handshake_error(b, b.client_context(minimum=ssl.TLSVersion.TLSv1_3))
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in str(e), e


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["tls1.2", "tls1.3"])
def test_tls12_and_tls13_each_work(mtls_broker, version):
    ctx = mtls_broker.client_context(cert="client", minimum=version, maximum=version)
    with mtls_broker.raw_tls(ctx) as s:
        assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                               ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    roundtrip(mtls_broker.connect(
        context=mtls_broker.client_context(cert="client", minimum=version, maximum=version)))


def test_configured_tls12_cipher_is_used(make_broker):
    b = make_broker(settings=[("ssl_options.ciphers.1", "ECDHE-ECDSA-CHACHA20-POLY1305"),
                              ("ssl_options.ciphers.2", "TLS_CHACHA20_POLY1305_SHA256")])
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        with b.raw_tls(b.client_context(minimum=version, maximum=version)) as s:
            assert "CHACHA20" in s.cipher()[0], s.cipher()
    # a TLS 1.2 client offering only ciphers the broker does not allow
    ctx = b.client_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    e = handshake_error(b, ctx)
    assert "HANDSHAKE_FAILURE" in str(e), e


# -- hostile handshakes -----------------------------------------------------

def test_client_that_never_sends_client_hello_is_dropped(make_broker):
    b = make_broker(settings=[("ssl_handshake_timeout", "1500")])
    with socket.create_connection(("127.0.0.1", b.ssl_port), timeout=30) as s:
        assert read_until_eof(s) == b""
    b.wait_for_log("handshake timeout")
    roundtrip(b.connect())


def send_garbage(port, data, half_close=False):
    """Send data to the TLS port and read until the broker hangs up. The
    broker may close before it has read everything, so a reset or a broken
    pipe on our side is part of the expected outcome."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        read_until_eof(s)


def test_garbage_instead_of_tls_is_dropped(broker):
    silent = socket.create_connection(("127.0.0.1", broker.ssl_port), timeout=30)
    try:
        send_garbage(broker.ssl_port, b"AMQP\x00\x00\x09\x01" + b"GET / HTTP/1.1\r\n\r\n" * 100)
        send_garbage(broker.ssl_port, os.urandom(64 * 1024))
        # a TLS record header announcing more than a record may hold
        send_garbage(broker.ssl_port, b"\x16\x03\x01\xff\xff\x01\xff\xff\xff", half_close=True)
        # a ClientHello cut short, then the client's FIN
        send_garbage(broker.ssl_port, b"\x16\x03\x01\x00\x80\x01\x00\x00\x7c\x03\x03",
                     half_close=True)
        # others are served meanwhile, even with a silent handshake pending
        roundtrip(broker.connect())
        roundtrip(broker.connect(tls=False))
    finally:
        silent.close()
    broker.wait_for_log("TLS handshake failed", count=3)


def test_tcp_none_leaves_only_tls(make_broker):
    b = make_broker(tcp=False)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", b.port), timeout=5).close()
    roundtrip(b.connect())
    assert "over TLS on 127.0.0.1:%d" % b.ssl_port in b.log_text()
    assert "listening for AMQP 0-9-1 on" not in b.log_text()


# -- bad files at start -----------------------------------------------------

BAD_FILES = {
    "missing-cert": ({"certfile": "missing/server.pem"}, "ssl_options.certfile",
                     "No such file or directory"),
    "garbage-cert": ({"certfile": "not-pem.txt"}, "ssl_options.certfile", "no start line"),
    "missing-key": ({"keyfile": "missing/server.key"}, "ssl_options.keyfile",
                    "No such file or directory"),
    "mismatched-key": ({"keyfile": "wrong.key"}, "ssl_options.keyfile", "mismatch"),
    "garbage-ca": ({"cacertfile": "garbage.pem"}, "ssl_options.cacertfile", None),
    "text-ca": ({"cacertfile": "not-pem.txt"}, "ssl_options.cacertfile", None),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_certificate_files_stop_startup(make_broker, certs, case):
    files, setting, reason = BAD_FILES[case]
    files = {k: certs.path(v) for k, v in files.items()}
    b = make_broker(tls_files=files, start=False)
    b.write_config()
    r = subprocess.run(b.argv(), capture_output=True, text=True, timeout=60, cwd=b.workdir)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    bad = list(files.values())[0]
    assert setting in out and bad in out, out
    if reason:
        assert reason in out, out
    assert not os.path.exists(b.data_dir), "the broker went on to open its store"


def test_verify_peer_needs_a_ca_file(make_broker):
    b = make_broker(settings=[("ssl_options.verify", "verify_peer")],
                    tls_files={"cacertfile": None}, start=False)
    b.write_config()
    r = subprocess.run(b.argv(), capture_output=True, text=True, timeout=60, cwd=b.workdir)
    assert r.returncode != 0
    assert "ssl_options.cacertfile" in r.stdout + r.stderr


# -- reload on SIGHUP -------------------------------------------------------

def served_serial(broker):
    with broker.raw_tls(broker.client_context()) as s:
        return int(s.getpeercert()["serialNumber"], 16)


def test_sighup_reloads_certificates(make_broker, certs, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    cert, key = str(live / "server.pem"), str(live / "server.key")
    shutil.copy(certs.path("server.pem"), cert)
    shutil.copy(certs.path("server.key"), key)
    b = make_broker(tls_files={"certfile": cert, "keyfile": key})
    assert served_serial(b) == 0x1001
    old = b.connect()
    roundtrip(old)

    shutil.copy(certs.path("server2.pem"), cert)
    shutil.copy(certs.path("server2.key"), key)
    b.signal(signal.SIGHUP)
    b.wait_for_log("TLS certificates reloaded")
    assert served_serial(b) == 0x2002
    roundtrip(b.connect())
    roundtrip(old)  # the connection made before the reload carries on

    # files that do not load: logged, and the current certificate stays
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    b.signal(signal.SIGHUP)
    b.wait_for_log("TLS certificates not reloaded")
    assert cert in b.log_text()
    assert served_serial(b) == 0x2002
    roundtrip(old)
