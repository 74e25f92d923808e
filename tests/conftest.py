"""Fixtures shared by every test: eventlet, settings, keys, databases, broker and tokens.

eventlet's monkey patch must come before anything imports sockets or threads, or nameko's
containers hang in tests.
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import re  # noqa: E402
import time as _time  # noqa: E402

# The services count days in Europe/Amsterdam. Tests (and the processes they start) use the same
# zone, so `date.today()` in a test is the services' today, also just after midnight in Amsterdam.
os.environ["TZ"] = "Europe/Amsterdam"
_time.tzset()
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="samen-test-"))
# One set of databases per test session, so parallel runs on one server never drop each other's.
TEST_PREFIX = os.environ.get("SAMEN_TEST_DATABASE_PREFIX") or f"samen_t{os.getpid()}_"
SERVICES = ("accounts", "media", "messaging", "requests", "notify")

os.environ.setdefault("SAMEN_ENV", "test")
os.environ["SAMEN_DATABASE_PREFIX"] = TEST_PREFIX
os.environ.setdefault("SAMEN_DATA_DIR", str(TEST_DATA_DIR))
os.environ.setdefault("SAMEN_LOG_FORMAT", "console")
os.environ.setdefault("SAMEN_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
os.environ.setdefault("SAMEN_JWT_PUBLIC_KEY_FILE", str(TEST_DATA_DIR / "keys" / "jwt-public.pem"))
os.environ.setdefault("SAMEN_JWT_PRIVATE_KEY_FILE", str(TEST_DATA_DIR / "keys" / "jwt-private.pem"))

from samen_devtools.keys import ensure_keys  # noqa: E402

ensure_keys(Path(os.environ["SAMEN_JWT_PUBLIC_KEY_FILE"]).parent)



def pytest_addoption(parser):
    parser.addoption("--keep-databases", action="store_true", help="do not drop the samen_test_* databases at the end")


def pytest_configure(config):
    # nameko's plugin reads these; the management API runs on the broker's machine.
    amqp = os.environ.get("SAMEN_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    config.option.RABBIT_AMQP_URI = amqp
    config.option.RABBIT_API_URI = os.environ.get("SAMEN_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
    config.option.suppress_eventlet_notification = True


_migrated: set[str] = set()


def _drop_databases(only_dead: bool) -> None:
    """Drop this session's test databases, or those of test sessions that no longer run."""
    import psycopg

    server = os.environ["SAMEN_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        names = [row[0] for row in connection.execute("SELECT datname FROM pg_database WHERE datname LIKE 'samen_t%'")]
        for name in names:
            match = re.match(r"^samen_t(\d+)_", name)
            if match is None:
                continue
            pid = int(match.group(1))
            if only_dead:
                if pid == os.getpid() or os.path.exists(f"/proc/{pid}"):
                    continue
            elif not name.startswith(TEST_PREFIX):
                continue
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_sessionstart(session):
    try:
        _drop_databases(only_dead=True)
    except Exception:  # noqa: BLE001 - a server that is down fails the tests that need it, with its own error
        pass


def pytest_sessionfinish(session, exitstatus):
    if session.config.getoption("--keep-databases"):
        return
    try:
        _drop_databases(only_dead=False)
    except Exception:  # noqa: BLE001 - leftovers are dropped by the next session's start
        pass


@pytest.fixture(scope="session")
def migrated():
    """Return a function that creates and migrates `samen_test_<service>` once per session."""
    from samen_devtools import migrate

    def ensure(service: str) -> str:
        if service not in _migrated:
            migrate.drop_service(service, TEST_PREFIX)
            migrate.migrate_service(service, TEST_PREFIX)
            _migrated.add(service)
        return str(migrate.service_database_url(service, TEST_PREFIX).render_as_string(hide_password=False))

    return ensure


def _truncate(url: str) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def clean_db(migrated):
    """Migrate every service's test database and empty its tables before the test."""
    urls = {service: migrated(service) for service in SERVICES if (ROOT / "services" / service / "alembic.ini").exists()}
    for url in urls.values():
        _truncate(url)
    return urls


@pytest.fixture
def service_config(rabbit_config):
    """nameko config for container_factory and runner_factory, on the test's own vhost."""
    config = dict(rabbit_config)
    config.update({"max_workers": 10, "PREFETCH_COUNT": 10, "serializer": "json", "HEARTBEAT": 30,
                   "SERVICE_CONTAINER_CLS": "samen_common.container.SamenContainer"})
    os.environ["SAMEN_AMQP_URI"] = config["AMQP_URI"]
    return config


@pytest.fixture
def make_token():
    """Sign an access token like accounts does, for tests that call services directly."""
    from samen_accounts.security import issue_access_token, token_settings

    def make(account_id, kind="guardian", roles=(), organisation_id=None, language="nl", ttl_minutes=None):
        settings = token_settings()
        if ttl_minutes is not None:
            settings = type(settings)(
                timedelta(minutes=ttl_minutes), settings.refresh_ttl, settings.remember_me_ttl,
                settings.reset_ttl, settings.private_key_file,
            )
        return issue_access_token(
            account_id=uuid.UUID(str(account_id)), kind=kind,
            organisation_id=uuid.UUID(str(organisation_id)) if organisation_id else uuid.uuid4(),
            roles=list(roles), language=language, session_id=uuid.uuid4(),
            now=datetime.now(timezone.utc), settings=settings,
        )

    return make


@pytest.fixture
def context_data():
    """Build the context data the gateway sends along with an RPC."""

    def build(token=None, language="nl", client_address="127.0.0.1", timeout=10.0):
        data = {
            "request_id": uuid.uuid4().hex,
            "language": language,
            "client_address": client_address,
            "deadline": time.time() + timeout,
        }
        if token:
            data["access_token"] = token
        return data

    return build


@pytest.fixture(scope="session")
def platform_pool(request, tmp_path_factory):
    """Start the end-to-end platforms of the session one test module ahead (tests/e2e/pool.py)."""
    from tests.e2e.pool import PlatformPool, modules_using

    pool = PlatformPool(tmp_path_factory, modules_using(request.session, __name__))
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def platform(request, platform_pool):
    """The whole platform as real processes (tests/e2e/platform.py), fresh for each test module."""
    instance = platform_pool.take(request.node.nodeid)
    yield instance
    platform_pool.release(instance)
