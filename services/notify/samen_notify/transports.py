"""The push and mail transports as nameko dependencies, chosen from the settings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path

import structlog
from nameko.extensions import DependencyProvider

from samen_common.timeutil import utcnow
from samen_notify import mail
from samen_notify.push import GOOGLE_FCM_BASE_URL, FcmPushSender, PushOutcome, PushResult
from samen_notify.settings import notify_settings

log = structlog.get_logger(__name__)


class FilePushTransport:
    """Write each push as a JSON file, used when no FCM service account is configured."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, device_token: str, title: str, body: str, data: Mapping[str, str] | None = None) -> PushResult:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.json"
        document = {"token": device_token, "notification": {"title": title, "body": body}, "data": dict(data or {})}
        temporary = self.directory / (name + ".tmp")
        temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        temporary.replace(self.directory / name)
        return PushResult(PushOutcome.SENT, "written to file", message_name=name)


class Transports:
    """The process's push sender and mail transport, shared by all workers."""

    def __init__(self, push, mail_transport, mail_from: str):
        self.push = push
        self.mail = mail_transport
        self.mail_from = mail_from


class TransportsProvider(DependencyProvider):
    """Build the transports once per process: FCM or files for pushes, file, SMTP or SES for mail."""

    def setup(self):
        settings = notify_settings()
        if settings.fcm_service_account_file:
            push = FcmPushSender(
                settings.fcm_service_account_file,
                settings.fcm_project_id,
                base_url=settings.fcm_base_url or GOOGLE_FCM_BASE_URL,
                read_timeout=settings.fcm_timeout,
                max_connections=max(settings.send_concurrency, 1),
            )
            log.info("push.configured", backend="fcm", endpoint=settings.fcm_base_url or GOOGLE_FCM_BASE_URL)
        else:
            push = FilePushTransport(settings.push_outbox_dir)
            log.info("push.configured", backend="file", directory=str(settings.push_outbox_dir))
        self.transports = Transports(push, mail.make_transport(settings), settings.mail_from)
        log.info("mail.configured", backend=settings.mail_backend)

    def get_dependency(self, worker_ctx) -> Transports:
        return self.transports
