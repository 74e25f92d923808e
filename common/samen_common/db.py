"""The database dependency: one engine per service process, one session per worker."""

from __future__ import annotations

import time
from contextlib import contextmanager

import structlog
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from samen_common.settings import database_url, env_float, env_int

log = structlog.get_logger(__name__)


def make_engine(url: str, *, pool_size: int | None = None, application_name: str = "samen") -> Engine:
    """Create an engine with pings of idle connections, bounded waits and server-side timeouts.

    `SAMEN_DB_STATEMENT_TIMEOUT_MS` stops a query that runs too long, and
    `idle_in_transaction_session_timeout` ends a transaction a killed worker left open.
    """
    statement_timeout = env_int("SAMEN_DB_STATEMENT_TIMEOUT_MS", 5000)
    idle_timeout = env_int("SAMEN_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 30000)
    options = (
        f"-c statement_timeout={statement_timeout} "
        f"-c idle_in_transaction_session_timeout={idle_timeout} "
        "-c timezone=UTC"
    )
    engine = create_engine(
        url,
        pool_size=pool_size or env_int("SAMEN_DB_POOL_SIZE", 10),
        max_overflow=env_int("SAMEN_DB_MAX_OVERFLOW", 5),
        pool_timeout=env_int("SAMEN_DB_POOL_TIMEOUT", 5),
        pool_recycle=1800,
        connect_args={
            "connect_timeout": env_int("SAMEN_DB_CONNECT_TIMEOUT", 5),
            "options": options,
            "application_name": application_name,
        },
    )
    ping_idle_connections(engine, env_float("SAMEN_DB_PING_AFTER_IDLE_S", 1.0))
    return engine


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use when it sat unused for `idle_seconds` or longer.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip for every call,
    which cost 5% of the accounts service's CPU time under load. A connection in steady use
    needs no ping, because a dropped connection fails its next statement, SQLAlchemy then
    invalidates every older connection of the pool, and that call fails with 503. A connection
    that sat idle through a database restart is caught here instead and replaced before use.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["samen_returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        returned = record.info.get("samen_returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # A backend ended by a restart fails with an error (57P01 admin_shutdown) that
            # SQLAlchemy does not count as a disconnect, so do_ping raises instead of saying False.
            log.info("database.idle_connection_dropped", error=str(exc)[:200])
            alive = False
        if not alive:
            # The pool discards this connection and checks out another one.
            raise DisconnectionError("idle connection failed its ping")


class LazySession:
    """The worker's SQLAlchemy session, created when the worker first uses it.

    Attribute access goes to the real `Session`. A call that never touches the database (a
    cached result, an echo, an early NotFound) skips creating and closing one, about 33 µs.
    """

    __slots__ = ("_factory", "_session")

    def __init__(self, factory: sessionmaker):
        self._factory = factory
        self._session: Session | None = None

    def __getattr__(self, name: str):
        session = self._session
        if session is None:
            session = self._session = self._factory()
        return getattr(session, name)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


class Database(DependencyProvider):
    """Give each worker its own SQLAlchemy session on the service's own database.

    The session is closed (and an open transaction rolled back) when the worker ends, so an
    error never leaves a connection idle in a transaction.
    """

    def __init__(self, service: str):
        self.service = service
        self.engine: Engine | None = None
        self.session_factory: sessionmaker | None = None
        self.sessions: dict = {}

    def setup(self):
        url = database_url(self.service)
        self.engine = make_engine(url, application_name=f"samen-{self.service}")
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        log.info("database.configured", database=self.engine.url.database)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx) -> Session:
        session = LazySession(self.session_factory)
        self.sessions[worker_ctx] = session
        return session  # type: ignore[return-value] - it stands in for a Session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


def read_without_transaction(session: Session) -> None:
    """Run the worker's next statements in autocommit mode, for a call that only reads.

    Each statement then sees the latest committed data on its own, and the call skips the
    BEGIN and ROLLBACK round trips that a transaction costs (two of the four round trips of
    `me`). Has no effect once the session holds a connection, so it is safe to call from a
    method that another method calls after writing.
    """
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@contextmanager
def atomic(session: Session):
    """Commit the session's work when the block ends, or roll it back on an exception.

    Works whether or not an earlier read already began a transaction on the session.
    """
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()
