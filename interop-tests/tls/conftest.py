"""Harness for the TLS suite: throwaway certificates and brokers of its own.

Certificates are made once per run with the `openssl` command in a temporary
folder (nothing is ever written to the source tree):

  ca         "Warren Test CA", signs everything below
  server     CN=localhost, SAN DNS:localhost and IP:127.0.0.1, serial 0x1001
  server2    the same name, serial 0x2002 (for the SIGHUP reload test)
  client     CN=tls-client,O=Warren Test,C=US
  ext-user   CN=ext-user (EXTERNAL login), nobody: CN=nobody (no such user)
  dn-user    C=US/O=Warren Test/CN=dn-user (EXTERNAL with the full DN)
  rogue-ca   another CA, and rogue-client (CN=tls-client) signed by it
  wrong.key  a key that matches no certificate

Each test gets brokers from `make_broker`: the binary from WARREN_BIN (set by
CMake, or launch.py), a config file written from the settings given, free
ports, a fresh data folder. Brokers must exit 0 on SIGTERM (under ASan a leak
makes the exit status non-zero).
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pika
import pytest

WARREN_BIN = os.environ.get("WARREN_BIN")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Certs:
    """Paths of the generated PEM files: certs.path("server.pem")."""

    def __init__(self, folder):
        self.folder = folder

    def path(self, name):
        return os.path.join(self.folder, name)

    def make_key(self, name):
        # EC P-256 keys: quick to make, and any TLS version can use them.
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", name + ".key", cwd=self.folder)

    def make_ca(self, name, subject):
        self.make_key(name)
        openssl("req", "-x509", "-new", "-key", name + ".key", "-subj", subject,
                "-days", "2", "-sha256", "-out", name + ".pem",
                "-addext", "basicConstraints=critical,CA:true",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.folder)

    def make_cert(self, name, subject, ca="ca", serial=None, server=False):
        self.make_key(name)
        openssl("req", "-new", "-key", name + ".key", "-subj", subject,
                "-out", name + ".csr", cwd=self.folder)
        ext = os.path.join(self.folder, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:false\n")
            if server:
                f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
                f.write("extendedKeyUsage=serverAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                "-CAkey", ca + ".key", "-days", "2", "-sha256", "-extfile", ext,
                "-out", name + ".pem"]
        args += ["-set_serial", str(serial)] if serial else ["-CAcreateserial"]
        openssl(*args, cwd=self.folder)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    c = Certs(str(tmp_path_factory.mktemp("certs")))
    c.make_ca("ca", "/CN=Warren Test CA")
    c.make_cert("server", "/CN=localhost", serial=0x1001, server=True)
    c.make_cert("server2", "/CN=localhost", serial=0x2002, server=True)
    c.make_cert("client", "/C=US/O=Warren Test/CN=tls-client")
    c.make_cert("ext-user", "/CN=ext-user")
    c.make_cert("nobody", "/CN=nobody")
    c.make_cert("dn-user", "/C=US/O=Warren Test/CN=dn-user")
    c.make_ca("rogue-ca", "/CN=Rogue CA")
    c.make_cert("rogue-client", "/CN=tls-client", ca="rogue-ca")
    c.make_key("wrong")
    with open(c.path("garbage.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nthis is not base64 at all\n"
                "-----END CERTIFICATE-----\n")
    with open(c.path("not-pem.txt"), "w") as f:
        f.write("just some text\n")
    return c


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """One warren process with TLS settings. `settings` are extra config
    lines (key, value) written after the listener and certificate lines,
    so they can override them."""

    def __init__(self, workdir, certs, settings=(), tcp=True, tls_files=None):
        self.workdir = workdir
        self.certs = certs
        self.port = free_port()
        self.ssl_port = free_port()
        self.tcp = tcp
        self.settings = list(settings)
        self.data_dir = os.path.join(workdir, "data")
        self.conf = os.path.join(workdir, "warren.conf")
        self.log = os.path.join(workdir, "broker.log")
        self.proc = None
        self.stopped = False
        files = {"certfile": certs.path("server.pem"), "keyfile": certs.path("server.key"),
                 "cacertfile": certs.path("ca.pem")}
        files.update(tls_files or {})
        self.files = files
        self.connections = []

    def write_config(self):
        lines = ["listeners.tcp.default = 127.0.0.1:%d" % self.port,
                 "listeners.ssl.default = 127.0.0.1:%d" % self.ssl_port,
                 "log.level = debug"]
        if not self.tcp:
            lines.append("listeners.tcp = none")
        for key, value in self.files.items():
            if value is not None:
                lines.append("ssl_options.%s = %s" % (key, value))
        lines += ["%s = %s" % kv for kv in self.settings]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run_ctl(self, *args):
        """An administration command on the data folder (broker stopped)."""
        r = subprocess.run([WARREN_BIN, "--data-dir", self.data_dir, *args],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            pytest.skip("'warren %s' failed (%s): %s" % (
                " ".join(args), r.returncode, (r.stdout + r.stderr).strip()))
        return r

    def argv(self):
        return [WARREN_BIN, "--config", self.conf, "--data-dir", self.data_dir]

    def start(self):
        self.write_config()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(self.ssl_port):
            if self.proc.poll() is not None:
                pytest.fail("broker exited with %s while starting; its log:\n%s"
                            % (self.proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("broker did not open port %d; its log:\n%s"
                            % (self.ssl_port, self.log_text()))
            time.sleep(0.02)
        return self

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_for_log(self, text, seconds=20.0, count=1):
        """Wait until text appears count times in the log (a condition, not a timer)."""
        deadline = time.monotonic() + seconds
        while self.log_text().count(text) < count:
            if time.monotonic() > deadline:
                pytest.fail("'%s' not in the broker log:\n%s" % (text, self.log_text()[-3000:]))
            time.sleep(0.02)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        self.close_connections()
        self.stopped = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("broker did not stop on SIGTERM; its log:\n%s" % self.log_text()[-3000:])
        assert rc == 0, "broker exited with %s after SIGTERM; its log:\n%s" % (
            rc, self.log_text()[-5000:])

    def kill(self):
        self.close_connections()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # -- clients ---------------------------------------------------------

    def client_context(self, ca="ca.pem", cert=None, check_hostname=True,
                       minimum=None, maximum=None, ciphers=None):
        """A client SSLContext that trusts ca and presents cert (a name in
        certs, without extension) if given."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.certs.path(ca))
        ctx.check_hostname = check_hostname
        if cert:
            ctx.load_cert_chain(self.certs.path(cert + ".pem"), self.certs.path(cert + ".key"))
        if ciphers:
            ctx.set_ciphers(ciphers)
        if minimum:
            ctx.minimum_version = minimum
        if maximum:
            ctx.maximum_version = maximum
        return ctx

    def params(self, context=None, tls=True, credentials=None, host="127.0.0.1",
               server_hostname="localhost", **ctx_args):
        kw = dict(host=host, port=self.ssl_port if tls else self.port, virtual_host="/",
                  credentials=credentials or pika.PlainCredentials("guest", "guest"),
                  connection_attempts=1, socket_timeout=10, blocked_connection_timeout=30)
        if tls:
            kw["ssl_options"] = pika.SSLOptions(context or self.client_context(**ctx_args),
                                                server_hostname)
        return pika.ConnectionParameters(**kw)

    def connect(self, **kw):
        conn = pika.BlockingConnection(self.params(**kw))
        self.connections.append(conn)
        return conn

    def raw_tls(self, context, server_hostname="localhost"):
        """A TLS socket, handshake done (raises ssl.SSLError if it fails)."""
        sock = socket.create_connection(("127.0.0.1", self.ssl_port), timeout=10)
        try:
            return context.wrap_socket(sock, server_hostname=server_hostname)
        except BaseException:
            sock.close()
            raise

    def close_connections(self):
        for conn in self.connections:
            try:
                if conn.is_open:
                    conn.close()
            except Exception:
                pass
        self.connections = []


@pytest.fixture
def make_broker(tmp_path, certs):
    """Factory: make_broker(settings=[(key, value)], tcp=True, tls_files={},
    start=True). Every broker is stopped at teardown and must exit 0."""
    if not WARREN_BIN:
        pytest.skip("WARREN_BIN is not set (CMake's interop-tls sets it)")
    made = []

    def make(settings=(), tcp=True, tls_files=None, start=True):
        workdir = tmp_path / ("broker-%d" % len(made))
        workdir.mkdir()
        b = Broker(str(workdir), certs, settings, tcp, tls_files)
        made.append(b)
        return b.start() if start else b

    yield make
    failures = []
    for b in made:
        if b.proc is None or b.stopped:
            continue
        if b.proc.poll() is not None:
            failures.append("broker died during the test (exit %s); its log:\n%s"
                            % (b.proc.returncode, b.log_text()[-3000:]))
            continue
        try:
            b.stop()
        except BaseException as e:  # pytest.fail raises an exception of its own
            failures.append(str(e))
    if failures:
        pytest.fail("\n".join(failures))


@pytest.fixture
def broker(make_broker):
    """TLS beside plain TCP; clients are not asked for certificates."""
    return make_broker()


@pytest.fixture
def mtls_broker(make_broker):
    """Client certificates required (verify_peer + fail_if_no_peer_cert)."""
    return make_broker(settings=[("ssl_options.verify", "verify_peer"),
                                 ("ssl_options.fail_if_no_peer_cert", "true")])
