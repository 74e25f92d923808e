"""Settings of the notify service, read once per process from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from samen_common.settings import SettingsError, common_settings, env_bool, env_float, env_int, env_str

MAIL_BACKENDS = ("file", "smtp", "ses")


@dataclass(frozen=True)
class NotifySettings:
    public_url: str
    data_dir: Path
    mail_backend: str
    mail_from: str
    smtp_host: str
    smtp_port: int
    smtp_starttls: bool
    smtp_user: str | None
    smtp_password: str | None
    smtp_timeout: float
    ses_region: str
    ses_endpoint_url: str | None
    fcm_service_account_file: str | None
    fcm_endpoint: str | None
    fcm_project_id: str | None
    fcm_timeout: float
    digest_window_seconds: int
    send_batch_size: int
    send_concurrency: int
    max_push_attempts: int
    max_mail_attempts: int
    stale_claim_seconds: int

    @property
    def fcm_base_url(self) -> str | None:
        """The FCM `/v1/projects` URL; SAMEN_FCM_ENDPOINT may name just the server (`https://host:port`)."""
        if not self.fcm_endpoint:
            return None
        endpoint = self.fcm_endpoint.rstrip("/")
        return endpoint if endpoint.endswith("/v1/projects") else endpoint + "/v1/projects"

    @property
    def mail_outbox_dir(self) -> Path:
        return self.data_dir / "outbox-mail"

    @property
    def push_outbox_dir(self) -> Path:
        return self.data_dir / "outbox-push"


def _optional(name: str) -> str | None:
    import os

    value = os.environ.get(name, "").strip()
    return value or None


@lru_cache(maxsize=1)
def notify_settings() -> NotifySettings:
    common = common_settings()
    backend = env_str("SAMEN_MAIL_BACKEND", "file")
    if backend not in MAIL_BACKENDS:
        raise SettingsError(f"SAMEN_MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}, got {backend!r}")
    return NotifySettings(
        public_url=env_str("SAMEN_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
        data_dir=common.data_dir,
        mail_backend=backend,
        mail_from=env_str("SAMEN_MAIL_FROM", "Samen <noreply@samen.example>"),
        smtp_host=env_str("SAMEN_SMTP_HOST", "127.0.0.1"),
        smtp_port=env_int("SAMEN_SMTP_PORT", 25),
        smtp_starttls=env_bool("SAMEN_SMTP_STARTTLS", False),
        smtp_user=_optional("SAMEN_SMTP_USER"),
        smtp_password=_optional("SAMEN_SMTP_PASSWORD"),
        smtp_timeout=env_float("SAMEN_SMTP_TIMEOUT", 10.0),
        ses_region=env_str("SAMEN_SES_REGION", "eu-west-1"),
        ses_endpoint_url=_optional("SAMEN_SES_ENDPOINT_URL"),
        fcm_service_account_file=_optional("SAMEN_FCM_SERVICE_ACCOUNT_FILE"),
        fcm_endpoint=_optional("SAMEN_FCM_ENDPOINT"),
        fcm_project_id=_optional("SAMEN_FCM_PROJECT_ID"),
        fcm_timeout=env_float("SAMEN_FCM_TIMEOUT", 10.0),
        digest_window_seconds=env_int("SAMEN_DIGEST_WINDOW_SECONDS", 120),
        send_batch_size=env_int("SAMEN_NOTIFY_SEND_BATCH", 200),
        send_concurrency=env_int("SAMEN_NOTIFY_SEND_CONCURRENCY", 20),
        max_push_attempts=env_int("SAMEN_PUSH_MAX_ATTEMPTS", 8),
        max_mail_attempts=env_int("SAMEN_MAIL_MAX_ATTEMPTS", 8),
        stale_claim_seconds=env_int("SAMEN_NOTIFY_STALE_CLAIM_SECONDS", 300),
    )
