"""Start the whole platform as real processes for end-to-end tests.

The platform gets its own RabbitMQ vhost, its own `samen_e2e_*` databases with the demo data,
an SMTP sink and the FCM test server on loopback, and runs every service and the gateway under
the project's supervisor, exactly as `make up` does.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import psycopg.sql
import requests
from samen_devtools import dlq

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# Per test process, so parallel runs never share or drop each other's databases; the test
# session's clean-up drops every database whose name starts with `samen_t<pid>_`.
E2E_PREFIX = f"samen_t{os.getpid()}_e2e_"
SERVICES = ("accounts", "media", "messaging", "requests", "notify")
RABBIT_API = os.environ.get("SAMEN_RABBIT_API_URI", "http://127.0.0.1:15672")
RABBIT_USER = ("guest", "guest")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def run_migrations_and_demo(prefix: str, env: dict[str, str]) -> None:
    """Drop, create and migrate the databases named `prefix<service>`, then load the demo organisation."""
    for arguments in (["--prefix", prefix, "--drop"], ["--prefix", prefix]):
        subprocess.run([PYTHON, "-m", "samen_devtools.migrate", *arguments], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    env = dict(env, SAMEN_DATABASE_PREFIX=prefix)
    subprocess.run([PYTHON, "-m", "samen_devtools.demo"], cwd=ROOT, env=env, check=True, capture_output=True)


def copy_databases(template_prefix: str, prefix: str, env: dict[str, str]) -> None:
    """Create the databases `prefix<service>` as copies of `template_prefix<service>`, replacing old ones."""
    server = env.get("SAMEN_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    server = server.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        for service in SERVICES:
            target = psycopg.sql.Identifier(f"{prefix}{service}")
            source = psycopg.sql.Identifier(f"{template_prefix}{service}")
            connection.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(target))
            connection.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(target, source))


class Platform:
    """The platform's processes; `amqp_base`, `rabbit_api` and `postgres_url` select other servers.

    Platforms alive at the same time need different `database_prefix` values. With
    `template_prefix`, the databases are copies of those that `run_migrations_and_demo` made, in
    place of a migration and demo load of their own.
    """

    def __init__(
        self,
        workdir: Path,
        amqp_base: str = "amqp://guest:guest@127.0.0.1:5672",
        rabbit_api: str = RABBIT_API,
        postgres_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        database_prefix: str = E2E_PREFIX,
        template_prefix: str | None = None,
    ):
        self.workdir = workdir
        self.database_prefix = database_prefix
        self.template_prefix = template_prefix
        self.amqp_base = amqp_base.rstrip("/")
        self.rabbit_api = rabbit_api.rstrip("/")
        self.postgres_url = postgres_url
        self.extra_env = dict(extra_env or {})
        self.vhost = f"samen_e2e_{uuid.uuid4().hex[:8]}"
        self.gateway_port = free_port()
        self.smtp_port = free_port()
        self.fcm_port = free_port()
        self.url = f"http://127.0.0.1:{self.gateway_port}"
        self.mail_dir = workdir / "mail"
        self.data_dir = workdir / "data"
        self.log_path = workdir / "platform.log"
        self.processes: dict[str, subprocess.Popen] = {}
        self.env: dict[str, str] = {}

    # Set-up and tear-down.

    def start(self) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._create_vhost()
        dlq.ensure(self.rabbit_api, self.vhost)
        self.env = self._environment()
        self._prepare_databases()
        self._start_helpers()
        self._start_supervisor()
        self.wait_ready(["accounts"])
        self.sync_demo()

    def stop(self) -> None:
        supervisor = self.processes.pop("supervisor", None)
        if supervisor is not None and supervisor.poll() is None:
            supervisor.send_signal(signal.SIGINT)
            try:
                supervisor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                supervisor.kill()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.processes.clear()
        try:
            requests.delete(f"{self.rabbit_api}/api/vhosts/{self.vhost}", auth=RABBIT_USER, timeout=10)
        except requests.RequestException:
            pass

    def _create_vhost(self) -> None:
        response = requests.put(f"{self.rabbit_api}/api/vhosts/{self.vhost}", auth=RABBIT_USER, timeout=10)
        response.raise_for_status()
        response = requests.put(
            f"{self.rabbit_api}/api/permissions/{self.vhost}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=RABBIT_USER,
            timeout=10,
        )
        response.raise_for_status()

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "SAMEN_ENV": "test",
                "SAMEN_AMQP_URI": f"{self.amqp_base}/{self.vhost}",
                "SAMEN_DATABASE_PREFIX": self.database_prefix,
                "SAMEN_DATA_DIR": str(self.data_dir),
                "SAMEN_LOG_FORMAT": "json",
                "SAMEN_GATEWAY_BIND": f"127.0.0.1:{self.gateway_port}",
                "SAMEN_PUBLIC_URL": self.url,
                "SAMEN_GATEWAY_WORKERS": "1",
                "SAMEN_MAIL_BACKEND": "smtp",
                "SAMEN_SMTP_HOST": "127.0.0.1",
                "SAMEN_SMTP_PORT": str(self.smtp_port),
                "SAMEN_FCM_SERVICE_ACCOUNT_FILE": str(self.workdir / "fcm-service-account.json"),
                "SAMEN_FCM_ENDPOINT": f"http://127.0.0.1:{self.fcm_port}",
                "SAMEN_FCM_PROJECT_ID": "samen-e2e",
                "SAMEN_DIGEST_WINDOW_SECONDS": "2",
                "PATH": f"{Path(PYTHON).parent}:{os.environ.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.postgres_url:
            env["SAMEN_POSTGRES_URL"] = self.postgres_url
        env.update(self.extra_env)
        for key in [name for name in env if name.endswith("_DATABASE_URL")]:
            env.pop(key)
        return env

    def _prepare_databases(self) -> None:
        if self.template_prefix:
            copy_databases(self.template_prefix, self.database_prefix, self.env)
            return
        run_migrations_and_demo(self.database_prefix, self.env)

    def _start_helpers(self) -> None:
        if (ROOT / "devtools" / "samen_devtools" / "smtp_sink.py").exists():
            self.start_smtp()
        log = open(self.workdir / "helpers.log", "ab")
        self.processes["fcm"] = subprocess.Popen(
            [PYTHON, "-m", "samen_devtools.fcm_server", "--port", str(self.fcm_port),
             "--service-account-out", self.env["SAMEN_FCM_SERVICE_ACCOUNT_FILE"], "--project-id", "samen-e2e"],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        )
        wait_for_port(self.fcm_port)

    def start_smtp(self) -> None:
        """Start the SMTP sink on the platform's SMTP port, also after `stop_smtp()`."""
        log = open(self.workdir / "helpers.log", "ab")
        self.processes["smtp"] = subprocess.Popen(
            [PYTHON, "-m", "samen_devtools.smtp_sink", "--port", str(self.smtp_port), "--dir", str(self.mail_dir)],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        )
        wait_for_port(self.smtp_port)

    def stop_smtp(self) -> None:
        """Stop the SMTP sink, so connections to its port are refused until `start_smtp()`."""
        process = self.processes.pop("smtp", None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    def fcm_control(self, action: str, **arguments) -> None:
        """Call a fault-injection endpoint `/_test/<action>` of the FCM test server."""
        response = requests.post(f"http://127.0.0.1:{self.fcm_port}/_test/{action}", json=arguments, timeout=5)
        response.raise_for_status()

    def _start_supervisor(self) -> None:
        log = open(self.log_path, "ab")
        self.processes["supervisor"] = subprocess.Popen(
            [PYTHON, "-m", "samen_devtools.supervise", "deploy/Procfile", "--exit-with", str(os.getpid())],
            cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True,
        )

    def sync_demo(self) -> None:
        """Copy the demo placements and roster to the requests service once it answers."""
        try:
            self.wait_ready(["requests"], timeout=60)
        except RuntimeError:
            return
        subprocess.run(
            [PYTHON, "-m", "samen_devtools.demo", "--sync-services"],
            cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=120,
        )

    def wait_ready(self, services: list[str] | None = None, timeout: float = 90.0) -> dict:
        """Wait until /readyz reports `services` (default: all) as up; raise after `timeout`."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{self.url}/readyz", timeout=10)
                last = response.json()
                states = last.get("services", {})
                wanted = services or list(states)
                if response.status_code == 200 or all(states.get(name, {}).get("status") == "ok" for name in wanted):
                    return last
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"platform not ready after {timeout} s: {last}; see {self.log_path}")

    # Helpers for tests.

    def login(self, account_number: str, password: str = "Welkom-bij-Samen-2026", **extra) -> dict:
        response = requests.post(
            f"{self.url}/api/v1/auth/login",
            json={"account_number": account_number, "password": password, **extra},
            timeout=15,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def session(self, account_number: str | None = None, token: str | None = None, language: str | None = None):
        """Return a requests.Session with the bearer token of `account_number` (or `token`)."""
        session = requests.Session()
        if account_number is not None:
            token = self.login(account_number)["access_token"]
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        if language:
            session.headers["Accept-Language"] = language
        session.base_url = self.url
        return session

    def get(self, path: str, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(f"{self.url}{path}", headers=headers, timeout=kwargs.pop("timeout", 15), **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(f"{self.url}{path}", headers=headers, timeout=kwargs.pop("timeout", 15), **kwargs)

    def put(self, path: str, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.put(f"{self.url}{path}", headers=headers, timeout=kwargs.pop("timeout", 15), **kwargs)

    def mail(self) -> list[email.message.EmailMessage]:
        """Return every message the SMTP sink received, oldest first."""
        messages = []
        for path in sorted(self.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime):
            messages.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        return messages

    def wait_for_mail(self, predicate, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.mail():
                if predicate(message):
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no matching e-mail within {timeout} s; got {[m['Subject'] for m in self.mail()]}")

    def fcm_messages(self) -> list[dict]:
        response = requests.get(f"http://127.0.0.1:{self.fcm_port}/_test/messages", timeout=5)
        response.raise_for_status()
        return response.json().get("messages", response.json()) if isinstance(response.json(), dict) else response.json()

    def process_id(self, label: str) -> int:
        """Return the pid of the newest copy of `label` (such as `accounts.1`) the supervisor started."""
        found = re.findall(rf"started {re.escape(label)} \(pid (\d+)\)", self.logs())
        if not found:
            raise LookupError(f"the supervisor has not started {label}; see {self.log_path}")
        return int(found[-1])

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def dump(self) -> str:
        return json.dumps({"url": self.url, "vhost": self.vhost, "log": str(self.log_path)})
