"""Password hashes in RabbitMQ's format: base64 of a 4-byte salt followed by
the digest of salt + password (SHA-256 by default, SHA-512 as an option), so
users exported from RabbitMQ keep their passwords.

- A hash computed here logs in on both brokers (Warren: add_user NAME HASH
  --pre-hashed-password; RabbitMQ 3.10, whose rabbitmqctl lacks that flag:
  import_definitions).
- Cross-check, only when both WARREN_BIN and ACCESS_RABBITMQCTL are set: a
  user made by RabbitMQ, exported with export_definitions, logs in to Warren.
- Warren alone: `warren hash_password` prints a hash of that format.
"""
import base64
import hashlib
import json
import os
import shlex
import subprocess

import pytest

from conftest import LOGIN_REFUSED, MODE, PASSWORD, RABBITMQCTL, WARREN_BIN, open_refusal, ping

ALGORITHMS = {"sha256": "rabbit_password_hashing_sha256",
              "sha512": "rabbit_password_hashing_sha512"}


def rabbit_hash(password, algorithm="sha256", salt=None):
    salt = salt if salt is not None else os.urandom(4)
    digest = hashlib.new(algorithm, salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def rabbitmqctl(*args):
    r = subprocess.run(shlex.split(RABBITMQCTL) + list(args), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, "rabbitmqctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr)
    return r.stdout


def exported_user(name):
    """The user's entry in RabbitMQ's export_definitions."""
    defs = json.loads(rabbitmqctl("export_definitions", "-", "--format", "json"))
    return next(u for u in defs["users"] if u["name"] == name)


def add_hashed_user(t, user, password_hash, algorithm="sha256"):
    if t.warren:
        t.ctl("add_user", user, password_hash, "--pre-hashed-password")
        return
    path = os.path.join(t.workdir, user + ".json")
    with open(path, "w") as f:
        json.dump({"users": [{"name": user, "password_hash": password_hash,
                              "hashing_algorithm": ALGORITHMS[algorithm], "tags": ""}]}, f)
    t.made_users.append(user)
    t.ctl("import_definitions", path)


def setup_target(t):
    t.vhost = t.name("hash")
    t.add_vhost(t.vhost)
    t.users = {}
    for algorithm in ALGORITHMS:
        user = t.users[algorithm] = t.name("computed-" + algorithm)
        add_hashed_user(t, user, rabbit_hash(PASSWORD, algorithm), algorithm)
        t.set_permissions(t.vhost, user, ".*", ".*", ".*")
    t.exported = None
    if RABBITMQCTL:
        # a user made by RabbitMQ itself, as export_definitions shows it
        user = t.users["exported"] = t.name("exported")
        rabbitmqctl("add_user", user, PASSWORD)
        try:
            t.exported = exported_user(user)
        finally:
            rabbitmqctl("delete_user", user)
        if t.warren:
            t.ctl("add_user", user, t.exported["password_hash"], "--pre-hashed-password")
            t.set_permissions(t.vhost, user, ".*", ".*", ".*")
    if t.warren:
        user = t.users["hash_password"] = t.name("hash-password")
        t.hash_password_output = t.ctl("hash_password", PASSWORD)
        t.ctl("add_user", user, t.hash_password_output.strip(), "--pre-hashed-password")
        t.set_permissions(t.vhost, user, ".*", ".*", ".*")


def logs_in(t, user, password=PASSWORD):
    conn = t.connect(user, password, t.vhost)
    ping(conn.channel())
    conn.close()


def check_format(text, password, digest_len=32, algorithm="sha256"):
    raw = base64.b64decode(text, validate=True)
    assert len(raw) == 4 + digest_len
    assert hashlib.new(algorithm, raw[:4] + password.encode()).digest() == raw[4:]


def test_format_of_the_computed_hash():
    # the test's own hash agrees with a known answer (salt 0x01020304)
    h = rabbit_hash("secret", salt=b"\x01\x02\x03\x04")
    check_format(h, "secret")
    assert h == base64.b64encode(
        b"\x01\x02\x03\x04" + hashlib.sha256(b"\x01\x02\x03\x04secret").digest()).decode()


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_pre_hashed_password_logs_in(target, algorithm):
    logs_in(target, target.users[algorithm])
    assert open_refusal(lambda: logs_in(target, target.users[algorithm], "wrong")) == (
        403, LOGIN_REFUSED)


@pytest.mark.skipif(not RABBITMQCTL, reason="needs ACCESS_RABBITMQCTL (a RabbitMQ to export from)")
def test_rabbitmq_exports_salted_sha256(target):
    assert target.exported["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    check_format(target.exported["password_hash"], PASSWORD)


@pytest.mark.skipif(not (RABBITMQCTL and WARREN_BIN),
                    reason="cross-check: needs both WARREN_BIN and ACCESS_RABBITMQCTL")
def test_user_exported_from_rabbitmq_logs_in_to_warren(target):
    logs_in(target, target.users["exported"])
    assert open_refusal(lambda: logs_in(target, target.users["exported"], "wrong")) == (
        403, LOGIN_REFUSED)


@pytest.mark.skipif(MODE != "warren", reason="warren hash_password: Warren only")
def test_warren_hash_password_prints_a_rabbitmq_hash(target):
    lines = target.hash_password_output.split()
    assert len(lines) == 1, target.hash_password_output
    check_format(lines[0], PASSWORD)
    logs_in(target, target.users["hash_password"])
