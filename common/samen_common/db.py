"""The database dependency: one engine per service process, one session per worker."""

from __future__ import annotations

from contextlib import contextmanager

import structlog
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from samen_common.settings import database_url, env_int

log = structlog.get_logger(__name__)


def make_engine(url: str, *, pool_size: int | None = None, application_name: str = "samen") -> Engine:
    """Create an engine with pre-ping, bounded waits and server-side timeouts.

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
    return create_engine(
        url,
        pool_size=pool_size or env_int("SAMEN_DB_POOL_SIZE", 10),
        max_overflow=env_int("SAMEN_DB_MAX_OVERFLOW", 5),
        pool_timeout=env_int("SAMEN_DB_POOL_TIMEOUT", 5),
        pool_recycle=1800,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": env_int("SAMEN_DB_CONNECT_TIMEOUT", 5),
            "options": options,
            "application_name": application_name,
        },
    )


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
        session = self.session_factory()
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


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
