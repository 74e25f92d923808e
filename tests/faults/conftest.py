"""Fixtures of the fault suite: its own RabbitMQ node, PostgreSQL cluster, S3 server and platform.

The servers are started once per session in a temporary folder and removed at the end. Tests
restart, kill and freeze them freely; each test starts by waiting until the platform is ready
again, so one test's fault does not leak into the next.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.e2e.platform import Platform
from tests.faults.servers import FaultObjectStore, FaultPostgres, FaultRabbit

# The gateway's RPC timeout in the fault platform, in seconds; the tests bound response times by it.
RPC_TIMEOUT = 5.0


@pytest.fixture(scope="session")
def fault_dir():
    # Set SAMEN_FAULTS_KEEP=1 to keep the servers' data and the platform log after the session.
    # Not under pytest's tmp_path: the rabbitmq and postgres users must be able to enter it.
    path = Path(tempfile.mkdtemp(prefix="samen-faults-"))
    path.chmod(0o755)
    yield path
    if os.environ.get("SAMEN_FAULTS_KEEP") != "1":
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_rabbit(fault_dir):
    server = FaultRabbit(fault_dir / "rabbitmq")
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_postgres(fault_dir):
    server = FaultPostgres(fault_dir / "postgres")
    server.start()
    yield server
    server.stop(mode="immediate")


@pytest.fixture(scope="session")
def fault_storage(fault_dir):
    store = FaultObjectStore(fault_dir / "s3")
    try:
        store.start()
    except Exception:
        store.stop()
        raise
    yield store
    store.stop()


@pytest.fixture(scope="session")
def fault_platform(fault_dir, fault_rabbit, fault_postgres, fault_storage):
    workdir = fault_dir / "platform"
    workdir.mkdir()
    instance = Platform(
        workdir,
        amqp_base=fault_rabbit.amqp_base,
        rabbit_api=fault_rabbit.api,
        postgres_url=fault_postgres.url,
        extra_env={
            "SAMEN_GATEWAY_RPC_TIMEOUT": str(RPC_TIMEOUT),
            "SAMEN_GATEWAY_WORKERS": "1",
            "SAMEN_AMQP_HEARTBEAT": "10",
            # The traffic logs in several times a second from one address.
            "SAMEN_LOGIN_FAILURES_PER_ADDRESS": "100000",
            "SAMEN_LOGIN_FAILURES_PER_ACCOUNT": "100000",
            "SAMEN_LOGIN_FREE_FAILURES": "100000",
            # Photos whose processing met a storage outage are queued again after this many seconds.
            "SAMEN_MEDIA_PROCESSING_RETRY_SECONDS": "5",
            **fault_storage.environment(),
        },
    )
    try:
        instance.start()
        instance.wait_ready(timeout=120)
    except Exception:
        instance.stop()
        raise
    yield instance
    instance.stop()


@pytest.fixture
def platform_ready(fault_platform, fault_rabbit, fault_postgres, fault_storage):
    """The fault platform with every server running and every service answering."""
    if fault_storage.forwarder is None:
        fault_storage.start_endpoint()
    if "smtp" not in fault_platform.processes:
        fault_platform.start_smtp()
    fault_platform.fcm_control("reset")
    if fault_rabbit.process is None:
        fault_rabbit.start()
    if not (fault_postgres.data / "postmaster.pid").exists():
        fault_postgres.start()
    fault_platform.wait_ready(timeout=120)
    return fault_platform
