"""Slow queries in one nameko service container run concurrently and do not stall the hub."""

import os
import time

import eventlet
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

from samen_common.db import make_engine
from samen_common.rpc import rpc


class _Engine(DependencyProvider):
    def setup(self):
        self.engine = make_engine(f"{os.environ['SAMEN_POSTGRES_URL'].rstrip('/')}/postgres", pool_size=10)

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.engine


class SleepyService:
    name = "sleepy"
    engine = _Engine()

    @rpc
    def sleep_in_database(self, seconds: float) -> int:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
        return 1

    @rpc
    def ping(self) -> str:
        return "pong"


def test_ten_slow_queries_overlap(container_factory, service_config):
    container = container_factory(SleepyService, service_config)
    container.start()

    with ClusterRpcProxy(service_config, timeout=30) as proxy:
        proxy.sleepy.ping()
        started = time.monotonic()
        replies = [proxy.sleepy.sleep_in_database.call_async(1) for _ in range(10)]
        assert [reply.result() for reply in replies] == [1] * 10
        elapsed = time.monotonic() - started

    # Blocking psycopg waits would serialise the ten queries (about 10 s).
    assert elapsed < 2.5, f"ten pg_sleep(1) calls took {elapsed:.2f} s"


def test_slow_query_does_not_delay_other_rpc(container_factory, service_config):
    container = container_factory(SleepyService, service_config)
    container.start()

    with ClusterRpcProxy(service_config, timeout=30) as proxy:
        proxy.sleepy.ping()
        slow = proxy.sleepy.sleep_in_database.call_async(3)
        eventlet.sleep(0.3)
        started = time.monotonic()
        assert proxy.sleepy.ping() == "pong"
        ping_seconds = time.monotonic() - started
        assert slow.result() == 1

    assert ping_seconds < 0.5, f"ping waited {ping_seconds:.2f} s behind a pg_sleep(3)"
