"""The memory budget: a backlog several times vm_memory_high_watermark is
published while nobody consumes. Bodies that can leave memory are paged out
to the store (persistent and transient alike) and the publisher goes on;
bodies that cannot (held by two queues at once) make the broker block the
publisher instead of growing. Either way RSS stays under the budget plus a
fixed margin, and once a consumer drains, every message arrives."""
import os
import threading
import time

import pika

BUDGET = 16 * 1024 * 1024          # vm_memory_high_watermark.absolute
# Code, libraries, RocksDB's memtables (2 x 8 MiB), buffers and allocator
# slack; under AddressSanitizer, its shadow memory too. Measured: 30-40 MiB
# plain, 55-60 MiB sanitized.
MARGIN = 64 * 1024 * 1024
BODY = 64 * 1024
# A backlog eight times the budget: held in memory it would be well over the
# budget plus the margin, so staying under proves the bodies left (or were
# never let in).
COUNT = 8 * BUDGET // BODY


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def budgeted_broker(make_broker, tmp_path):
    """A broker with the 16 MiB budget, started."""
    conf = tmp_path / "warren.conf"
    conf.write_text("vm_memory_high_watermark.absolute = %d\n" % BUDGET)
    b = make_broker(start=False)
    b.extra_args = ["--config", str(conf)]
    # Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
    # default), which would be counted as the broker's; keep it small.
    asan = os.environ.get("ASAN_OPTIONS", "")
    b.extra_env = {"ASAN_OPTIONS": asan + (":" if asan else "") + "quarantine_size_mb=1"}
    b.start()
    return b


def publish_backlog(b, ch, q, fill, props=None):
    """COUNT numbered messages with confirms and nobody consuming; the peak RSS."""
    peak = 0
    started = time.monotonic()
    for i in range(COUNT):
        ch.basic_publish("", q, i.to_bytes(4, "big") + fill * (BODY - 4), props)
        if i % 64 == 0:
            peak = max(peak, rss_bytes(b.proc.pid))
    # every publish was confirmed with nobody consuming: nothing stayed blocked
    assert time.monotonic() - started < 60
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)
    return peak


def drain_in_order(b, ch, q, fill, peak):
    """Get every message back, in order and intact; the peak RSS."""
    got = 0
    while True:
        method, _props, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        assert int.from_bytes(body[:4], "big") == got
        assert body[4:] == fill * (BODY - 4)
        got += 1
        if got % 64 == 0:
            peak = max(peak, rss_bytes(b.proc.pid))
    assert got == COUNT
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)
    return peak


def test_backlog_that_cannot_be_paged_blocks_publishers_and_memory_stays_bounded(
        make_broker, tmp_path):
    b = budgeted_broker(make_broker, tmp_path)
    # Each message sits in two queues at once, so no queue can page it out
    # alone: over the budget, the only way to stay bounded is to block.
    queues = ["memory-backlog-1", "memory-backlog-2"]
    setup = b.channel()
    setup.exchange_declare("memory-fanout", "fanout")
    for q in queues:
        setup.queue_declare(q, durable=False)
        setup.queue_bind(q, "memory-fanout")

    confirmed = []
    failure = []

    def publish():
        try:
            conn = pika.BlockingConnection(b.params(blocked_connection_timeout=None))
            ch = conn.channel()
            ch.confirm_delivery()
            for i in range(COUNT):
                ch.basic_publish("memory-fanout", "", i.to_bytes(4, "big") + b"x" * (BODY - 4))
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

    # Draining lets the publisher through; every message arrives, in order,
    # in both queues.
    got = [0, 0]
    drain = b.channel()
    deadline = time.monotonic() + 60
    while min(got) < COUNT and time.monotonic() < deadline:
        idle = True
        for n, q in enumerate(queues):
            method, _props, body = drain.basic_get(q, auto_ack=True)
            if method is None:
                continue
            idle = False
            assert int.from_bytes(body[:4], "big") == got[n]
            assert len(body) == BODY
            got[n] += 1
        if idle:
            time.sleep(0.01)
        elif got[0] % 64 == 0:
            peak = max(peak, rss_bytes(b.proc.pid))
    publisher.join(30)
    assert not failure, failure
    assert got == [COUNT, COUNT] and len(confirmed) == COUNT
    assert peak <= BUDGET + MARGIN, "RSS %d over budget %d + margin" % (peak, BUDGET)
    print("memory: budget %d MiB, backlog %d MiB, peak RSS %.1f MiB"
          % (BUDGET >> 20, COUNT * BODY >> 20, peak / 1048576))


def test_persistent_backlog_larger_than_the_budget_is_paged_out(make_broker, tmp_path):
    # Persistent messages in a durable queue are on disk once confirmed, so
    # their bodies can leave memory: a backlog eight times the budget is
    # taken without blocking anyone, memory stays bounded, and everything
    # comes back, also after a restart (which reads no bodies up front).
    b = budgeted_broker(make_broker, tmp_path)
    q = "paged-backlog"
    ch = b.channel(confirm=True)
    ch.queue_declare(q, durable=True)
    peak = publish_backlog(b, ch, q, b"p", pika.BasicProperties(delivery_mode=2))
    b.restart()
    peak = max(peak, rss_bytes(b.proc.pid))
    peak = drain_in_order(b, b.channel(), q, b"p", peak)
    print("paging: budget %d MiB, persistent backlog %d MiB, peak RSS %.1f MiB"
          % (BUDGET >> 20, COUNT * BODY >> 20, peak / 1048576))


def test_transient_backlog_larger_than_the_budget_is_paged_out(make_broker, tmp_path):
    # Transient messages have no copy on disk, so the pager writes their
    # bodies to pages (unsynced, dropped at the next start) and lets them go:
    # the publisher is never held up for long, memory stays bounded, and the
    # drain reads every body back, in order.
    b = budgeted_broker(make_broker, tmp_path)
    q = "transient-backlog"
    ch = b.channel(confirm=True)
    ch.queue_declare(q, durable=False)
    peak = publish_backlog(b, ch, q, b"t")
    assert ch.queue_declare(q, passive=True).method.message_count == COUNT
    peak = drain_in_order(b, ch, q, b"t", peak)
    print("transient paging: budget %d MiB, backlog %d MiB, peak RSS %.1f MiB"
          % (BUDGET >> 20, COUNT * BODY >> 20, peak / 1048576))
