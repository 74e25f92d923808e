"""A moto S3 server on a free loopback port, and storages pointed at it or at tmp_path."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from samen_media.storage import LocalStorage, S3Storage

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
START_TIMEOUT_SECONDS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """Return a loopback port on which nothing listens, so connections are refused."""
    return free_port()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """Start `moto_server` as a subprocess and return its endpoint URL; stop it by pid after."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"moto_server exited with {server.returncode}: {log_path.read_text()}")
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not answer on {endpoint} within "
                                f"{START_TIMEOUT_SECONDS} s")
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def s3_storage(moto_endpoint):
    """Return an S3Storage on a new bucket of the moto server."""
    storage = S3Storage(
        bucket=f"samen-media-{uuid.uuid4().hex[:12]}",
        region="eu-central-1",
        endpoint_url=moto_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
        path_style=True,
    )
    storage.ensure_bucket()
    return storage


@pytest.fixture
def local_storage(tmp_path):
    return LocalStorage(
        tmp_path / "objects",
        signing_key=b"k" * 32,
        base_url="http://127.0.0.1:8080/media/files/",
    )
