"""Harness for the durability suite: each test runs its own warren brokers.

The binary comes from WARREN_BIN (launch.py sets it). The broker launch.py
starts itself (INTEROP_PORT) is ignored: these tests must stop and restart
the broker, so every test gets a Broker with a fresh data folder and port.
"""
import os
import signal
import socket
import subprocess
import time
import uuid

import pika
import pika.exceptions as pe
import pytest

WARREN_BIN = os.environ.get("WARREN_BIN")
# Dry runs of the harness against a broker without persistence: leave the
# flag out. The real suite always passes --data-dir.
NO_DATA_DIR = os.environ.get("WARREN_DURABILITY_NO_DATA_DIR") == "1"

START_TIMEOUT = 30.0  # ample for an ASan build recovering a store
STOP_TIMEOUT = 30.0

# Lines that tests want shown in pytest's final summary (rounds run, seeds).
SUMMARY = []

SIGNALS = {"sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}


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
    """One warren process at a time on a fixed data folder and port."""

    def __init__(self, data_dir, log_dir, port=None):
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.port = port or free_port()
        self.proc = None
        self.stopped_by_us = False
        self.starts = 0
        self.logs = []
        self.connections = []
        self.extra_args = []
        self.extra_env = {}

    def argv(self, port=None):
        argv = [WARREN_BIN, "--port", str(port or self.port), "--bind", "127.0.0.1"]
        if not NO_DATA_DIR:
            argv += ["--data-dir", self.data_dir]
        return argv + self.extra_args

    def _log_path(self):
        self.starts += 1
        path = os.path.join(self.log_dir, "broker-%d.log" % self.starts)
        self.logs.append(path)
        return path

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        path = self._log_path()
        with open(path, "wb") as log:
            # The broker's cwd is the log folder, so a default data/ folder
            # (if --data-dir were ignored) never lands in the source tree.
            self.stopped_by_us = False
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.log_dir, env=dict(os.environ, **self.extra_env))
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(self.port):
            if self.proc.poll() is not None:
                pytest.fail("broker exited with %s while starting; its log:\n%s"
                            % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("broker did not open port %d within %.0f s; its log:\n%s"
                            % (self.port, START_TIMEOUT, self.log_tail()))
            time.sleep(0.02)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Signal the broker and wait for it. After SIGTERM a clean exit (0)
        is required; after SIGKILL the exit status is the signal's. Client
        connections stay open until the broker is gone, as in a real crash."""
        assert self.running(), "broker is not running (exit %s); its log:\n%s" % (
            self.proc.returncode if self.proc else None, self.log_tail())
        self.stopped_by_us = True
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("broker did not exit within %.0f s of %s; its log:\n%s"
                        % (STOP_TIMEOUT, signal.Signals(sig).name, self.log_tail()))
        self.close_connections()
        if sig == signal.SIGTERM:
            assert rc == 0, "broker exited with %s after SIGTERM; its log:\n%s" % (
                rc, self.log_tail())
        return rc

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def kill(self):
        """Teardown: no broker outlives its test. Returns a note if the
        broker had died on its own."""
        self.close_connections()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            return None
        if self.stopped_by_us:
            return None
        return "broker exited on its own with status %s" % self.proc.returncode

    def log_tail(self, lines=60):
        if not self.logs:
            return ""
        with open(self.logs[-1], errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])

    # -- clients ---------------------------------------------------------

    def params(self, **overrides):
        kw = dict(host="127.0.0.1", port=self.port, virtual_host="/",
                  credentials=pika.PlainCredentials("guest", "guest"),
                  connection_attempts=1, socket_timeout=10,
                  blocked_connection_timeout=30)
        kw.update(overrides)
        return pika.ConnectionParameters(**kw)

    def connect(self, **overrides):
        conn = pika.BlockingConnection(self.params(**overrides))
        self.connections.append(conn)
        return conn

    def channel(self, confirm=False, **overrides):
        ch = self.connect(**overrides).channel()
        if confirm:
            ch.confirm_delivery()
        return ch

    def close_connections(self):
        for conn in self.connections:
            try:
                if conn.is_open:
                    conn.close()
            except Exception:
                pass  # the broker is gone, or going
        self.connections = []

    def sync(self):
        """Wait until everything the broker has processed so far is on disk.

        Declarations, acks, purges and deliveries are not confirmed to the
        client, so a SIGKILL could beat their write. A persistent publish
        into a durable queue is confirmed only once its group commit is
        synced, and group commits are applied in order, so its confirm
        covers every earlier write. Callers make sure their own asynchronous
        methods (acks) were processed first, with a synchronous round trip
        on the same channel."""
        conn = self.connect()
        ch = conn.channel()
        ch.queue_declare("durability.sync", durable=True)
        ch.queue_purge("durability.sync")
        ch.confirm_delivery()
        ch.basic_publish("", "durability.sync", b"sync",
                         pika.BasicProperties(delivery_mode=2), mandatory=True)
        conn.close()


@pytest.fixture
def make_broker(tmp_path):
    """Factory for brokers on data folders under this test's tmp_path; all
    of them are killed at teardown, whatever happened."""
    if not WARREN_BIN:
        pytest.skip("WARREN_BIN is not set (run through launch.py or set it)")
    made = []

    def make(name="a", data_dir=None, start=True):
        data = data_dir or str(tmp_path / ("data-" + name))
        logs = tmp_path / ("logs-" + name)
        logs.mkdir(exist_ok=True)
        b = Broker(data, str(logs))
        made.append(b)
        return b.start() if start else b

    yield make
    notes = [b.kill() for b in made]
    for b, note in zip(made, notes):
        if b.logs:
            # Shown by pytest only when the test failed.
            print("--- %s, last log (%s)%s ---\n%s" % (
                b.data_dir, b.logs[-1], ": " + note if note else "", b.log_tail()))
    died = [note for note in notes if note]
    if died:
        pytest.fail("; ".join(died) + " (its log is in the captured teardown output)")


@pytest.fixture
def broker(make_broker):
    return make_broker()


@pytest.fixture(params=["sigterm", "sigkill"])
def sig(request):
    return SIGNALS[request.param]


@pytest.fixture
def names():
    """Unique names, so a failure's leftovers never confuse another test."""
    tag = uuid.uuid4().hex[:6]
    return lambda suffix: "dur-%s-%s" % (tag, suffix)


def ping(ch):
    """A synchronous round trip: the broker has processed everything sent
    on ch before it, and any pending channel close surfaces here."""
    ch.exchange_declare("amq.direct", exchange_type="direct", passive=True)


def expect_close(fn):
    """Run fn, which must make the broker close the channel or connection;
    return the reply code."""
    try:
        fn()
    except (pe.ChannelClosedByBroker, pe.ConnectionClosedByBroker) as e:
        return e.reply_code
    pytest.fail("the broker accepted what it should have refused")


def publish_confirmed(ch, routing_key, body, props=None, exchange=""):
    """Publish on a confirm-mode channel, persistent unless props say
    otherwise; returns once the broker confirmed (raises if it nacked or
    returned the message)."""
    ch.basic_publish(exchange, routing_key, body,
                     props or pika.BasicProperties(delivery_mode=2), mandatory=True)


def get_all(ch, queue, ack=True):
    """basic.get until empty: a list of (method, properties, body)."""
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=False)
        if method is None:
            return out
        if ack:
            ch.basic_ack(method.delivery_tag)
        out.append((method, props, body))


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("durability")
        for line in SUMMARY:
            terminalreporter.write_line(line)
