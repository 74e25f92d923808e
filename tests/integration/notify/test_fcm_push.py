"""FcmPushSender with the real pyfcm client against the local FCM test server."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import google.auth.transport.requests
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from samen_devtools.fcm_protocol import FCM_SCOPE, GOOGLE_TOKEN_AUDIENCE, JWT_BEARER_GRANT_TYPE, payload_size
from samen_devtools.fcm_server import FcmTestServer
from samen_notify.push import (
    ELLIPSIS,
    FcmPushSender,
    PushOutcome,
    backoff_seconds,
    parse_retry_after,
)

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
PROJECT_ID = "samen-test"


def make_device_token() -> str:
    """Return a string shaped like an FCM registration token (about 160 characters)."""
    return secrets.token_urlsafe(16) + ":APA91b" + secrets.token_urlsafe(105)


@pytest.fixture
def fcm_server():
    server = FcmTestServer(project_id=PROJECT_ID).start()
    yield server
    server.stop()


@pytest.fixture
def service_account_file(fcm_server, tmp_path) -> Path:
    return fcm_server.write_service_account(tmp_path / "service-account.json")


@pytest.fixture
def sender(fcm_server, service_account_file) -> FcmPushSender:
    return FcmPushSender(
        str(service_account_file), base_url=fcm_server.fcm_base_url, connect_timeout=2.0, read_timeout=2.0
    )


def fetch_access_token(service_account_file: Path) -> str:
    """Fetch an access token from the test server the way google-auth does for pyfcm."""
    credentials = service_account.Credentials.from_service_account_file(
        str(service_account_file), scopes=[FCM_SCOPE]
    )
    credentials.refresh(google.auth.transport.requests.Request())
    return credentials.token


def post_send(fcm_server: FcmTestServer, token: str, body: dict) -> requests.Response:
    return requests.post(
        f"{fcm_server.fcm_base_url}/{PROJECT_ID}/messages:send",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


# Sending


def test_send_delivers_payload(fcm_server, sender):
    device_token = make_device_token()

    result = sender.send(device_token, "Nieuwe foto", "Er staat een foto van Sem klaar.", {"photo_id": "42"})

    assert result.outcome is PushOutcome.SENT
    received = fcm_server.wait_for_messages(1, device_token=device_token)
    assert len(received) == 1
    assert received[0].name == result.message_name
    assert result.message_name.startswith(f"projects/{PROJECT_ID}/messages/")
    assert received[0].message == {
        "token": device_token,
        "notification": {"title": "Nieuwe foto", "body": "Er staat een foto van Sem klaar."},
        "data": {"photo_id": "42"},
    }


def test_send_unregistered_token_is_dead(fcm_server, sender):
    device_token = make_device_token()
    fcm_server.mark_unregistered(device_token)

    result = sender.send(device_token, "Titel", "Tekst", {"id": "1"})

    assert result.outcome is PushOutcome.DEAD_TOKEN
    assert "UNREGISTERED" in result.reason
    assert fcm_server.messages() == []


def test_send_sender_mismatch_is_dead(fcm_server, sender):
    device_token = make_device_token()
    fcm_server.mark_sender_mismatch(device_token)

    result = sender.send(device_token, "Titel", "Tekst", {})

    assert result.outcome is PushOutcome.DEAD_TOKEN
    assert "SENDER_ID_MISMATCH" in result.reason


def test_quota_exceeded_retries_without_sleep(fcm_server, sender):
    device_token = make_device_token()
    fcm_server.fail_next(1, "QUOTA_EXCEEDED", retry_after=17)

    started = time.monotonic()
    result = sender.send(device_token, "Titel", "Tekst", {})
    elapsed = time.monotonic() - started

    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after == 17.0
    assert "QUOTA_EXCEEDED" in result.reason
    assert elapsed < 1.0
    assert fcm_server.send_requests == 1
    assert fcm_server.messages() == []


def test_send_unavailable_retries_at_once(fcm_server, sender):
    device_token = make_device_token()
    fcm_server.fail_token(device_token, "UNAVAILABLE")

    started = time.monotonic()
    result = sender.send(device_token, "Titel", "Tekst", {})
    elapsed = time.monotonic() - started

    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after is None
    assert elapsed < 1.0
    assert fcm_server.send_requests == 1


def test_send_internal_error_is_retry(fcm_server, sender):
    fcm_server.fail_next(1, "INTERNAL")

    result = sender.send(make_device_token(), "Titel", "Tekst", {})

    assert result.outcome is PushOutcome.RETRY
    assert "INTERNAL" in result.reason


def test_outage_is_retry_with_delay(fcm_server, sender):
    assert sender.send(make_device_token(), "Eerst", "Token ophalen", {}).outcome is PushOutcome.SENT
    fcm_server.start_outage(30, retry_after=5)

    result = sender.send(make_device_token(), "Titel", "Tekst", {})

    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after == 5.0


def test_send_after_failures_succeeds(fcm_server, sender):
    device_token = make_device_token()
    fcm_server.fail_next(2, "UNAVAILABLE", device_token=device_token)

    outcomes = [sender.send(device_token, "Titel", "Tekst", {}).outcome for _ in range(3)]

    assert outcomes == [PushOutcome.RETRY, PushOutcome.RETRY, PushOutcome.SENT]
    assert len(fcm_server.messages(device_token=device_token)) == 1


def test_send_invalid_argument_is_permanent(fcm_server, sender):
    # FCM reserves the data key "from".
    result = sender.send(make_device_token(), "Titel", "Tekst", {"from": "kinderopvang"})

    assert result.outcome is PushOutcome.PERMANENT
    assert "INVALID_ARGUMENT" in result.reason
    assert "from" in result.reason
    assert fcm_server.messages() == []


def test_non_string_data_is_permanent(fcm_server, sender):
    result = sender.send(make_device_token(), "Titel", "Tekst", {"child_id": 42})

    assert result.outcome is PushOutcome.PERMANENT
    assert "child_id" in result.reason
    assert fcm_server.send_requests == 0


def test_wrong_project_is_retry(fcm_server, service_account_file, tmp_path):
    info = json.loads(service_account_file.read_text())
    info["project_id"] = "other-project"
    other_file = tmp_path / "other-project.json"
    other_file.write_text(json.dumps(info))
    other_sender = FcmPushSender(str(other_file), base_url=fcm_server.fcm_base_url)

    result = other_sender.send(make_device_token(), "Titel", "Tekst", {})

    assert result.outcome is PushOutcome.RETRY
    assert "PERMISSION_DENIED" in result.reason


def test_html_404_is_retry(fcm_server, service_account_file):
    misconfigured = FcmPushSender(str(service_account_file), base_url=f"{fcm_server.url}/wrong/v1/projects")

    result = misconfigured.send(make_device_token(), "Titel", "Tekst", {})

    assert result.outcome is PushOutcome.RETRY
    assert "HTTP 404" in result.reason


# Network failures


def test_send_read_timeout_is_retry(fcm_server, service_account_file):
    # A socket that listens but never responds: the connection succeeds and the read times out.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1/projects"
        slow_sender = FcmPushSender(str(service_account_file), base_url=silent_url, read_timeout=0.3)

        started = time.monotonic()
        result = slow_sender.send(make_device_token(), "Titel", "Tekst", {})
        elapsed = time.monotonic() - started

    assert result.outcome is PushOutcome.RETRY
    assert "timed out" in result.reason
    assert elapsed < 2.0


def test_send_connection_refused_is_retry(fcm_server, service_account_file):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    refused_sender = FcmPushSender(str(service_account_file), base_url=f"http://127.0.0.1:{closed_port}/v1/projects")

    result = refused_sender.send(make_device_token(), "Titel", "Tekst", {})

    assert result.outcome is PushOutcome.RETRY
    assert "network error" in result.reason


def test_send_token_endpoint_down_is_retry(fcm_server, sender):
    fcm_server.start_outage(30)

    started = time.monotonic()
    result = sender.send(make_device_token(), "Titel", "Tekst", {})
    elapsed = time.monotonic() - started

    assert result.outcome is PushOutcome.RETRY
    assert "access token" in result.reason
    # google-auth makes at most 3 attempts at the token endpoint, with short sleeps between them.
    assert elapsed < 10.0


# OAuth access tokens


def test_expired_access_token_is_refreshed(fcm_server, sender):
    assert sender.send(make_device_token(), "Eerste", "Bericht", {}).outcome is PushOutcome.SENT
    fcm_server.expire_access_tokens()

    result = sender.send(make_device_token(), "Tweede", "Bericht", {})

    assert result.outcome is PushOutcome.SENT
    assert fcm_server.token_fetches == 2
    assert sender.token_fetches == 2
    assert len(fcm_server.messages()) == 2


def test_stale_token_refreshed_before_send(fcm_server, sender):
    # google-auth treats a token as stale 3 min 45 s before it expires, so a
    # 60-second token is replaced before every send without a 401 first.
    fcm_server.set_token_lifetime(60)

    for _ in range(3):
        assert sender.send(make_device_token(), "Titel", "Tekst", {}).outcome is PushOutcome.SENT

    assert fcm_server.token_fetches == 3
    assert fcm_server.stats()["rejected_sends"] == 0


def test_concurrent_sends_share_one_token(fcm_server, sender):
    device_tokens = [make_device_token() for _ in range(20)]
    start = threading.Barrier(len(device_tokens))
    results = {}

    def send(device_token: str) -> None:
        start.wait()
        results[device_token] = sender.send(device_token, "Titel", "Tekst", {"n": "1"})

    threads = [threading.Thread(target=send, args=(token,)) for token in device_tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert fcm_server.wait_for_messages(20)
    assert all(result.outcome is PushOutcome.SENT for result in results.values())
    assert len(results) == 20
    assert fcm_server.token_fetches == 1
    assert sender.token_fetches == 1


def test_green_threads_share_one_token(fcm_server, service_account_file):
    script = textwrap.dedent(
        """
        import eventlet
        eventlet.monkey_patch()
        import sys
        from samen_notify.push import FcmPushSender, PushOutcome

        sender = FcmPushSender(sys.argv[1], base_url=sys.argv[2])
        pool = eventlet.GreenPool(20)
        results = list(pool.imap(lambda n: sender.send(f"green-device-{n:04d}", "Titel", "Tekst", {}), range(20)))
        sent = sum(result.outcome is PushOutcome.SENT for result in results)
        print(sent, sender.token_fetches)
        """
    )
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY_ROOT / "services" / "notify"), PYTHONWARNINGS="ignore")

    completed = subprocess.run(
        [sys.executable, "-c", script, str(service_account_file), fcm_server.fcm_base_url],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )

    assert completed.returncode == 0, completed.stderr
    sent, token_fetches = completed.stdout.split()
    assert sent == "20"
    assert token_fetches == "1"
    assert fcm_server.token_fetches == 1


def test_token_endpoint_rejects_foreign_signature(fcm_server):
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": fcm_server.client_email,
        "aud": GOOGLE_TOKEN_AUDIENCE,
        "scope": FCM_SCOPE,
        "iat": now,
        "exp": now + 600,
    }
    assertion = jwt.encode(claims, foreign_key, algorithm="RS256")

    response = requests.post(
        fcm_server.token_uri, data={"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": assertion}, timeout=5
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    assert fcm_server.token_fetches == 0


@pytest.mark.parametrize(
    ("claim", "value"),
    [("aud", "https://example.invalid/token"), ("iss", "someone@example.invalid"), ("exp", 1_000_000)],
)
def test_token_endpoint_rejects_bad_claims(fcm_server, service_account_file, claim, value):
    info = json.loads(service_account_file.read_text())
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    now = int(time.time())
    claims = {"iss": info["client_email"], "aud": info["token_uri"], "scope": FCM_SCOPE, "iat": now, "exp": now + 600}
    claims[claim] = value
    if claim == "exp":
        claims["iat"] = value - 600
    assertion = jwt.encode(claims, key, algorithm="RS256", headers={"kid": info["private_key_id"]})

    response = requests.post(
        fcm_server.token_uri, data={"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": assertion}, timeout=5
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_send_without_valid_token_is_unauthenticated(fcm_server):
    response = post_send(fcm_server, "ya29.never-issued", {"message": {"token": make_device_token()}})

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_TYPE_UNSUPPORTED"


# Payload size


def test_oversized_body_is_shortened(fcm_server, sender):
    device_token = make_device_token()
    body = "Vandaag hebben we buiten gespeeld en pannenkoeken gebakken. 🥞 " * 200
    data = {"thread_id": "th-123", "message_id": "msg-456"}

    result = sender.send(device_token, "Bericht van de groep", body, data)

    assert result.outcome is PushOutcome.SENT
    message = fcm_server.wait_for_messages(1)[0].message
    assert message["data"] == data
    assert message["notification"]["title"] == "Bericht van de groep"
    sent_body = message["notification"]["body"]
    assert sent_body.endswith(ELLIPSIS)
    assert body.startswith(sent_body.removesuffix(ELLIPSIS))
    assert len(sent_body) > 1000
    assert payload_size(message) <= 4096


def test_oversized_title_is_shortened(fcm_server, sender):
    title = "é" * 3000

    result = sender.send(make_device_token(), title, "Tekst", {"id": "1"})

    assert result.outcome is PushOutcome.SENT
    notification = fcm_server.wait_for_messages(1)[0].message["notification"]
    assert "body" not in notification
    assert notification["title"].endswith(ELLIPSIS)
    assert title.startswith(notification["title"].removesuffix(ELLIPSIS))


def test_oversized_data_is_permanent(fcm_server, sender):
    result = sender.send(make_device_token(), "Titel", "Tekst", {"blob": "x" * 5000})

    assert result.outcome is PushOutcome.PERMANENT
    assert "too large" in result.reason
    assert fcm_server.send_requests == 0


def test_server_rejects_payload_over_limit(fcm_server, service_account_file):
    token = fetch_access_token(service_account_file)
    message = {
        "token": make_device_token(),
        "notification": {"title": "Titel", "body": "b" * 4000},
        "data": {"k": "v" * 100},
    }

    response = post_send(fcm_server, token, {"message": message})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert "too big" in error["message"]
    assert {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"} in error[
        "details"
    ]
    assert fcm_server.messages() == []


def test_server_accepts_payload_at_limit(fcm_server, service_account_file):
    token = fetch_access_token(service_account_file)
    message = {"token": make_device_token(), "data": {"k": "v" * 4095}}

    response = post_send(fcm_server, token, {"message": message})

    assert response.status_code == 200
    assert payload_size(message) == 4096


# Server protocol details


def test_server_unregistered_error_body(fcm_server, service_account_file):
    token = fetch_access_token(service_account_file)
    device_token = make_device_token()
    fcm_server.mark_unregistered(device_token)

    response = post_send(fcm_server, token, {"message": {"token": device_token}})

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}],
        }
    }


@pytest.mark.parametrize(
    ("error_code", "http_status", "status"),
    [
        ("QUOTA_EXCEEDED", 429, "RESOURCE_EXHAUSTED"),
        ("UNAVAILABLE", 503, "UNAVAILABLE"),
        ("INTERNAL", 500, "INTERNAL"),
        ("SENDER_ID_MISMATCH", 403, "PERMISSION_DENIED"),
        ("THIRD_PARTY_AUTH_ERROR", 401, "UNAUTHENTICATED"),
    ],
)
def test_server_injected_error_body(fcm_server, service_account_file, error_code, http_status, status):
    token = fetch_access_token(service_account_file)
    fcm_server.fail_next(1, error_code)

    response = post_send(fcm_server, token, {"message": {"token": make_device_token()}})

    assert response.status_code == http_status
    error = response.json()["error"]
    assert error["code"] == http_status
    assert error["status"] == status
    assert error["details"] == [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
    if error_code == "QUOTA_EXCEEDED":
        assert response.headers["Retry-After"] == "60"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({}, "Recipient of the message is not set."),
        ({"token": "a", "topic": "b"}, "oneof field 'target' is already set"),
        ({"token": "a", "data": {"n": 1}}, "Invalid value at 'message.data[0].value' (TYPE_STRING)"),
        ({"token": "a", "data": {"google.x": "1"}}, "Invalid data payload key"),
        ({"token": "a", "colour": "red"}, 'Unknown name "colour"'),
        ({"topic": "news", "data": {"k": "v" * 2100}}, "too big"),
    ],
)
def test_server_validates_message(fcm_server, service_account_file, message, expected):
    token = fetch_access_token(service_account_file)

    response = post_send(fcm_server, token, {"message": message})

    assert response.status_code == 400
    assert expected in response.json()["error"]["message"]


def test_control_endpoints_over_http(fcm_server, sender):
    dead_token = make_device_token()
    live_token = make_device_token()
    control = f"{fcm_server.url}/_test"

    assert requests.post(f"{control}/unregistered", json={"device_token": dead_token}, timeout=5).status_code == 200
    fail = {"error_code": "QUOTA_EXCEEDED", "count": 1, "retry_after": 9, "device_token": live_token}
    assert requests.post(f"{control}/fail", json=fail, timeout=5).status_code == 200

    assert sender.send(dead_token, "Titel", "Tekst", {}).outcome is PushOutcome.DEAD_TOKEN
    assert sender.send(live_token, "Titel", "Tekst", {}).retry_after == 9.0
    assert sender.send(live_token, "Titel", "Tekst", {"n": "2"}).outcome is PushOutcome.SENT

    listed = requests.get(f"{control}/messages", params={"device_token": live_token}, timeout=5).json()["messages"]
    assert [item["message"]["data"] for item in listed] == [{"n": "2"}]
    assert requests.get(f"{control}/stats", timeout=5).json() == {
        "token_fetches": 1,
        "send_requests": 3,
        "rejected_sends": 2,
        "messages": 1,
    }

    assert requests.post(f"{control}/expire-tokens", json={}, timeout=5).status_code == 200
    assert sender.send(live_token, "Titel", "Tekst", {}).outcome is PushOutcome.SENT
    assert fcm_server.token_fetches == 2

    assert requests.post(f"{control}/reset", json={}, timeout=5).status_code == 200
    assert requests.get(f"{control}/messages", timeout=5).json() == {"messages": []}
    bad = requests.post(f"{control}/fail", json={"error_code": "NOPE", "count": 1}, timeout=5)
    assert bad.status_code == 400


def test_command_line_server(tmp_path):
    account_path = tmp_path / "fcm" / "service-account.json"
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY_ROOT / "devtools"))
    process = subprocess.Popen(
        [sys.executable, "-m", "samen_devtools.fcm_server", "--port", "0", "--service-account-out", str(account_path),
         "--project-id", "samen-dev"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not account_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert account_path.exists()
        time.sleep(0.1)  # the file is written in one call; let it be flushed
        info = json.loads(account_path.read_text())
        assert info["type"] == "service_account"
        assert info["project_id"] == "samen-dev"
        assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
        assert account_path.stat().st_mode & 0o777 == 0o600

        base_url = info["token_uri"].removesuffix("/token") + "/v1/projects"
        cli_sender = FcmPushSender(str(account_path), base_url=base_url)
        assert cli_sender.send(make_device_token(), "Titel", "Tekst", {}).outcome is PushOutcome.SENT
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0


# Logging


def test_logs_show_only_token_suffix(fcm_server, sender, service_account_file, caplog):
    device_token = make_device_token()
    private_key = json.loads(service_account_file.read_text())["private_key"]
    fcm_server.mark_unregistered(device_token)

    with caplog.at_level(logging.DEBUG):
        sender.send(device_token, "Titel", "Tekst", {})
        sender.send(device_token, "Titel", "x" * 6000, {})

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert device_token[-6:] in text
    assert device_token not in text
    assert device_token[:20] not in text
    assert "PRIVATE KEY" not in text
    assert private_key[40:80] not in text


# Backoff


def test_backoff_grows_and_stays_bounded():
    ceilings = [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    for attempt, ceiling in enumerate(ceilings, start=1):
        delays = [backoff_seconds(attempt) for _ in range(50)]
        assert min(delays) >= ceiling / 2, attempt
        assert max(delays) <= ceiling, attempt
    assert backoff_seconds(10_000) <= 600


def test_backoff_honours_larger_retry_after():
    assert backoff_seconds(1, retry_after=120) == 120.0
    assert backoff_seconds(1, retry_after=900) == 900.0
    assert backoff_seconds(20, retry_after=1) >= 300


def test_backoff_rejects_attempt_zero():
    with pytest.raises(ValueError):
        backoff_seconds(0)


def test_parse_retry_after_formats():
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    from datetime import datetime, timezone

    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Fri, 04 Dec 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Fri, 04 Dec 2026 11:00:00 GMT", now=now) == 0.0
