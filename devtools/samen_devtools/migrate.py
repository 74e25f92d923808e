"""Create each service's database when missing and upgrade it to the newest Alembic revision.

    python -m samen_devtools.migrate [--prefix samen_] [service ...]
    python -m samen_devtools.migrate --prefix samen_test_ --drop [service ...]

Each service owns the database `<prefix><service>` on the server of `SAMEN_POSTGRES_URL`. Without
`--prefix`, `SAMEN_DATABASE_PREFIX` (default `samen_`) applies and `SAMEN_<SERVICE>_DATABASE_URL`
replaces the whole URL of one service, as the services themselves resolve it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy.engine import URL, make_url

log = logging.getLogger("samen_devtools.migrate")

SERVICES = ("accounts", "media", "messaging", "requests", "notify")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
DEFAULT_PREFIX = "samen_"
REPO_ROOT = Path(__file__).resolve().parents[2]


def service_database_url(service: str, prefix: str | None) -> URL:
    """Return the SQLAlchemy URL of one service's database.

    An explicit `prefix` ignores `SAMEN_<SERVICE>_DATABASE_URL`, so that a test run with its own
    prefix never drops or migrates a database that the environment points at.
    """
    explicit = os.environ.get(f"SAMEN_{service.upper()}_DATABASE_URL")
    if prefix is None and explicit:
        return make_url(explicit)

    server = os.environ.get("SAMEN_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    if prefix is None:
        prefix = os.environ.get("SAMEN_DATABASE_PREFIX") or DEFAULT_PREFIX
    return make_url(server.rstrip("/")).set(database=f"{prefix}{service}")


def connect_maintenance(url: URL) -> psycopg.Connection:
    """Open an autocommit connection to the `postgres` database on the server of `url`."""
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname="postgres",
        autocommit=True,
    )


def create_database(url: URL) -> bool:
    """Create the database of `url` unless it exists, and return whether it was created."""
    with connect_maintenance(url) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
    return True


def drop_database(url: URL) -> bool:
    """Drop the database of `url` and its open sessions, and return whether it existed.

    `WITH (FORCE)` needs PostgreSQL 13 or later.
    """
    with connect_maintenance(url) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if not exists:
            return False
        conn.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(url.database))
        )
    return True


def alembic_config(service: str, url: URL) -> Config | None:
    """Build the Alembic config of one service, or return None when it has no alembic.ini."""
    ini_path = REPO_ROOT / "services" / service / "alembic.ini"
    if not ini_path.is_file():
        return None

    config = Config(str(ini_path))

    # A relative script_location is relative to the working directory in Alembic, so it is
    # resolved against the alembic.ini folder. A "package:folder" location stays as it is.
    script_location = config.get_main_option("script_location") or "alembic"
    if ":" not in script_location:
        resolved = (ini_path.parent / script_location).resolve()
        config.set_main_option("script_location", str(resolved))

    # ConfigParser treats "%" as interpolation, so an escaped password needs "%%".
    rendered = url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate_service(service: str, prefix: str | None) -> None:
    url = service_database_url(service, prefix)
    config = alembic_config(service, url)
    if config is None:
        log.info("skipping %s: services/%s/alembic.ini does not exist", service, service)
        return

    if create_database(url):
        log.info("created database %s for %s", url.database, service)
    log.info("upgrading %s (database %s) to head", service, url.database)
    command.upgrade(config, "head")

    # An env.py that calls logging.config.fileConfig disables the loggers that exist already
    # and sets the root level from alembic.ini (WARN in Alembic's template).
    log.disabled = False


def drop_service(service: str, prefix: str | None) -> None:
    url = service_database_url(service, prefix)
    if drop_database(url):
        log.info("dropped database %s of %s", url.database, service)
    else:
        log.info("database %s of %s does not exist", url.database, service)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m samen_devtools.migrate",
        description="Create and migrate (or drop) the database of each Samen service.",
    )
    parser.add_argument(
        "services",
        nargs="*",
        metavar="service",
        help=f"services to handle (default: all of {', '.join(SERVICES)})",
    )
    parser.add_argument(
        "--prefix",
        help="database name prefix (default: SAMEN_DATABASE_PREFIX or samen_); "
        "when given, SAMEN_<SERVICE>_DATABASE_URL is ignored",
    )
    parser.add_argument(
        "--drop",
        action="store_true",
        help="drop the databases instead of migrating them, closing open sessions",
    )
    args = parser.parse_args(argv)

    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)} (expected one of {', '.join(SERVICES)})")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)
    args = parse_args(argv)
    services = args.services or list(SERVICES)

    for service in services:
        try:
            if args.drop:
                drop_service(service, args.prefix)
            else:
                migrate_service(service, args.prefix)
        except psycopg.OperationalError as exc:
            log.error(
                "failed to connect to PostgreSQL for %s: %s (check SAMEN_POSTGRES_URL, "
                "or run scripts/ensure-infra.sh)",
                service,
                str(exc).strip(),
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
