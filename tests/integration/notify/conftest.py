"""Fixtures for the notify service: SMTP sink and FCM test server as subprocesses, seeded accounts.

The tests run the real accounts and notify services in-process (nameko's runner_factory) on a
fresh vhost, against the test databases of accounts and notify.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]

# Read when samen_notify.service is imported: a short tick keeps the tests fast.
os.environ.setdefault("SAMEN_NOTIFY_TICK_SECONDS", "0.2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(REPOSITORY_ROOT / part) for part in ("common", "devtools"))
    return env


class SmtpSink:
    """The SMTP sink subprocess and the messages it has written."""

    def __init__(self, directory: Path, port: int, process: subprocess.Popen):
        self.directory, self.port, self.process = directory, port, process

    def messages(self) -> list[email.message.EmailMessage]:
        result = []
        for path in sorted(self.directory.glob("*.eml")):
            result.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        return result

    def wait_for(self, count: int, timeout: float = 10.0) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.messages()


def start_smtp_sink(directory: Path, reject: list[str] = ()) -> SmtpSink:
    port = free_port()
    arguments = [sys.executable, "-m", "samen_devtools.smtp_sink", "--port", str(port), "--dir", str(directory)]
    for address in reject:
        arguments += ["--reject-recipient", address]
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_subprocess_env(),
                               text=True)
    line = process.stdout.readline()
    assert "listening" in line, f"smtp_sink did not start: {line!r} {process.stderr.read() if process.poll() else ''}"
    return SmtpSink(directory, port, process)


@pytest.fixture
def smtp_sink(tmp_path):
    sink = start_smtp_sink(tmp_path / "mail", reject=["bounce@example.org"])
    yield sink
    sink.process.terminate()
    sink.process.wait(timeout=10)


class FcmServerProcess:
    """The FCM test server subprocess, driven through its /_test control endpoints."""

    def __init__(self, port: int, service_account_file: Path, process: subprocess.Popen):
        self.port, self.service_account_file, self.process = port, service_account_file, process
        self.url = f"http://127.0.0.1:{port}"

    def control(self, action: str, **arguments) -> None:
        response = requests.post(f"{self.url}/_test/{action}", json=arguments, timeout=5)
        response.raise_for_status()

    def messages(self, device_token: str | None = None) -> list[dict]:
        params = {"device_token": device_token} if device_token else None
        response = requests.get(f"{self.url}/_test/messages", params=params, timeout=5)
        response.raise_for_status()
        body = response.json()
        return body["messages"] if isinstance(body, dict) else body

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_test/stats", timeout=5).json()

    def wait_for(self, count: int, timeout: float = 10.0, device_token: str | None = None) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(device_token)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.messages(device_token)


def start_fcm_server(directory: Path) -> FcmServerProcess:
    port = free_port()
    account_file = directory / "fcm-service-account.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "samen_devtools.fcm_server", "--port", str(port), "--service-account-out",
         str(account_file), "--project-id", "samen-test"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_subprocess_env(),
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if account_file.exists():
            try:
                requests.get(f"http://127.0.0.1:{port}/_test/stats", timeout=1)
                return FcmServerProcess(port, account_file, process)
            except requests.ConnectionError:
                pass
        if process.poll() is not None:
            raise RuntimeError(f"fcm_server exited: {process.stderr.read()}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("fcm_server did not start within 15 s")


@pytest.fixture
def fcm_server(tmp_path):
    server = start_fcm_server(tmp_path)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture
def notify_env(smtp_sink, fcm_server, monkeypatch):
    """Point the notify service at the sink and the FCM test server; no digest window by default."""
    from samen_notify.settings import notify_settings

    monkeypatch.setenv("SAMEN_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("SAMEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SAMEN_SMTP_PORT", str(smtp_sink.port))
    monkeypatch.setenv("SAMEN_FCM_SERVICE_ACCOUNT_FILE", str(fcm_server.service_account_file))
    monkeypatch.setenv("SAMEN_FCM_ENDPOINT", fcm_server.url)
    monkeypatch.setenv("SAMEN_PUBLIC_URL", "https://portal.samen.test")
    monkeypatch.setenv("SAMEN_DIGEST_WINDOW_SECONDS", "0")
    notify_settings.cache_clear()
    yield
    notify_settings.cache_clear()


@dataclass
class World:
    """Ids of the seeded organisation, with names for readable tests."""

    organisation_id: str
    location_id: str
    group_a: str
    group_b: str
    children: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)


def _sql(url: str):
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def seed_world(accounts_url: str) -> World:
    """Insert an organisation with two groups, three children, four guardians and one staff member.

    sam (group A, consent) and lisa (group B, consent) have guardian `anna` (nl) and sam also
    `ben` (en); noor (group A, no consent) has guardian `carla`; `dirk` has no e-mail address;
    staff `esther` works in group A.
    """
    world = World(*(str(uuid.uuid4()) for _ in range(4)))
    today = date.today()
    with _sql(accounts_url) as sql:
        sql.execute("INSERT INTO organisations (id, external_ref, name) VALUES (%s, %s, 'Kinderopvang Test')",
                    (world.organisation_id, "org-" + world.organisation_id[:8]))
        sql.execute("INSERT INTO locations (id, organisation_id, external_ref, name) VALUES (%s, %s, %s, 'De Boog')",
                    (world.location_id, world.organisation_id, "loc-" + world.location_id[:8]))
        for group_id, name in ((world.group_a, "Dolfijnen"), (world.group_b, "Vlinders")):
            sql.execute("INSERT INTO groups (id, location_id, external_ref, name, care_type, max_size) "
                        "VALUES (%s, %s, %s, %s, 'daycare', 12)", (group_id, world.location_id, "grp-" + group_id[:8], name))
        for name, group_id, consent in (("Sam", world.group_a, True), ("Lisa", world.group_b, True),
                                        ("Noor", world.group_a, False)):
            child_id = str(uuid.uuid4())
            world.children[name.lower()] = child_id
            sql.execute("INSERT INTO children (id, organisation_id, external_ref, first_name, last_name, birth_date, "
                        "photo_consent) VALUES (%s, %s, %s, %s, 'Jansen', %s, %s)",
                        (child_id, world.organisation_id, "child-" + child_id[:8], name, today - timedelta(days=700), consent))
            sql.execute("INSERT INTO placements (id, external_ref, child_id, group_id, care_type, weekdays, dayparts, "
                        "start_date) VALUES (%s, %s, %s, %s, 'daycare', '{1,2,3}', '{morning}', %s)",
                        (str(uuid.uuid4()), "pl-" + child_id[:8], child_id, group_id, today - timedelta(days=100)))
        for number, (name, kind, language, mail) in enumerate((
            ("anna", "guardian", "nl", "anna@example.org"), ("ben", "guardian", "en", "ben@example.org"),
            ("carla", "guardian", "nl", "carla@example.org"), ("dirk", "guardian", "nl", None),
            ("esther", "staff", "nl", "esther@example.org"),
        )):
            account_id = str(uuid.uuid4())
            world.accounts[name] = account_id
            sql.execute("INSERT INTO accounts (id, organisation_id, account_number, kind, display_name, email, language) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (account_id, world.organisation_id, f"7{number:05d}", kind, name.capitalize(), mail, language))
        links = (("anna", "sam"), ("anna", "lisa"), ("ben", "sam"), ("carla", "noor"), ("dirk", "noor"))
        for guardian, child in links:
            sql.execute("INSERT INTO guardianships (guardian_id, child_id) VALUES (%s, %s)",
                        (world.accounts[guardian], world.children[child]))
        sql.execute("INSERT INTO staff_groups (staff_id, group_id) VALUES (%s, %s)",
                    (world.accounts["esther"], world.group_a))
    return world


@pytest.fixture
def world(clean_db):
    return seed_world(clean_db["accounts"])


@pytest.fixture
def notify_db(clean_db):
    """Run SQL on samen_test_notify: `notify_db("SELECT ...", params)` returns the rows."""

    def run(query: str, params=()):
        with _sql(clean_db["notify"]) as sql:
            cursor = sql.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture
def platform(runner_factory, service_config, notify_env, world):
    """The accounts and notify services running on the test's vhost."""
    from samen_accounts.service import AccountsService
    from samen_notify.service import NotifyService

    runner = runner_factory(service_config, AccountsService, NotifyService)
    runner.start()
    return runner


@pytest.fixture
def publish(service_config):
    """Publish an event as another service would, with the envelope the outbox adds."""
    from nameko.standalone.events import event_dispatcher

    from samen_common.outbox import new_event

    dispatch = event_dispatcher(service_config)

    def send(source: str, event_type: str, data: dict, event_id: str | None = None) -> dict:
        payload = new_event(event_type, data)
        if event_id:
            payload["event_id"] = event_id
        dispatch(source, event_type, payload)
        return payload

    return send


def wait_until(condition, timeout: float = 10.0, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; return that, or the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = condition()
    return value


def as_json(value) -> str:
    return json.dumps(value, sort_keys=True)
