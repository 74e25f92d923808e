"""Faults of object storage, FCM, SMTP and a notify backlog."""

import io
import os
import random
import signal
import statistics
import time
import uuid
from dataclasses import dataclass, field

import eventlet
import pytest
import requests
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from PIL import Image

from tests.e2e.platform import E2E_PREFIX, RABBIT_USER
from tests.faults.conftest import RPC_TIMEOUT
from tests.faults.traffic import DEMO_PASSWORD, KNOWN_PASSWORDS, NOTIFY_DB, wait_until

pytestmark = pytest.mark.faults

MEDIA_DB = f"{E2E_PREFIX}media"


def _jpeg() -> bytes:
    image = Image.new("RGB", (64, 48), tuple(random.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def _staff_token(platform) -> str:
    """Log in staff member 900001, whose password the traffic of earlier tests may have changed."""
    for password in KNOWN_PASSWORDS.get("900001", [DEMO_PASSWORD]):
        response = platform.post("/api/v1/auth/login", json={"account_number": "900001", "password": password})
        if response.status_code == 200:
            return response.json()["access_token"]
    raise AssertionError(f"900001 cannot log in with any known password: {response.text}")


def _guardian_child(platform, account: str = "100001") -> tuple[str, dict]:
    token = platform.login(account)["access_token"]
    children = platform.get("/api/v1/me", token).json()["children"]
    return token, next(child for child in children if child["group_name"] == "Vlinders")


def _upload(platform, staff: str, child: dict, files: int = 1) -> requests.Response:
    return platform.post(
        "/api/v1/photos", staff, timeout=30,
        data={"group_id": child["group_id"], "child_ids": child["id"]},
        files=[("files", (f"IMG_{n}.jpg", _jpeg(), "image/jpeg")) for n in range(files)],
    )


@dataclass
class Upload:
    phase: str
    status: int
    seconds: float
    photo_ids: list[str]
    code: str | None
    retry_after: str | None
    started: float = 0.0


@dataclass
class Uploader:
    """Staff member 900001 posting two photos at a time through the gateway until `stop()`."""

    platform: object
    staff: str
    child: dict
    phase: str = "before"
    uploads: list[Upload] = field(default_factory=list)

    def start(self) -> "Uploader":
        self._running = True
        self._thread = eventlet.spawn(self._loop)
        return self

    def stop(self) -> list[Upload]:
        self._running = False
        self._thread.wait()
        return self.uploads

    def _loop(self) -> None:
        while self._running:
            phase = self.phase
            started = time.monotonic()
            response = _upload(self.platform, self.staff, self.child, files=2)
            body = response.json()
            ids = [item["id"] for item in body.get("items", [])] if response.status_code == 201 else []
            code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
            self.uploads.append(Upload(phase, response.status_code, time.monotonic() - started, ids, code,
                                       response.headers.get("Retry-After"), started))
            eventlet.sleep(0.3)


def test_object_storage_down(platform_ready, fault_storage, fault_postgres):
    staff = _staff_token(platform_ready)
    guardian, child = _guardian_child(platform_ready)
    # One ready photo, so that the child's ZIP has an object to read during the outage.
    first = _upload(platform_ready, staff, child)
    assert first.status_code == 201, first.text
    first_id = first.json()["items"][0]["id"]
    wait_until(lambda: fault_postgres.query("SELECT status FROM photos WHERE id = %s", (first_id,),
                                            dbname=MEDIA_DB) == [("ready",)], 30, message="first photo ready")
    since = fault_postgres.query("SELECT now()", dbname=MEDIA_DB)[0][0]

    uploader = Uploader(platform_ready, staff, child).start()
    time.sleep(2)
    # A request in flight when storage goes away may see either outcome.
    uploader.phase = "stopping"
    fault_storage.stop_endpoint()
    time.sleep(1)
    uploader.phase = "down"
    down_since = time.monotonic()
    # The ZIP opens its first object before the status line, so the outage is a plain 503.
    archive = platform_ready.get(f"/api/v1/children/{child['id']}/photos.zip", guardian, timeout=RPC_TIMEOUT + 5)
    time.sleep(max(0.0, 4 - (time.monotonic() - down_since)))
    storage_back = time.monotonic()
    fault_storage.start_endpoint()
    # A request already in flight when storage came back may still see the outage.
    uploader.phase = "recovering"
    time.sleep(1)
    uploader.phase = "after"
    time.sleep(4)
    uploads = uploader.stop()

    by_phase = {phase: [u for u in uploads if u.phase == phase] for phase in ("before", "down", "after")}
    # The storage client retries a failed connection for a moment, so an upload that started
    # during the outage but ended after storage came back may succeed; the ones that ended
    # during the outage must have failed.
    by_phase["down"] = [u for u in by_phase["down"] if u.started + u.seconds < storage_back]
    assert by_phase["before"] and all(u.status == 201 for u in by_phase["before"]), by_phase["before"]
    assert by_phase["down"] and all(u.status == 503 for u in by_phase["down"]), by_phase["down"]
    assert all(u.code == "storage_unavailable" and u.retry_after for u in by_phase["down"]), by_phase["down"]
    assert by_phase["after"] and all(u.status == 201 for u in by_phase["after"]), by_phase["after"]
    assert all(u.status in (201, 503) for u in uploads)
    assert max(u.seconds for u in uploads) < RPC_TIMEOUT + 3
    assert archive.status_code == 503, archive.text[:300]
    assert archive.json()["error"]["code"] == "storage_unavailable"

    # A rejected upload left no photo behind: every new row belongs to a 201 response.
    accepted = {photo_id for u in uploads for photo_id in u.photo_ids}
    rows = fault_postgres.query("SELECT id::text FROM photos WHERE uploaded_at >= %s", (since,), dbname=MEDIA_DB)
    assert {row[0] for row in rows} == accepted

    # Uploads after the outage are processed. Those caught mid-processing wait for the retry timer.
    after_ids = {photo_id for u in by_phase["after"] for photo_id in u.photo_ids}

    def statuses():
        rows = fault_postgres.query("SELECT id::text, status FROM photos WHERE id::text = ANY(%s)",
                                    (sorted(accepted),), dbname=MEDIA_DB)
        return dict(rows)

    wait_until(lambda: all(statuses()[i] == "ready" for i in after_ids), 30, message="photos uploaded after the outage ready")
    assert set(statuses().values()) <= {"ready", "processing"}, statuses()

    # No photo points at a missing object: a ready one at its variants, a processing one at its upload.
    stored = fault_storage.keys()
    photos = fault_postgres.query(
        "SELECT id::text, status, upload_key, variants FROM photos WHERE status IN ('ready', 'processing')",
        dbname=MEDIA_DB,
    )
    for photo_id, status, upload_key, variants in photos:
        if status == "ready":
            keys = {variant["key"] for variant in variants.values()}
            assert len(keys) == 3, (photo_id, variants)
            assert keys <= stored, (photo_id, keys - stored)
        else:
            assert upload_key in stored, (photo_id, upload_key)

    # The guardian's album shows accepted photos only, each with a thumbnail that loads.
    album = platform_ready.get(f"/api/v1/children/{child['id']}/photos?limit=100", guardian).json()["items"]
    shown = {photo["id"] for photo in album}
    assert after_ids <= shown
    assert not (shown & {row[0] for row in rows}) - accepted
    for photo in [p for p in album if p["id"] in after_ids][:3]:
        assert requests.get(photo["thumb_url"], timeout=10).status_code == 200


def test_fcm_503_is_retried_once(platform_ready, fault_postgres):
    staff = _staff_token(platform_ready)
    guardian, child = _guardian_child(platform_ready)
    device_token = f"fault-device-{uuid.uuid4().hex}"
    # Sends to the token fail from before the device exists, so a digest that an earlier photo of
    # this guardian opened cannot reach the device and then vanish with the server's reset below.
    platform_ready.fcm_control("fail", error_code="UNAVAILABLE", device_token=device_token)
    try:
        registered = platform_ready.post("/api/v1/me/devices", guardian,
                                         json={"token": device_token, "platform": "android", "name": "Faults"})
        assert registered.status_code == 201, registered.text
        settings = platform_ready.put("/api/v1/me/notification-settings", guardian,
                                      json={"quiet_hours": {"enabled": False}})
        assert settings.status_code == 200, settings.text

        response = _upload(platform_ready, staff, child)
        assert response.status_code == 201, response.text
        photo_id = response.json()["items"][0]["id"]

        # The inbox shows the photo while every push attempt fails.
        def inbox_item():
            items = platform_ready.get("/api/v1/me/notifications?limit=50", guardian).json()["items"]
            return next((item for item in items if item["item_id"] == photo_id), None)

        wait_until(inbox_item, 30, message="inbox item of the photo")

        def deliveries():
            # The photo may join a digest that an earlier photo of this guardian opened, and the
            # push attempts are logged on that digest's notification, so look at every recent one.
            items = platform_ready.get("/api/v1/me/notifications?limit=20", guardian).json()["items"]
            found = []
            for entry in items:
                found.extend(
                    platform_ready.get(f"/api/v1/me/notifications/{entry['id']}/deliveries", guardian).json()
                )
            return found

        # The first attempt waits for the digest window and the notify tick; on a busy machine that
        # takes longer than the same steps alone, so the bound is generous.
        wait_until(lambda: any(d["status"] == "retried" for d in deliveries()), 90, interval=2,
                   message="a push retried after 503")
        assert not [m for m in platform_ready.fcm_messages() if m["message"]["token"] == device_token]
        time.sleep(3)
        assert inbox_item() is not None
    finally:
        platform_ready.fcm_control("reset")

    def pushes():
        return [m for m in platform_ready.fcm_messages() if m["message"]["token"] == device_token]

    wait_until(pushes, 40, message="push after FCM recovered")
    wait_until(lambda: any(d["status"] == "sent" for d in deliveries()), 10, message="push delivery marked sent")
    time.sleep(3)

    # Every notification of a digest lists the digest's deliveries, so count each delivery once:
    # one sent delivery per push the FCM server received, and no push was sent twice. The server
    # records a push before notify marks it sent, so the two counts meet after a short wait.
    def sent():
        return {d["delivery_id"] for d in deliveries() if d["status"] == "sent"}

    wait_until(lambda: len(sent()) == len(pushes()), 10, interval=1,
               message="one sent delivery per push received")
    received = pushes()
    digests = [m["message"]["data"]["digest_id"] for m in received]
    assert len(digests) == len(set(digests)), digests
    assert len(sent()) == len(received), deliveries()
    assert inbox_item()["read_at"] is None


def _change_password(platform, account: str, current: str, new: str) -> None:
    token = platform.login(account, password=current)["access_token"]
    response = platform.put("/api/v1/me/password", token, json={"current_password": current, "new_password": new})
    assert response.status_code == 200, response.text


def test_smtp_down_mail_sent_later(platform_ready, fault_postgres):
    def mails():
        return [m for m in platform_ready.mail() if "100002" in str(m["To"])]

    before = len(mails())
    interim = f"Storing-smtp-{uuid.uuid4().hex[:10]}"
    platform_ready.stop_smtp()
    try:
        _change_password(platform_ready, "100002", DEMO_PASSWORD, interim)
        _change_password(platform_ready, "100002", interim, DEMO_PASSWORD)

        def failed_attempts():
            rows = fault_postgres.query(
                "SELECT count(*) FROM mail_deliveries WHERE state = 'queued' AND attempts > 0 "
                "AND template = 'password_changed' AND created_at > now() - interval '1 minute'",
                dbname=NOTIFY_DB,
            )
            return rows[0][0] >= 2

        wait_until(failed_attempts, 30, message="both mails tried while SMTP was down")
        time.sleep(4)
        assert len(mails()) == before
    finally:
        platform_ready.start_smtp()

    wait_until(lambda: len(mails()) >= before + 2, 60, message="both mails sent after SMTP came back")
    time.sleep(3)
    assert len(mails()) == before + 2, [m["Subject"] for m in mails()]


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")


def _median_latency(platform, token: str, count: int) -> float:
    samples = []
    for _ in range(count):
        started = time.monotonic()
        response = platform.get("/api/v1/me", token)
        samples.append(time.monotonic() - started)
        assert response.status_code == 200
    return statistics.median(samples)


def _queue_stats(platform, name: str) -> dict:
    response = requests.get(f"{platform.rabbit_api}/api/queues/{platform.vhost}/{name}", auth=RABBIT_USER,
                            timeout=10)
    response.raise_for_status()
    return response.json()


BACKLOG_EVENTS = 2000
# Each event carries this much padding, which notify ignores, so the backlog is about 48 MB and a
# consumer that took it all at once would show in its RSS.
BACKLOG_PADDING = 16 * 1024
BACKLOG_QUEUE = "evt-accounts-account_language_changed--notify.on_account_language_changed"


def test_notify_backlog_drains_once(platform_ready, fault_rabbit, fault_postgres):
    guardian = platform_ready.login("100003")["access_token"]
    notify_pid = platform_ready.process_id("notify.1")
    latency_before = _median_latency(platform_ready, guardian, 30)
    rss_before = _rss_kib(notify_pid)
    stats_before = _queue_stats(platform_ready, BACKLOG_QUEUE).get("message_stats", {})
    event_ids = [str(uuid.uuid4()) for _ in range(BACKLOG_EVENTS)]
    padding = "x" * BACKLOG_PADDING

    # SIGSTOP for less than two heartbeats (10 s in the fault platform), so the broker keeps notify's
    # connection and the events wait in the queue.
    os.kill(notify_pid, signal.SIGSTOP)
    try:
        exchange = get_event_exchange("accounts", {})
        with Connection(f"{fault_rabbit.amqp_base}/{platform_ready.vhost}",
                        transport_options={"confirm_publish": True}) as connection:
            producer = connection.Producer(serializer="json")
            for event_id in event_ids:
                producer.publish(
                    {"account_id": str(uuid.uuid4()), "language": "en", "event_id": event_id,
                     "event_type": "account_language_changed", "occurred_at": "2026-12-04T10:00:00+00:00",
                     "schema_version": 1, "padding": padding},
                    exchange=exchange, routing_key="account_language_changed", delivery_mode=2,
                )
        queued = wait_until(lambda: _queue_stats(platform_ready, BACKLOG_QUEUE)["messages"] >= BACKLOG_EVENTS - 20,
                            10, interval=0.5, message="backlog in notify's queue")
        assert queued
    finally:
        os.kill(notify_pid, signal.SIGCONT)

    rss_samples = []
    sampling = True

    def sample_rss():
        while sampling:
            rss_samples.append(_rss_kib(notify_pid))
            eventlet.sleep(0.2)

    sampler = eventlet.spawn(sample_rss)
    latencies = []

    def handled():
        rows = fault_postgres.query(
            "SELECT count(*) FROM handled_events WHERE event_id = ANY(%s)", (event_ids,), dbname=NOTIFY_DB)
        return rows[0][0]

    deadline = time.monotonic() + 240
    while handled() < BACKLOG_EVENTS and time.monotonic() < deadline:
        latencies.append(_median_latency(platform_ready, guardian, 5))
    sampling = False
    sampler.wait()

    assert handled() == BACKLOG_EVENTS
    assert platform_ready.process_id("notify.1") == notify_pid
    # The gateway does not wait on notify: the p50 of /me stays within five times its value before.
    latency_during = statistics.median(latencies) if latencies else latency_before
    assert latency_during < max(5 * latency_before, 0.25), (latency_before, latencies)
    # nameko's prefetch of max_workers (10) messages bounds what notify holds, not the backlog.
    growth_kib = max(rss_samples) - rss_before
    assert growth_kib < 30 * 1024, (rss_before, max(rss_samples))

    # Every event was delivered once: no redelivery, one acknowledgement each.
    def acknowledged():
        stats = _queue_stats(platform_ready, BACKLOG_QUEUE)
        acks = stats.get("message_stats", {}).get("ack", 0) - stats_before.get("ack", 0)
        return stats if acks >= BACKLOG_EVENTS and stats["messages"] == 0 else None

    stats = wait_until(acknowledged, 30, message="broker statistics of the drained queue")
    message_stats = stats["message_stats"]
    assert message_stats.get("redeliver", 0) - stats_before.get("redeliver", 0) == 0
    assert message_stats.get("ack", 0) - stats_before.get("ack", 0) == BACKLOG_EVENTS
    print(f"backlog: /me p50 before {latency_before * 1000:.1f} ms, during {latency_during * 1000:.1f} ms; "
          f"notify RSS {rss_before} KiB before, max {max(rss_samples)} KiB")
