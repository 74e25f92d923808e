"""Measure notify fan-out: one news item to N guardians, from the event to every push at FCM.

Runs the real accounts and notify services as `nameko run` processes on their own RabbitMQ
vhost and `samen_bench_fanout_*` databases, with the FCM test server as a subprocess. It seeds N
guardians with one device each, no e-mail address, quiet hours off and no digest window. It
publishes one `news_published` event and waits until the FCM test server has accepted N
messages. In the same run it times a raw kombu publish (with publisher confirms) and
consume of N messages on the same broker, as the floor the fan-out is compared with.

    .venv/bin/python bench/fanout.py --json              # 10,000 guardians
    .venv/bin/python bench/fanout.py --smoke --json      # 50 guardians, for a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
import requests
from kombu import Connection, Exchange, Queue

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "samen_bench_fanout_"
RABBIT_API = os.environ.get("SAMEN_RABBIT_API_URI", "http://127.0.0.1:15672")
RABBIT_AUTH = ("guest", "guest")
AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {timeout} s")


def prepare_databases() -> dict[str, str]:
    sys.path[:0] = [str(ROOT / "devtools"), str(ROOT / "common")]
    from samen_devtools import migrate

    urls = {}
    for service in ("accounts", "notify"):
        migrate.drop_service(service, PREFIX)
        migrate.migrate_service(service, PREFIX)
        url = migrate.service_database_url(service, PREFIX).render_as_string(hide_password=False)
        urls[service] = url.replace("postgresql+psycopg://", "postgresql://")
    return urls


def drop_databases() -> None:
    from samen_devtools import migrate

    for service in ("accounts", "notify"):
        migrate.drop_service(service, PREFIX)


SEED = 20261204
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _seeded_token(rng: random.Random, length: int) -> str:
    """Return `length` characters of the URL-safe alphabet that FCM registration tokens use."""
    return "".join(rng.choice(TOKEN_ALPHABET) for _ in range(length))


def seed(urls: dict[str, str], count: int) -> tuple[str, list[str]]:
    """Insert one organisation, one group and `count` guardians with one child and one device each.

    Ids and device tokens come from a seeded generator, so the same `count` gives the same rows.
    """
    rng = random.Random(SEED)
    organisation_id, location_id, group_id = (_seeded_uuid(rng) for _ in range(3))
    today = date.today()
    guardians = [_seeded_uuid(rng) for _ in range(count)]
    children = [_seeded_uuid(rng) for _ in range(count)]
    with psycopg.connect(urls["accounts"], autocommit=True) as sql:
        sql.execute("INSERT INTO organisations (id, external_ref, name) VALUES (%s, 'bench-org', 'Bench')",
                    (organisation_id,))
        sql.execute("INSERT INTO locations (id, organisation_id, external_ref, name) VALUES (%s, %s, 'bench-loc', 'L')",
                    (location_id, organisation_id))
        sql.execute("INSERT INTO groups (id, location_id, external_ref, name, care_type, max_size) "
                    "VALUES (%s, %s, 'bench-group', 'G', 'daycare', 32000)", (group_id, location_id))
        with sql.cursor().copy("COPY children (id, organisation_id, external_ref, first_name, last_name, birth_date, "
                               "photo_consent) FROM STDIN") as copy:
            for number, child_id in enumerate(children):
                copy.write_row((child_id, organisation_id, f"bench-child-{number}", f"Kind{number}", "Bench",
                                today - timedelta(days=700), True))
        with sql.cursor().copy("COPY accounts (id, organisation_id, account_number, kind, display_name, language) "
                               "FROM STDIN") as copy:
            for number, guardian_id in enumerate(guardians):
                copy.write_row((guardian_id, organisation_id, f"B{number:07d}", "guardian", f"Ouder {number}",
                                "nl" if number % 2 else "en"))
        with sql.cursor().copy("COPY guardianships (guardian_id, child_id) FROM STDIN") as copy:
            for guardian_id, child_id in zip(guardians, children):
                copy.write_row((guardian_id, child_id))
        with sql.cursor().copy("COPY placements (id, external_ref, child_id, group_id, care_type, weekdays, dayparts, "
                               "start_date) FROM STDIN") as copy:
            for number, child_id in enumerate(children):
                copy.write_row((_seeded_uuid(rng), f"bench-pl-{number}", child_id, group_id, "daycare", [1, 2, 3],
                                ["morning"], today - timedelta(days=30)))
    with psycopg.connect(urls["notify"], autocommit=True) as sql:
        with sql.cursor().copy("COPY recipients (account_id, kind, display_name, language, quiet_hours_enabled) "
                               "FROM STDIN") as copy:
            for guardian_id in guardians:
                copy.write_row((guardian_id, "guardian", "", "nl", False))
        with sql.cursor().copy("COPY devices (id, account_id, token, platform, name) FROM STDIN") as copy:
            for guardian_id in guardians:
                token = _seeded_token(rng, 22) + ":APA91b" + _seeded_token(rng, 140)
                copy.write_row((_seeded_uuid(rng), guardian_id, token, "android", "bench"))
    return organisation_id, guardians


def create_vhost(name: str) -> None:
    requests.put(f"{RABBIT_API}/api/vhosts/{name}", auth=RABBIT_AUTH, timeout=10).raise_for_status()
    requests.put(f"{RABBIT_API}/api/permissions/{name}/guest", auth=RABBIT_AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()


def delete_vhost(name: str) -> None:
    requests.delete(f"{RABBIT_API}/api/vhosts/{name}", auth=RABBIT_AUTH, timeout=10)


def queue_exists(vhost: str, queue: str) -> bool:
    response = requests.get(f"{RABBIT_API}/api/queues/{vhost}/{queue}", auth=RABBIT_AUTH, timeout=5)
    return response.status_code == 200 and response.json().get("consumers", 0) > 0


def start_processes(workdir: Path, vhost: str, fcm_port: int, log) -> dict[str, subprocess.Popen]:
    account_file = workdir / "fcm-service-account.json"
    processes = {
        "fcm": subprocess.Popen(
            [sys.executable, "-m", "samen_devtools.fcm_server", "--port", str(fcm_port), "--service-account-out",
             str(account_file), "--project-id", "samen-bench"], stdout=log, stderr=log),
    }
    wait_for(account_file.exists, 20, "FCM test server start")
    env = dict(
        os.environ, SAMEN_ENV="development", SAMEN_AMQP_URI=f"{AMQP_BASE}/{vhost}", SAMEN_DATABASE_PREFIX=PREFIX,
        SAMEN_DATA_DIR=str(workdir), SAMEN_LOG_LEVEL=os.environ.get("SAMEN_LOG_LEVEL", "WARNING"), SAMEN_MAIL_BACKEND="file",
        SAMEN_FCM_SERVICE_ACCOUNT_FILE=str(account_file), SAMEN_FCM_ENDPOINT=f"http://127.0.0.1:{fcm_port}",
        SAMEN_DIGEST_WINDOW_SECONDS="0", SAMEN_NOTIFY_TICK_SECONDS="0.2",
    )
    nameko = str(Path(sys.executable).parent / "nameko")
    for name, target in (("accounts", "samen_accounts.service:AccountsService"),
                         ("notify", "samen_notify.service:NotifyService")):
        processes[name] = subprocess.Popen([nameko, "run", "--config", str(ROOT / "deploy" / "nameko.yaml"), target],
                                           cwd=ROOT, env=env, stdout=log, stderr=log)
    wait_for(lambda: queue_exists(vhost, "rpc-accounts"), 60, "accounts service start", 0.5)
    wait_for(lambda: queue_exists(vhost, "evt-messaging-news_published--notify.on_news_published"), 60,
             "notify service start", 0.5)
    return processes


def fcm_messages(fcm_port: int) -> int:
    return requests.get(f"http://127.0.0.1:{fcm_port}/_test/stats", timeout=10).json()["messages"]


def measure_fanout(vhost: str, fcm_port: int, organisation_id: str, count: int, timeout: float) -> dict:
    payload = {
        "news_id": str(uuid.uuid4()), "organisation_id": organisation_id, "location_ids": [], "group_ids": [],
        "published_at": "2026-12-04T10:00:00+00:00", "event_id": str(uuid.uuid4()), "event_type": "news_published",
        "occurred_at": "2026-12-04T10:00:00+00:00", "schema_version": 1,
    }
    exchange = Exchange("messaging.events", type="topic", durable=True, auto_delete=False)
    with Connection(f"{AMQP_BASE}/{vhost}") as connection:
        producer = connection.Producer()
        started = time.monotonic()
        producer.publish(payload, exchange=exchange, routing_key="news_published", declare=[exchange],
                         serializer="json", delivery_mode=2)

    first = None
    delivered = 0
    deadline = started + timeout
    while delivered < count and time.monotonic() < deadline:
        delivered = fcm_messages(fcm_port)
        if delivered and first is None:
            first = time.monotonic() - started
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    return {
        "pushes_delivered": delivered,
        "complete": delivered >= count,
        "first_push_seconds": round(first, 3) if first is not None else None,
        "all_pushes_seconds": round(elapsed, 3),
        "pushes_per_second": round(delivered / elapsed, 1) if elapsed else None,
    }


def measure_raw_kombu(vhost: str, count: int) -> dict:
    """Publish `count` push-sized JSON messages with confirms, then consume them all."""
    body = {"token": "x" * 160, "notification": {"title": "Er is nieuws van de opvang", "body": "Open Samen."},
            "data": {"subject": "news", "digest_id": str(uuid.uuid4())}}
    queue = Queue("bench-raw", exchange=Exchange("bench-raw", type="direct"), routing_key="bench-raw", durable=False)
    with Connection(f"{AMQP_BASE}/{vhost}", transport_options={"confirm_publish": True}) as connection:
        queue(connection.default_channel).declare()
        producer = connection.Producer()
        started = time.monotonic()
        for _ in range(count):
            producer.publish(body, exchange=queue.exchange, routing_key="bench-raw", serializer="json")
        published = time.monotonic() - started

        received = 0

        def on_message(body, message):
            nonlocal received
            received += 1
            message.ack()

        with connection.Consumer(queue, callbacks=[on_message], prefetch_count=200):
            while received < count:
                connection.drain_events(timeout=10)
        total = time.monotonic() - started
    return {
        "publish_seconds": round(published, 3),
        "publish_and_consume_seconds": round(total, 3),
        "messages_per_second": round(count / total, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=10_000, help="number of guardians and devices (default 10000)")
    parser.add_argument("--smoke", action="store_true", help="run with 50 guardians")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every push (default 600)")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args(argv)
    count = 50 if args.smoke else args.guardians

    # SIGTERM raises SystemExit, so the `finally` below still stops the processes it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    vhost = f"samen-bench-fanout-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="samen-bench-fanout-"))
    fcm_port = free_port()
    processes: dict[str, subprocess.Popen] = {}
    with open(workdir / "processes.log", "wb") as log:
        try:
            create_vhost(vhost)
            urls = prepare_databases()
            seed_started = time.monotonic()
            organisation_id, _ = seed(urls, count)
            seed_seconds = time.monotonic() - seed_started
            processes = start_processes(workdir, vhost, fcm_port, log)
            fanout = measure_fanout(vhost, fcm_port, organisation_id, count, args.timeout)
            raw = measure_raw_kombu(vhost, count)
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            delete_vhost(vhost)
            drop_databases()

    result = {
        "benchmark": "notify_fanout",
        "guardians": count,
        "seed_seconds": round(seed_seconds, 2),
        "notify": fanout,
        "raw_kombu": raw,
        "slowdown_vs_raw_kombu": round(fanout["all_pushes_seconds"] / raw["publish_and_consume_seconds"], 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "log": str(workdir / "processes.log"),
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if fanout["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
