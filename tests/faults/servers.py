"""Throwaway RabbitMQ, PostgreSQL and S3 servers that the fault tests may stop, restart and freeze.

Both run from the Debian packages on this machine, on their own loopback ports and data folders
under a temporary directory, so the shared servers on 5672 and 5432 are never touched. The test
process runs as root: RabbitMQ runs as the `rabbitmq` user (whose home holds the Erlang cookie
that `rabbitmqctl` uses) and PostgreSQL as `postgres`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

from tests.e2e.platform import free_port, wait_for_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
RABBIT_HOME = "/var/lib/rabbitmq"


def _chown(path: Path, user: str) -> None:
    shutil.chown(path, user=user)
    for child in path.rglob("*"):
        shutil.chown(child, user=user)


class FaultRabbit:
    """A second RabbitMQ node `samenfault@localhost` with its own AMQP, management and dist ports."""

    node = "samenfault@localhost"

    def __init__(self, base: Path):
        self.base = base
        self.amqp_port = free_port()
        self.management_port = free_port()
        self.dist_port = free_port()
        self.amqp_base = f"amqp://guest:guest@127.0.0.1:{self.amqp_port}"
        self.api = f"http://guest:guest@127.0.0.1:{self.management_port}"
        self.process: subprocess.Popen | None = None

    def _environment(self) -> dict[str, str]:
        return {
            "HOME": RABBIT_HOME,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            # The system's rabbitmq-env.conf names the shared node, so an empty file replaces it.
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self, timeout: float = 60.0) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "rabbitmq.conf").write_text(
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
        )
        (self.base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        _chown(self.base, "rabbitmq")
        log = open(self.base / "server.out", "ab")
        self.process = subprocess.Popen(
            ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in self._environment().items()),
             str(RABBIT_BIN / "rabbitmq-server")],
            stdout=log, stderr=log, cwd=self.base, start_new_session=True,
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {self.node} exited; see {self.base / 'server.out'}")
            try:
                if requests.get(f"{self.api}/api/overview", timeout=2).ok:
                    wait_for_port(self.amqp_port, timeout=5)
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"RabbitMQ node {self.node} not ready after {timeout} s; see {self.base}")

    def rabbitmqctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "rabbitmq", "--", "env", f"HOME={RABBIT_HOME}",
             str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
            capture_output=True, text=True, timeout=timeout,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.rabbitmqctl("stop")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


class FaultPostgres:
    """A PostgreSQL 15 cluster in its own data folder, listening on 127.0.0.1 and a free port."""

    def __init__(self, base: Path):
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        self.conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=3"

    def _as_postgres(self, *argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True,
                              timeout=timeout, check=True)

    def start(self) -> None:
        if not self.data.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            _chown(self.base, "postgres")
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"), "-w",
            "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=200",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def server_pids(self) -> list[int]:
        """Return the postmaster's pid followed by every backend and helper process it forked."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(entry.name))
        return [postmaster, *children]

    def signal_all(self, signum: int) -> list[int]:
        pids = self.server_pids()
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        return pids

    def query(self, sql: str, params=None, dbname: str = "postgres") -> list[tuple]:
        conninfo = self.conninfo.replace("dbname=postgres", f"dbname={dbname}")
        with psycopg.connect(conninfo, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()


class FaultObjectStore:
    """moto's S3 server behind a loopback forwarder that tests stop and start.

    The platform talks to the forwarder's port. `stop_endpoint()` kills the forwarder, so S3 calls
    fail with connection refused, and moto keeps every object for when `start_endpoint()` brings
    the same port back.
    """

    bucket = "samen-media-faults"

    def __init__(self, base: Path):
        self.base = base
        self.moto_port = free_port()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.moto: subprocess.Popen | None = None
        self.forwarder: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        """Return the media settings that point the gateway and the media service at this store."""
        return {
            "SAMEN_STORAGE_BACKEND": "s3",
            "SAMEN_S3_ENDPOINT_URL": self.endpoint,
            "SAMEN_S3_BUCKET": self.bucket,
            "SAMEN_S3_REGION": "eu-central-1",
            "SAMEN_S3_ACCESS_KEY_ID": "testing",
            "SAMEN_S3_SECRET_ACCESS_KEY": "testing",
            "SAMEN_S3_PATH_STYLE": "true",
        }

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "moto.log", "ab")
        environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        self.moto = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(self.moto_port)],
            stdout=log, stderr=log, env=environment,
        )
        wait_for_port(self.moto_port, timeout=30)
        self.start_endpoint()

    def start_endpoint(self) -> None:
        log = open(self.base / "forward.log", "ab")
        self.forwarder = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("forward.py")), str(self.port), str(self.moto_port)],
            stdout=log, stderr=log,
        )
        wait_for_port(self.port, timeout=10)

    def stop_endpoint(self) -> None:
        if self.forwarder is not None and self.forwarder.poll() is None:
            self.forwarder.kill()
            self.forwarder.wait(timeout=10)
        self.forwarder = None

    def stop(self) -> None:
        self.stop_endpoint()
        if self.moto is not None and self.moto.poll() is None:
            self.moto.terminate()
            try:
                self.moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.moto.kill()
                self.moto.wait(timeout=10)
        self.moto = None

    def keys(self) -> set[str]:
        """Return every object key in the bucket, read from moto directly."""
        import boto3

        client = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{self.moto_port}", region_name="eu-central-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        keys = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys
