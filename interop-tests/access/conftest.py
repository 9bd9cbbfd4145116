"""Harness for the access-control suite: users, vhosts, permissions, limits.

The same tests drive two brokers, administered with the same verbs:
- Warren (WARREN_BIN set): every module gets its own data folder; its
  setup_target(t) runs the administration commands (`warren --data-dir D
  add_user ...`) while the broker is stopped, then one broker starts for the
  whole module and gets SIGTERM at the end.
- RabbitMQ (only ACCESS_RABBITMQCTL set, the rabbitmqctl command prefix; the
  broker at INTEROP_HOST:INTEROP_PORT): setup_target(t) runs the same verbs
  against the live node, and every user and vhost it made is deleted at the
  end. Names are unique per run ("acc-<hex>-..."), as other suites share that
  broker.
A module may set CONFIG (settings-file lines, Warren only: the module skips
against RabbitMQ) and BIND (the address Warren listens on).
"""
import ast
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import uuid

import pika
import pika.exceptions as pe
import pytest

WARREN_BIN = os.environ.get("WARREN_BIN")
RABBITMQCTL = os.environ.get("ACCESS_RABBITMQCTL")
MODE = "warren" if WARREN_BIN else ("rabbitmq" if RABBITMQCTL else None)

START_TIMEOUT = 30.0  # ample for an ASan build opening its store
STOP_TIMEOUT = 30.0
# Every test user's password; random, as some modules listen on every address.
PASSWORD = "pw-" + uuid.uuid4().hex[:8]

LOGIN_REFUSED = ("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
                 "For details see the broker logfile.")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def own_address():
    """This machine's own non-loopback IPv4 address (the source address of
    its default route), or None. Nothing is sent."""
    for probe in ("10.255.255.255", "192.0.2.255", "198.51.100.1"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 1))
                addr = s.getsockname()[0]
        except OSError:
            continue
        if addr and not addr.startswith("127.") and addr != "0.0.0.0":
            return addr
    return None


def open_refusal(fn):
    """Run fn, a connection attempt the broker must refuse with a
    connection.close during the handshake; return (code, text). pika wraps
    the broker's close in an exception whose text holds it as
    "ConnectionClosedByBroker: (530) '<text as a Python literal>'"."""
    try:
        fn()
    except (pe.ProbableAccessDeniedError, pe.ProbableAuthenticationError,
            pe.ConnectionClosedByBroker) as e:
        if isinstance(e, pe.ConnectionClosedByBroker):
            return e.reply_code, e.reply_text
        m = re.search(r"ConnectionClosedByBroker: \((\d+)\) ((['\"]).*\3)", str(e.args[0]))
        assert m, "the broker closed the connection without a connection.close: %r" % (e,)
        return int(m.group(1)), ast.literal_eval(m.group(2))
    pytest.fail("the broker let in a connection it should have refused")


def channel_refusal(fn):
    """Run fn, which must make the broker close the *channel* (not the
    connection); return (code, text)."""
    try:
        fn()
    except pe.ChannelClosedByBroker as e:
        return e.reply_code, e.reply_text
    except pe.ConnectionClosedByBroker as e:
        pytest.fail("connection.close %d %r where a channel.close was due" %
                    (e.reply_code, e.reply_text))
    pytest.fail("the broker accepted what it should have refused")


def connect_when_freed(target, user, password, vhost, seconds=10.0):
    """Connect where a limit was full until a connection closed: the broker
    frees the slot when it sees the close, RabbitMQ a moment later, so a
    refused open is retried until a deadline (this waits for something that
    must happen; it times nothing)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return target.connect(user, password, vhost)
        except pe.AMQPConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def ping(ch):
    """A synchronous round trip that needs no permission (basic.qos): a
    channel close for anything sent before it surfaces here."""
    ch.basic_qos(prefetch_count=0)


def assert_usable(conn):
    """After a channel error the connection must still work."""
    ch = conn.channel()
    ping(ch)
    ch.close()


class Target:
    """The broker under test and its administration, for one module."""

    def __init__(self, tag, workdir, config=None, bind="127.0.0.1"):
        self.tag = tag
        self.workdir = workdir
        self.config = config
        self.made_users = []
        self.made_vhosts = []
        self.connections = {}
        self.extra = []
        self.proc = None
        self.log_path = None
        self._version = None
        if MODE == "warren":
            self.data_dir = os.path.join(workdir, "data")
            self.host = "127.0.0.1"
            self.bind = bind
            self.port = free_port()
            self.config_path = None
            if config:
                self.config_path = os.path.join(workdir, "warren.conf")
                with open(self.config_path, "w") as f:
                    f.write("\n".join(config) + "\n")
        else:
            self.host = os.environ.get("INTEROP_HOST", "127.0.0.1")
            self.port = int(os.environ.get("INTEROP_PORT", "5672"))

    # -- names and versions ----------------------------------------------

    def name(self, suffix):
        return "acc-%s-%s" % (self.tag, suffix)

    @property
    def warren(self):
        return MODE == "warren"

    def rabbit_version(self):
        """RabbitMQ's version as a tuple, read from a guest connection's
        server properties (RabbitMQ mode only)."""
        if self._version is None:
            conn = pika.BlockingConnection(self.params("guest", "guest", "/"))
            text = conn._impl.server_properties.get("version", "0")
            conn.close()
            self._version = tuple(int(p) for p in re.findall(r"\d+", text)[:3])
        return self._version

    def current_rabbitmq(self, since):
        """Whether the broker behaves as RabbitMQ `since` (a version tuple)
        and later: Warren follows current RabbitMQ."""
        return self.warren or self.rabbit_version() >= since

    def refused(self, perm, kind, name, vhost, user):
        """RabbitMQ's ACCESS_REFUSED text for a resource check. Since 3.12
        it names the permission; 3.10 and 3.11 leave it out."""
        word = perm + " " if self.current_rabbitmq((3, 12)) else ""
        return "ACCESS_REFUSED - %saccess to %s '%s' in vhost '%s' refused for user '%s'" % (
            word, kind, name, vhost, user)

    def topic_refused(self, perm, key, exchange, vhost, user):
        word = perm + " " if self.current_rabbitmq((3, 12)) else ""
        return ("ACCESS_REFUSED - %saccess to topic '%s' in exchange '%s' in vhost '%s' "
                "refused for user '%s'" % (word, key, exchange, vhost, user))

    # -- administration ----------------------------------------------------

    def ctl_argv(self, *args):
        if MODE == "warren":
            argv = [WARREN_BIN, "--data-dir", self.data_dir]
            if self.config_path:
                argv += ["--config", self.config_path]
            return argv + list(args)
        return shlex.split(RABBITMQCTL) + list(args)

    def run_ctl(self, *args):
        """Run one administration command; returns the CompletedProcess."""
        args = [str(a) for a in args]
        if args[0] == "add_user" and args[1] not in self.made_users:
            self.made_users.append(args[1])
        if args[0] == "add_vhost" and args[1] not in self.made_vhosts:
            self.made_vhosts.append(args[1])
        return subprocess.run(self.ctl_argv(*args), capture_output=True, text=True,
                              cwd=self.workdir, timeout=60)

    def ctl(self, *args):
        """Run an administration command that must succeed."""
        r = self.run_ctl(*args)
        assert r.returncode == 0, "%s exited with %d:\n%s%s" % (
            " ".join(str(a) for a in args), r.returncode, r.stdout, r.stderr)
        return r.stdout

    def add_user(self, user, password=PASSWORD):
        self.ctl("add_user", user, password)

    def add_vhost(self, vhost):
        self.ctl("add_vhost", vhost)

    def set_permissions(self, vhost, user, configure, write, read):
        self.ctl("set_permissions", "-p", vhost, user, configure, write, read)

    # -- the broker ----------------------------------------------------------

    def start(self):
        if MODE != "warren":
            return
        self.log_path = os.path.join(self.workdir, "broker.log")
        argv = [WARREN_BIN, "--data-dir", self.data_dir, "--port", str(self.port),
                "--bind", self.bind]
        if self.config_path:
            argv += ["--config", self.config_path]
        env = dict(os.environ)
        if env.get("ASAN_OPTIONS"):
            env["ASAN_OPTIONS"] += ":quarantine_size_mb=16"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir, env=env)
        probe = "127.0.0.1" if self.bind in ("0.0.0.0", "127.0.0.1") else self.bind
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(probe, self.port):
            if self.proc.poll() is not None:
                pytest.fail("warren exited with %s while starting; its log:\n%s"
                            % (self.proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("warren did not open its port; its log:\n%s" % self.log_text())
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def finish(self):
        """Close every connection, then stop Warren (a clean exit is
        required) or delete what this module made on RabbitMQ. Returns a
        list of problems."""
        problems = []
        self.close_connections()
        if MODE == "warren":
            if self.proc is not None:
                if self.proc.poll() is not None:
                    problems.append("warren exited on its own with status %s"
                                    % self.proc.returncode)
                else:
                    self.proc.send_signal(signal.SIGTERM)
                    try:
                        rc = self.proc.wait(timeout=STOP_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait()
                        rc = "no exit within %.0f s" % STOP_TIMEOUT
                    if rc != 0:
                        problems.append("warren's exit after SIGTERM: %s" % rc)
        else:
            for vhost in self.made_vhosts:
                self.run_ctl("delete_vhost", vhost)
            for user in self.made_users:
                self.run_ctl("delete_user", user)
        return problems

    # -- clients -------------------------------------------------------------

    def params(self, user, password=PASSWORD, vhost="/", host=None):
        return pika.ConnectionParameters(
            host=host or self.host, port=self.port, virtual_host=vhost,
            credentials=pika.PlainCredentials(user, password),
            connection_attempts=1, socket_timeout=10, blocked_connection_timeout=30)

    def connect(self, user, password=PASSWORD, vhost="/", host=None):
        """A new connection, closed at the end of the module."""
        conn = pika.BlockingConnection(self.params(user, password, vhost, host))
        self.extra.append(conn)
        return conn

    def conn(self, user, vhost):
        """The module's one shared connection for user on vhost."""
        key = (user, vhost)
        c = self.connections.get(key)
        if c is None or not c.is_open:
            c = self.connections[key] = self.connect(user, vhost=vhost)
        return c

    def close_connections(self):
        for c in list(self.connections.values()) + self.extra:
            try:
                if c.is_open:
                    c.close()
            except Exception:
                pass
        self.connections = {}
        self.extra = []


@pytest.fixture(scope="module")
def target(request, tmp_path_factory):
    """The module's broker, set up by the module's setup_target(t)."""
    mod = request.module
    if MODE is None:
        pytest.skip("set WARREN_BIN (Warren) or ACCESS_RABBITMQCTL (RabbitMQ); see README.md")
    config = getattr(mod, "CONFIG", None)
    if config and MODE != "warren":
        pytest.skip("needs a settings file: Warren only")
    workdir = str(tmp_path_factory.mktemp(mod.__name__.split(".")[-1]))
    t = Target(uuid.uuid4().hex[:6], workdir, config, getattr(mod, "BIND", "127.0.0.1"))
    try:
        setup = getattr(mod, "setup_target", None)
        if setup:
            setup(t)
        t.start()
        yield t
    finally:
        problems = t.finish()
        if problems:
            print("--- warren's log (%s) ---\n%s" % (t.log_path, t.log_text()[-6000:]))
            pytest.fail("; ".join(problems))
