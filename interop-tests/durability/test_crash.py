"""Crash test: a confirmed persistent message survives a SIGKILL.

Several publishers, each on its own connection with confirms, publish
persistent messages into two durable queues (directly, and through a fanout
exchange bound to both) while the broker is killed at a random moment. The
fanout also feeds a third queue whose consumer acknowledges the messages
with an even number as they come and holds the others unacknowledged: an
acknowledgement that beats its message's write cancels the write, and that
must never take a message from another queue or one not acknowledged.
After each restart the queues are drained: every confirmed message must be
there, in its publisher's order (in the third queue, every confirmed one
that was not acknowledged). Unconfirmed ones may or may not be.

DURABILITY_SEED repeats a run; DURABILITY_CRASH_ROUNDS changes the rounds.
"""
import collections
import hashlib
import os
import random
import signal
import threading
import time

import pika
import pika.exceptions as pe
import pytest

from conftest import SUMMARY

ROUNDS = int(os.environ.get("DURABILITY_CRASH_ROUNDS", "5"))
PUBLISHERS = 4
PERSISTENT = pika.BasicProperties(delivery_mode=2)


def make_body(rnd, tid, n):
    """Unique, self-checking: a header naming the message, then padding
    derived from it, of varying length (now and then 20 KiB)."""
    head = b"r%d-t%d-n%d|" % (rnd, tid, n)
    size = 20 * 1024 if n % 97 == 13 else n % 300
    pad = hashlib.sha256(head).digest() * (size // 32 + 1)
    return head + pad[:size]


def parse_body(body):
    """(round, publisher, n), or None if the body is not one we sent."""
    head, sep, _pad = body.partition(b"|")
    try:
        r, t, n = (int(part[1:]) for part in head.split(b"-"))
    except ValueError:
        return None
    if not sep or make_body(r, t, n) != body:
        return None
    return r, t, n


class Publisher(threading.Thread):
    """Publishes until its connection dies; keeps what was confirmed."""

    def __init__(self, broker, rnd, tid, queues, fanout):
        super().__init__(daemon=True)
        self.params = broker.params()
        self.rnd, self.tid = rnd, tid
        self.queues, self.fanout = queues, fanout
        self.ready = threading.Event()
        self.confirmed = []  # (queues it went to, body)
        self.nacked = 0
        self.error = None

    def target(self, n):
        # Publishers 0 and 1 alternate between the queues through the default
        # exchange; the others publish through the fanout, so each of their
        # messages is one body referenced by both queues.
        if self.tid < 2:
            q = self.queues[n % 2]
            return "", q, (q,)
        return self.fanout, "", tuple(self.queues)

    def run(self):
        conn = None
        try:
            conn = pika.BlockingConnection(self.params)
            ch = conn.channel()
            ch.confirm_delivery()
            self.ready.set()
            n = 0
            while True:
                body = make_body(self.rnd, self.tid, n)
                exchange, key, dest = self.target(n)
                try:
                    ch.basic_publish(exchange, key, body, PERSISTENT, mandatory=True)
                    self.confirmed.append((dest, body))
                except pe.NackError:
                    self.nacked += 1  # refused, not lost: allowed
                n += 1
        except Exception as e:  # noqa: BLE001 - the kill ends every publisher
            self.error = e
        finally:
            self.ready.set()


class HalfAcker(threading.Thread):
    """Consumes a queue until its connection dies, acknowledging the
    messages whose number is even and holding the others."""

    def __init__(self, broker, queue):
        super().__init__(daemon=True)
        self.params = broker.params()
        self.queue = queue
        self.ready = threading.Event()
        self.acked = 0

    def on_message(self, ch, method, _props, body):
        parsed = parse_body(body)
        if parsed is not None and parsed[2] % 2 == 0:
            ch.basic_ack(method.delivery_tag)
            self.acked += 1

    def run(self):
        try:
            conn = pika.BlockingConnection(self.params)
            ch = conn.channel()
            ch.basic_qos(prefetch_count=0)
            ch.basic_consume(self.queue, self.on_message)
            self.ready.set()
            ch.start_consuming()
        except Exception:  # noqa: BLE001 - the kill ends the consumer
            pass
        finally:
            self.ready.set()


def drain(broker, queue):
    """Every message in queue, in order, auto-acked."""
    ch = broker.channel()
    count = ch.queue_declare(queue, passive=True).method.message_count
    got = []
    if count:
        for method, _props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=10):
            assert method is not None, "%s: stalled after %d of %d messages" % (
                queue, len(got), count)
            got.append(body)
            if len(got) == count:
                break
        ch.cancel()
    assert ch.basic_get(queue, auto_ack=True)[0] is None, "%s: more than its count" % queue
    return got


def names_of(bodies):
    return ", ".join(b.partition(b"|")[0].decode() for b in bodies[:5])


def check_queue(queue, got, expected, rnd):
    """got: bodies drained from queue after round rnd; expected: the bodies
    confirmed into it. Returns the number of unconfirmed extras."""
    counts = collections.Counter(got)
    order = collections.defaultdict(list)
    for body in got:
        parsed = parse_body(body)
        if parsed is None:
            pytest.fail("round %d, %s: a body we never sent (%d bytes): %r"
                        % (rnd, queue, len(body), body[:80]))
        r, tid, n = parsed
        if r != rnd:
            pytest.fail("round %d, %s: message r%d-t%d-n%d, drained and acked after round %d, "
                        "came back" % (rnd, queue, r, tid, n, r))
        order[tid].append(n)
    missing = [b for b in expected if b not in counts]
    if missing:
        pytest.fail("round %d, %s: %d of %d confirmed messages lost, e.g. %s"
                    % (rnd, queue, len(missing), len(expected), names_of(missing)))
    doubled = [b for b in expected if counts[b] > 1]
    if doubled:
        pytest.fail("round %d, %s: confirmed messages delivered twice: %s"
                    % (rnd, queue, names_of(doubled)))
    for tid, ns in order.items():
        if ns != sorted(ns):
            pytest.fail("round %d, %s: publisher %d out of order: %s" % (rnd, queue, tid, ns[:50]))
    return len(got) - len(expected)


def test_confirmed_messages_survive_sigkill(broker, names):
    seed = int(os.environ.get("DURABILITY_SEED") or random.SystemRandom().randrange(1 << 32))
    rng = random.Random(seed)
    SUMMARY.append("crash test: seed %d (DURABILITY_SEED=%d repeats it)" % (seed, seed))
    print("crash test seed", seed)

    queues = (names("crash-a"), names("crash-b"))
    acked_queue = names("crash-c")
    fanout = names("crash-fanout")
    ch = broker.channel()
    ch.exchange_declare(fanout, "fanout", durable=True)
    for q in queues + (acked_queue,):
        ch.queue_declare(q, durable=True)
        ch.queue_bind(q, fanout)
    broker.sync()  # the topology itself is not what this test is about

    total_confirmed = total_checked = total_received = total_extra = 0
    for rnd in range(1, ROUNDS + 1):
        acker = HalfAcker(broker, acked_queue)
        acker.start()
        acker.ready.wait(30)
        pubs = [Publisher(broker, rnd, tid, queues, fanout) for tid in range(PUBLISHERS)]
        for p in pubs:
            p.start()
        for p in pubs:
            p.ready.wait(30)
        assert all(p.error is None for p in pubs), [repr(p.error) for p in pubs]
        delay = rng.uniform(0.3, 1.5)
        time.sleep(delay)
        broker.stop(signal.SIGKILL)
        for p in pubs:
            p.join(30)
            assert not p.is_alive(), "publisher %d still running after the kill" % p.tid
            assert isinstance(p.error, (pe.AMQPConnectionError, OSError)), \
                "publisher %d ended with %r, not a lost connection" % (p.tid, p.error)

        acker.join(30)
        broker.start()
        expected = {q: [] for q in queues + (acked_queue,)}
        for p in pubs:
            for dest, body in p.confirmed:
                for q in dest:
                    expected[q].append(body)
                # what went through the fanout reached the third queue too;
                # of that, the even-numbered may have been acknowledged
                if len(dest) == 2 and parse_body(body)[2] % 2 == 1:
                    expected[acked_queue].append(body)
        confirmed = sum(len(p.confirmed) for p in pubs)
        received = extra = 0
        for q in queues + (acked_queue,):
            got = drain(broker, q)
            extra += check_queue(q, got, expected[q], rnd)
            received += len(got)
        broker.sync()  # the drain's acks are on disk before the next kill
        checked = sum(len(v) for v in expected.values())
        line = ("round %d: killed after %.2f s; %d confirmed publishes (%d queue entries) "
                "all present; %d received, %d unconfirmed or acknowledged extra, %d nacked, "
                "%d acknowledged during the round"
                % (rnd, delay, confirmed, checked, received, extra,
                   sum(p.nacked for p in pubs), acker.acked))
        print(line)
        SUMMARY.append("  " + line)
        total_confirmed += confirmed
        total_checked += checked
        total_received += received
        total_extra += extra

    broker.stop(signal.SIGTERM)
    SUMMARY.append("crash test: %d rounds, %d publishers, %d confirmed messages, %d queue "
                   "entries checked, %d received, %d unconfirmed extra"
                   % (ROUNDS, PUBLISHERS, total_confirmed, total_checked, total_received,
                      total_extra))
    assert total_confirmed > 0, "no publish was ever confirmed: the test proved nothing"
