"""Pooled connections that PostgreSQL closed are replaced, pinged only after sitting idle."""

import os
import time

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from samen_common.db import make_engine

SERVER = os.environ["SAMEN_POSTGRES_URL"]


@pytest.fixture
def engine(monkeypatch):
    monkeypatch.setenv("SAMEN_DB_PING_AFTER_IDLE_S", "0.3")
    engine = make_engine(f"{SERVER}/postgres", pool_size=1, application_name="samen-pool-test")
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def _terminate(pid: int) -> None:
    with psycopg.connect(SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)


def _count_pings(engine) -> list:
    pings = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    engine.dialect.do_ping = counting
    return pings


def test_busy_connection_not_pinged(engine):
    pings = _count_pings(engine)
    first = _backend_pid(engine)
    for _ in range(5):
        assert _backend_pid(engine) == first
    assert pings == []


def test_dead_idle_connection_replaced(engine):
    pings = _count_pings(engine)
    dead = _backend_pid(engine)
    _terminate(dead)
    time.sleep(0.4)
    # The ping at checkout finds the connection dead; the pool opens another and the call succeeds.
    assert _backend_pid(engine) != dead
    assert pings


def test_dead_busy_connection_fails_once(engine):
    connects = []
    event.listen(engine, "connect", lambda *args: connects.append(1))
    dead = _backend_pid(engine)
    _terminate(dead)
    # Returned a moment ago, so no ping: the statement meets the closed connection.
    with pytest.raises(DBAPIError) as failure:
        _backend_pid(engine)
    assert failure.value.connection_invalidated
    assert _backend_pid(engine) != dead
    assert len(connects) == 2
