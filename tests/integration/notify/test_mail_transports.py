"""The file, SMTP and SES mail transports and the file push transport, against real servers."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import boto3
import pytest
import requests

from samen_notify import mail
from samen_notify.mail import FileMailTransport, MailOutcome, SesMailTransport, SmtpMailTransport
from samen_notify.push import PushOutcome
from samen_notify.transports import FilePushTransport
from tests.integration.notify.conftest import free_port


def message(to_address: str = "anna@example.org"):
    rendered = mail.render("password_changed", "nl", "Je wachtwoord is gewijzigd", name="Anna",
                           account_number="100001", changed_local="04-12-2026 10:00", forgot_url="https://x/forgot")
    return mail.build_message("Samen <noreply@samen.test>", to_address, rendered, "3f1c0e7a-0000-4000-8000-000000000001")


def test_file_transport_writes_eml(tmp_path):
    result = FileMailTransport(tmp_path / "outbox-mail").send(message())

    files = list((tmp_path / "outbox-mail").glob("*.eml"))
    assert result.outcome is MailOutcome.SENT
    assert len(files) == 1
    assert b"Subject: Je wachtwoord is gewijzigd" in files[0].read_bytes()


def test_file_push_writes_json(tmp_path):
    result = FilePushTransport(tmp_path / "outbox-push").send("token-1", "Titel", "Tekst", {"subject": "news"})

    files = list((tmp_path / "outbox-push").glob("*.json"))
    assert result.outcome is PushOutcome.SENT
    assert json.loads(files[0].read_text()) == {"token": "token-1", "notification": {"title": "Titel", "body": "Tekst"},
                                                "data": {"subject": "news"}}


def test_smtp_sends_to_sink(smtp_sink):
    transport = SmtpMailTransport("127.0.0.1", smtp_sink.port, starttls=False, user=None, password=None, timeout=5)

    result = transport.send(message())

    assert result.outcome is MailOutcome.SENT
    assert smtp_sink.wait_for(1)[0]["To"] == "anna@example.org"


def test_smtp_rejected_recipient_bounces(smtp_sink):
    transport = SmtpMailTransport("127.0.0.1", smtp_sink.port, starttls=False, user=None, password=None, timeout=5)

    result = transport.send(message("bounce@example.org"))

    assert result.outcome is MailOutcome.BOUNCED
    assert "550" in result.reason


def test_smtp_unreachable_retries():
    transport = SmtpMailTransport("127.0.0.1", free_port(), starttls=False, user=None, password=None, timeout=2)

    started = time.monotonic()
    result = transport.send(message())

    assert result.outcome is MailOutcome.RETRY
    assert time.monotonic() - started < 3


@pytest.fixture
def moto_server():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def ses_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_ses_sends_verified_sender(moto_server, ses_env):
    client = boto3.client("ses", region_name="eu-west-1", endpoint_url=moto_server)
    client.verify_email_identity(EmailAddress="noreply@samen.test")
    transport = SesMailTransport("eu-west-1", moto_server, timeout=5)

    result = transport.send(message())

    assert result.outcome is MailOutcome.SENT
    assert client.get_send_quota()["SentLast24Hours"] >= 1


def test_ses_unverified_sender_permanent(moto_server, ses_env):
    transport = SesMailTransport("eu-west-1", moto_server, timeout=5)

    result = transport.send(message())

    assert result.outcome is MailOutcome.PERMANENT
    assert "MessageRejected" in result.reason


def test_ses_unreachable_retries(ses_env):
    transport = SesMailTransport("eu-west-1", f"http://127.0.0.1:{free_port()}", timeout=2)

    result = transport.send(message())

    assert result.outcome is MailOutcome.RETRY
