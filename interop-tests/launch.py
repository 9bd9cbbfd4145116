#!/usr/bin/env python3
"""Run an interop test command against a freshly started warren broker.

usage: launch.py --broker PATH [--keep-log FILE] -- CMD [ARGS...]

Starts the real broker binary on a free loopback port with its own temporary
data folder, waits for the port to open, runs CMD with INTEROP_HOST,
INTEROP_PORT and WARREN_PID in its environment, then stops the broker with
SIGTERM and requires a clean exit (under ASan a leak makes it non-zero).

If INTEROP_PORT is already set, CMD runs against that broker instead (a real
RabbitMQ, say) and no broker is started.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        ap.error("no command to run")

    if os.environ.get("INTEROP_PORT"):
        os.environ.setdefault("INTEROP_HOST", "127.0.0.1")
        return subprocess.call(cmd)

    workdir = tempfile.mkdtemp(prefix="warren-interop-")
    port = free_port()
    log_path = os.path.join(workdir, "broker.log")
    log = open(log_path, "wb")
    broker_env = dict(os.environ)
    if broker_env.get("ASAN_OPTIONS"):
        # AddressSanitizer parks freed memory (256 MiB by default) before reuse;
        # keep that small so tests that watch the broker's memory see its own.
        broker_env["ASAN_OPTIONS"] += ":quarantine_size_mb=16"
    broker = subprocess.Popen(
        [args.broker, "--port", str(port), "--bind", "127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=broker_env)
    if not wait_for_port(port, broker):
        broker.kill()
        broker.wait()
        log.close()
        sys.stderr.write("broker did not start; its log:\n")
        sys.stderr.write(open(log_path, errors="replace").read())
        return 1

    env = dict(os.environ, INTEROP_HOST="127.0.0.1", INTEROP_PORT=str(port),
               WARREN_PID=str(broker.pid), WARREN_BIN=os.path.abspath(args.broker))
    rc = subprocess.call(cmd, env=env)

    if broker.poll() is not None:
        sys.stderr.write("broker died during the tests (exit %s)\n" % broker.returncode)
        rc = rc or 1
    else:
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sys.stderr.write("broker did not stop within 30 s of SIGTERM\n")
            broker.kill()
            broker.wait()
            rc = rc or 1
        if broker.returncode != 0:
            sys.stderr.write("broker exited with %s after SIGTERM\n" % broker.returncode)
            rc = rc or 1
    log.close()
    if rc != 0:
        text = open(log_path, errors="replace").read()
        sys.stderr.write("--- broker log (last 200 lines) ---\n")
        sys.stderr.write("\n".join(text.splitlines()[-200:]) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
