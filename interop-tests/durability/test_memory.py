"""The memory budget: a backlog several times vm_memory_high_watermark is
published while nobody consumes; the broker blocks the publisher instead of
growing, its RSS stays under the budget plus a fixed margin, and once a
consumer drains the queue the publisher is let through and every message
arrives."""
import os
import threading
import time

import pika

BUDGET = 16 * 1024 * 1024          # vm_memory_high_watermark.absolute
MARGIN = 48 * 1024 * 1024          # code, libraries, buffers, allocator slack
BODY = 64 * 1024
COUNT = 3 * BUDGET // BODY         # a backlog three times the budget


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def test_backlog_over_the_budget_blocks_publishers_and_memory_stays_bounded(
        make_broker, tmp_path):
    conf = tmp_path / "warren.conf"
    conf.write_text("vm_memory_high_watermark.absolute = %d\n" % BUDGET)
    b = make_broker(start=False)
    b.extra_args = ["--config", str(conf)]
    # Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
    # default), which would be counted as the broker's; keep it small.
    asan = os.environ.get("ASAN_OPTIONS", "")
    b.extra_env = {"ASAN_OPTIONS": asan + (":" if asan else "") + "quarantine_size_mb=1"}
    b.start()
    q = "memory-backlog"
    setup = b.channel()
    setup.queue_declare(q, durable=False)

    confirmed = []
    failure = []

    def publish():
        try:
            conn = pika.BlockingConnection(b.params(blocked_connection_timeout=None))
            ch = conn.channel()
            ch.confirm_delivery()
            for i in range(COUNT):
                ch.basic_publish("", q, i.to_bytes(4, "big") + b"x" * (BODY - 4))
                confirmed.append(i)
            conn.close()
        except Exception as e:  # reported by the main thread
            failure.append(e)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    # With nobody consuming, the publisher must stall well short of the end.
    peak = 0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        peak = max(peak, rss_bytes(b.proc.pid))
        time.sleep(0.05)
    assert not failure, failure
    assert len(confirmed) < COUNT, "the publisher was never blocked"
    assert len(confirmed) * BODY <= BUDGET + 2 * 1024 * 1024
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)
    assert "memory alarm" in open(b.logs[-1]).read()

    # Draining lets the publisher through; every message arrives, in order.
    got = 0
    drain = b.channel()
    deadline = time.monotonic() + 60
    while got < COUNT and time.monotonic() < deadline:
        method, _props, body = drain.basic_get(q, auto_ack=True)
        if method is None:
            time.sleep(0.01)
            continue
        assert int.from_bytes(body[:4], "big") == got
        assert len(body) == BODY
        got += 1
        if got % 64 == 0:
            peak = max(peak, rss_bytes(b.proc.pid))
    publisher.join(30)
    assert not failure, failure
    assert got == COUNT and len(confirmed) == COUNT
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)
    print("memory: budget %d MiB, backlog %d MiB, peak RSS %.1f MiB"
          % (BUDGET >> 20, COUNT * BODY >> 20, peak / 1048576))


def test_persistent_backlog_larger_than_the_budget_is_paged_out(make_broker, tmp_path):
    # Persistent messages in a durable queue are on disk once confirmed, so
    # their bodies can leave memory: a backlog three times the budget is
    # taken without blocking anyone, memory stays bounded, and everything
    # comes back, also after a restart (which reads no bodies up front).
    conf = tmp_path / "warren.conf"
    conf.write_text("vm_memory_high_watermark.absolute = %d\n" % BUDGET)
    b = make_broker(start=False)
    b.extra_args = ["--config", str(conf)]
    asan = os.environ.get("ASAN_OPTIONS", "")
    b.extra_env = {"ASAN_OPTIONS": asan + (":" if asan else "") + "quarantine_size_mb=1"}
    b.start()
    q = "paged-backlog"
    ch = b.channel(confirm=True)
    ch.queue_declare(q, durable=True)
    props = pika.BasicProperties(delivery_mode=2)
    peak = 0
    started = time.monotonic()
    for i in range(COUNT):
        ch.basic_publish("", q, i.to_bytes(4, "big") + b"p" * (BODY - 4), props)
        if i % 64 == 0:
            peak = max(peak, rss_bytes(b.proc.pid))
    assert time.monotonic() - started < 60
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)

    b.restart()
    peak = max(peak, rss_bytes(b.proc.pid))
    ch = b.channel()
    got = 0
    while True:
        method, _props, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        assert int.from_bytes(body[:4], "big") == got and len(body) == BODY
        got += 1
        if got % 64 == 0:
            peak = max(peak, rss_bytes(b.proc.pid))
    assert got == COUNT
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)
    print("paging: budget %d MiB, persistent backlog %d MiB, peak RSS %.1f MiB"
          % (BUDGET >> 20, COUNT * BODY >> 20, peak / 1048576))
