"""Security mail about an account: password reset link and password changed notice."""

from __future__ import annotations

import urllib.parse
import uuid

import structlog

from samen_common import i18n
from samen_common.db import atomic
from samen_common.outbox import claim_event
from samen_common.timeutil import AMSTERDAM, parse_aware, utcnow
from samen_notify import mail, queries
from samen_notify.models import HandledEvent
from samen_notify.settings import notify_settings
from samen_notify.subjects import Subject

log = structlog.get_logger(__name__)


def _local(moment, language: str) -> str:
    local = moment.astimezone(AMSTERDAM)
    return local.strftime("%d-%m-%Y %H:%M") if language == "nl" else local.strftime("%Y-%m-%d %H:%M")


def queue_account_mail(db, accounts, payload: dict, template: str, handler: str) -> bool:
    """Render one account mail and queue it in the handler's transaction; return whether it was queued.

    The mail is queued even when the event arrives twice, once: the event claim and the
    delivery row commit together, and the delivery's dedup key is the event id.
    """
    account_id = payload["account_id"]
    now = utcnow()
    if template == "password_reset" and parse_aware(payload["expires_at"], "expires_at") <= now:
        with atomic(db):
            claim_event(db, HandledEvent, payload["event_id"], handler)
        log.warning("mail.reset_link_expired_before_sending", account_id=account_id, event_id=payload["event_id"])
        return False

    contacts = accounts.contacts([account_id])
    contact = contacts[0] if contacts else None
    if contact is None or not contact.get("email"):
        with atomic(db):
            claim_event(db, HandledEvent, payload["event_id"], handler)
        log.warning("mail.no_address", account_id=account_id, template=template)
        return False

    settings = notify_settings()
    language = i18n.normalise_language(contact.get("language"))
    values = {"name": contact.get("display_name") or "", "account_number": contact.get("account_number") or ""}
    if template == "password_reset":
        token = urllib.parse.quote(payload["secret_token"], safe="")
        values["reset_url"] = f"{settings.public_url}/reset-password?token={token}"
        values["expires_local"] = _local(parse_aware(payload["expires_at"], "expires_at"), language)
    else:
        values["changed_local"] = _local(parse_aware(payload.get("occurred_at") or now.isoformat()), language)
        values["forgot_url"] = f"{settings.public_url}/forgot-password"
    rendered = mail.render(template, language, i18n.translate(f"mail.{template}.subject", language), **values)

    with atomic(db):
        if not claim_event(db, HandledEvent, payload["event_id"], handler):
            return False
        queries.upsert_recipients(db, [contact])
        delivery_id = queries.insert_mail_delivery(db, {
            "id": uuid.uuid4(), "dedup_key": f"{payload['event_id']}:{account_id}",
            "account_id": uuid.UUID(account_id), "digest_id": None, "subject": Subject.ACCOUNT.value,
            "template": template, "to_address": contact["email"], "language": language, "sensitive": True,
            "mail_subject": rendered.subject, "text_body": rendered.text, "html_body": rendered.html,
            "next_attempt_at": now,
        })
        if delivery_id is not None:
            queries.insert_log(db, [{"channel": "email", "delivery_id": delivery_id, "digest_id": None,
                                     "account_id": uuid.UUID(account_id), "device_id": None, "status": "queued",
                                     "reason": template}])
    log.info("mail.account_queued", account_id=account_id, template=template)
    return True
