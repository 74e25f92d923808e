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


# Fixtures of the media service tests: the demo organisation in the accounts test database, the
# accounts and media services in containers, and helpers to upload test photos.

import io as _io  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import eventlet  # noqa: E402
import piexif  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from samen_media.storage import new_object_key as _new_object_key  # noqa: E402
from samen_media.storage import variant_key as _variant_key  # noqa: E402


@dataclass
class DemoPeople:
    """Ids of the demo logins, their children and groups, read from the accounts test database."""

    accounts_url: str
    organisation_id: str
    accounts: dict  # account number -> account id
    roles: dict  # account number -> [roles]
    children: dict  # guardian account number -> [child ids]
    child_group: dict  # child id -> group id
    groups: dict  # group name -> group id

    def consent(self, child_id: str, value: bool) -> None:
        engine = create_engine(self.accounts_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE children SET photo_consent = :v WHERE id = :id"), {"v": value, "id": child_id})
        engine.dispose()


def read_demo_people(accounts_url: str) -> DemoPeople:
    engine = create_engine(accounts_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, account_number, organisation_id FROM accounts")).all()
        accounts = {number: str(account_id) for account_id, number, _org in rows}
        organisation_id = str(rows[0][2])
        roles: dict = {}
        for number, role in connection.execute(text(
            "SELECT a.account_number, r.role FROM staff_roles r JOIN accounts a ON a.id = r.staff_id"
        )):
            roles.setdefault(number, []).append(role)
        children: dict = {}
        for number, child_id in connection.execute(text(
            "SELECT a.account_number, g.child_id FROM guardianships g JOIN accounts a ON a.id = g.guardian_id"
            " ORDER BY g.child_id"
        )):
            children.setdefault(number, []).append(str(child_id))
        child_group = {str(c): str(g) for c, g in connection.execute(text(
            "SELECT child_id, group_id FROM placements WHERE start_date <= CURRENT_DATE"
            " AND (end_date IS NULL OR end_date >= CURRENT_DATE)"
        ))}
        groups = {name: str(group_id) for group_id, name in connection.execute(text("SELECT id, name FROM groups"))}
    engine.dispose()
    return DemoPeople(accounts_url, organisation_id, accounts, roles, children, child_group, groups)


@pytest.fixture
def media_env(tmp_path, monkeypatch):
    """Point the media settings at a fresh local storage directory and forget cached storage."""
    from samen_media import settings as media_settings_module

    monkeypatch.setenv("SAMEN_STORAGE_BACKEND", "local")
    monkeypatch.setenv("SAMEN_STORAGE_DIR", str(tmp_path / "storage"))
    media_settings_module.shared_storage.cache_clear()
    yield tmp_path / "storage"
    media_settings_module.shared_storage.cache_clear()


@pytest.fixture
def demo_people(clean_db):
    from samen_devtools import demo

    demo.load(clean_db["accounts"])
    return read_demo_people(clean_db["accounts"])


@pytest.fixture
def media_services(container_factory, service_config, demo_people, media_env):
    """Start the accounts and media services on the test's vhost."""
    from samen_accounts.service import AccountsService
    from samen_media.service import MediaService

    for service_class in (AccountsService, MediaService):
        container_factory(service_class, service_config).start()
    return demo_people


@pytest.fixture
def token_of(make_token, demo_people):
    """Return an access token of a demo login by its account number."""

    def token(number: str, language: str = "nl") -> str:
        kind = "staff" if number.startswith("9") else "guardian"
        return make_token(demo_people.accounts[number], kind, roles=demo_people.roles.get(number, []),
                          organisation_id=demo_people.organisation_id, language=language)

    return token


@pytest.fixture
def media_call(service_config, context_data, token_of):
    """Call a media RPC as a demo login (or without token when `as_number` is None)."""

    def invoke(as_number, method, *args, **kwargs):
        token = token_of(as_number) if as_number else None
        with ClusterRpcProxy(service_config, context_data=context_data(token), timeout=20) as proxy:
            return getattr(proxy.media, method)(*args, **kwargs)

    return invoke


def photo_bytes(kind: str = "jpeg", size=(400, 200), orientation: int = 1, gps: bool = True) -> bytes:
    """Build a photo with a red block in the top-left corner, EXIF orientation and GPS."""
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    buffer = _io.BytesIO()
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Orientation: orientation, piexif.ImageIFD.Make: b"Test Camera"},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((52, 1), (5, 1), (2400, 100))},
    } if gps else {"0th": {piexif.ImageIFD.Orientation: orientation}})
    if kind == "jpeg":
        image.save(buffer, format="JPEG", quality=90, exif=exif)
    elif kind == "png":
        rgba = Image.new("RGBA", size, (0, 0, 0, 0))
        rgba.paste((0, 0, 255, 255), (size[0] // 2, 0, size[0], size[1]))
        rgba.save(buffer, format="PNG")
    elif kind == "heic":
        import pillow_heif

        pillow_heif.from_pillow(image).save(buffer, format="HEIF", quality=90, exif=exif)
    else:
        raise ValueError(kind)
    return buffer.getvalue()


def put_upload(storage, data: bytes) -> str:
    key = _variant_key(_new_object_key("uploads"), "source", "bin")
    storage.put(key, data, "application/octet-stream")
    return key


def wait_for_status(media_call, photo_id: str, timeout: float = 30.0) -> dict:
    """Poll `photo_visibility` until the photo leaves the processing status."""
    deadline = eventlet.hubs.get_hub().clock() + timeout
    while True:
        state = media_call(None, "photo_visibility", [photo_id])[photo_id]
        if state["status"] != "processing":
            return state
        if eventlet.hubs.get_hub().clock() > deadline:
            raise AssertionError(f"photo {photo_id} still processing after {timeout} s")
        eventlet.sleep(0.2)


# The root conftest drops and recreates the shared `samen_test_*` databases at the start of each
# session, which breaks a test session running at the same time on the same server. Setting
# SAMEN_TEST_DATABASE_PREFIX gives these tests databases of their own; unset, they use the shared ones.
_AREA_PREFIX = os.environ.get("SAMEN_TEST_DATABASE_PREFIX")
_area_migrated: set[str] = set()


@pytest.fixture
def clean_db(request, monkeypatch):
    if not _AREA_PREFIX:
        return request.getfixturevalue("_shared_clean_db")
    from samen_devtools import migrate
    from tests.conftest import _truncate

    monkeypatch.setenv("SAMEN_DATABASE_PREFIX", _AREA_PREFIX)
    urls = {}
    for service in ("accounts", "media"):
        if service not in _area_migrated:
            migrate.drop_service(service, _AREA_PREFIX)
            migrate.migrate_service(service, _AREA_PREFIX)
            _area_migrated.add(service)
        urls[service] = migrate.service_database_url(service, _AREA_PREFIX).render_as_string(hide_password=False)
        _truncate(urls[service])
    return urls


@pytest.fixture
def _shared_clean_db(migrated):
    from tests.conftest import ROOT, SERVICES, _truncate

    urls = {service: migrated(service) for service in SERVICES if (ROOT / "services" / service / "alembic.ini").exists()}
    for url in urls.values():
        _truncate(url)
    return urls
