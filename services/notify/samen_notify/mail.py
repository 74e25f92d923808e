"""E-mail: rendering from Jinja2 templates and the file, SMTP and SES transports.

Every transport returns a `MailResult` in place of raising for delivery errors, sorted like
pushes: sent, bounced (the address is dead), retry later, or rejected for good.
"""

from __future__ import annotations

import enum
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from samen_common import i18n
from samen_common.timeutil import utcnow
from samen_notify.settings import NotifySettings

log = structlog.get_logger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATE_DIR)),
    # HTML templates escape every value; plain-text templates must not, or a name like
    # "Anne & Bas" would arrive as "Anne &amp; Bas".
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render(template: str, language: str, mail_subject: str, **values) -> RenderedMail:
    """Render `<language>/<template>.txt` and `.html` with `values`."""
    language = i18n.normalise_language(language)
    values = dict(values, language=language, mail_subject=mail_subject)
    text = _environment.get_template(f"{language}/{template}.txt").render(**values)
    html = _environment.get_template(f"{language}/{template}.html").render(**values)
    return RenderedMail(mail_subject, text, html)


def build_message(sender: str, to_address: str, mail: RenderedMail, delivery_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring=delivery_id.replace("-", "")[:16], domain="samen.local")
    message["X-Samen-Delivery"] = delivery_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class MailOutcome(enum.StrEnum):
    SENT = "sent"
    """The server accepted the message."""
    BOUNCED = "bounced"
    """The receiving server rejected the address permanently (SMTP 5xx on RCPT)."""
    RETRY = "retry"
    """A transient failure (connection, timeout, 4xx): send again after a backoff."""
    PERMANENT = "permanent"
    """The message itself was rejected: log it and drop it."""


@dataclass(frozen=True)
class MailResult:
    outcome: MailOutcome
    reason: str


class FileMailTransport:
    """Write each message as an .eml file, for development (`make up`) and inspection."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> MailResult:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{message['X-Samen-Delivery'] or uuid.uuid4()}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(bytes(message))
        temporary.replace(path)
        return MailResult(MailOutcome.SENT, f"written to {path.name}")


class SmtpMailTransport:
    """Send through an SMTP server, one connection per message, bounded by a timeout."""

    def __init__(self, host: str, port: int, *, starttls: bool, user: str | None, password: str | None,
                 timeout: float):
        self.host, self.port = host, port
        self.starttls, self.user, self.password = starttls, user, password
        self.timeout = timeout

    def send(self, message: EmailMessage) -> MailResult:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            return _classify_reply(code, reply, "recipient refused", bounce_on_5xx=True)
        except smtplib.SMTPSenderRefused as error:
            return _classify_reply(error.smtp_code, error.smtp_error, "sender refused", bounce_on_5xx=False)
        except smtplib.SMTPDataError as error:
            return _classify_reply(error.smtp_code, error.smtp_error, "message refused", bounce_on_5xx=False)
        except smtplib.SMTPAuthenticationError as error:
            return MailResult(MailOutcome.RETRY, f"SMTP login failed ({error.smtp_code})")
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            return MailResult(MailOutcome.RETRY, f"SMTP error: {type(error).__name__}: {str(error)[:200]}")
        return MailResult(MailOutcome.SENT, f"accepted by {self.host}:{self.port}")


def _classify_reply(code: int, reply: bytes | str, what: str, *, bounce_on_5xx: bool) -> MailResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    reason = f"{what}: {code} {text[:200]}"
    if 500 <= code < 600:
        return MailResult(MailOutcome.BOUNCED if bounce_on_5xx else MailOutcome.PERMANENT, reason)
    return MailResult(MailOutcome.RETRY, reason)


class SesMailTransport:
    """Send through Amazon SES (`SendRawEmail`) with boto3."""

    def __init__(self, region: str, endpoint_url: str | None, timeout: float):
        import boto3
        from botocore.config import Config

        self.client = boto3.client(
            "ses", region_name=region, endpoint_url=endpoint_url,
            config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
        )

    def send(self, message: EmailMessage) -> MailResult:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.send_raw_email(
                Source=message["From"], Destinations=[message["To"]], RawMessage={"Data": bytes(message)},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            reason = f"SES {code} (HTTP {status})"
            if code in ("Throttling", "ThrottlingException", "ServiceUnavailable") or status >= 500:
                return MailResult(MailOutcome.RETRY, reason)
            # MessageRejected covers both a bad message and an address on the suppression list.
            # NOTE: SES reports real bounces later through SNS notifications, which this service
            # does not read, so an address that bounces through SES is never marked bouncing.
            return MailResult(MailOutcome.PERMANENT, reason)
        except BotoCoreError as error:
            return MailResult(MailOutcome.RETRY, f"SES error: {type(error).__name__}")
        return MailResult(MailOutcome.SENT, f"SES message {response.get('MessageId')}")


def make_transport(settings: NotifySettings):
    if settings.mail_backend == "smtp":
        return SmtpMailTransport(
            settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
            user=settings.smtp_user, password=settings.smtp_password, timeout=settings.smtp_timeout,
        )
    if settings.mail_backend == "ses":
        return SesMailTransport(settings.ses_region, settings.ses_endpoint_url, settings.smtp_timeout)
    return FileMailTransport(settings.mail_outbox_dir)
