"""Shared fixtures for the raw-wire interop tests.

Every test is followed by a health check: a fresh connection must still be
able to declare a queue, publish and get the message back.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import amqp_wire as w  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: waits for a broker timeout (about 10 s)")


@pytest.fixture(autouse=True)
def broker_still_serves():
    """After each (hostile) test, the broker serves a normal client."""
    yield
    w.assert_broker_serves()


@pytest.fixture
def conn():
    """A logged-in socket with channel 1 open; closed after the test."""
    sock = w.open_connection()
    yield sock
    sock.close()


@pytest.fixture
def queue(conn):
    """An exclusive queue on `conn` channel 1 (gone when conn closes)."""
    name = w.unique()
    w.declare_queue(conn, 1, name, exclusive=True)
    return name
