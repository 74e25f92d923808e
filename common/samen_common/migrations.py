"""Alembic environment shared by every service: each service's env.py calls `run(metadata, service)`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from samen_common.settings import database_url


def run(metadata, service: str) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or database_url(service)
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
