"""Flush due digests into deliveries, and send due pushes and e-mails.

Every step claims its rows with `FOR UPDATE SKIP LOCKED` and commits before it talks to FCM,
an SMTP server or SES, so no database connection or lock is held during network I/O and
several workers or processes never take the same row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import eventlet
import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from samen_common.db import atomic
from samen_common.errors import SamenError
from samen_common.timeutil import utcnow
from samen_notify import mail, queries
from samen_notify.messages import notification_title
from samen_notify.models import Device, Digest, MailDelivery, Notification, PushDelivery, Recipient
from samen_notify.push import PushOutcome, PushResult, backoff_seconds, shorten_token
from samen_notify.settings import NotifySettings
from samen_notify.subjects import Channel, Subject

from samen_common import i18n

log = structlog.get_logger(__name__)

# A flush that could not reach accounts is tried again after this long.
FLUSH_RETRY_SECONDS = 15


@dataclass(frozen=True)
class DigestContent:
    """Content of one digest: the item count, the child names and the newest item."""

    count: int
    names: list[str]
    state: str | None
    newest: Notification
    consent_child_ids: list[str]


def _content(digest: Digest, notifications: list[Notification]) -> DigestContent:
    names: list[str] = []
    child_ids: list[str] = []
    for notification in notifications:
        for name in notification.params.get("names", []):
            if name not in names:
                names.append(name)
        for child_id in notification.child_ids:
            if child_id not in child_ids:
                child_ids.append(child_id)
    newest = notifications[-1]
    return DigestContent(
        count=len(notifications),
        names=names,
        state=newest.params.get("state"),
        newest=newest,
        consent_child_ids=child_ids if digest.subject == Subject.PHOTOS else [],
    )


def _consent(accounts, child_ids: set[str]) -> dict[str, bool]:
    """Return current photo consent from accounts; raise ServiceUnavailable when accounts does not reply in time."""
    if not child_ids:
        return {}
    return accounts.children_consent(sorted(child_ids))


def _without_consent(notification: Notification, consent: dict[str, bool]) -> bool:
    return notification.subject == Subject.PHOTOS and not all(consent.get(c, False) for c in notification.child_ids)


def flush_due_digests(db: Session, accounts, settings: NotifySettings) -> int:
    """Turn due digests into push and mail deliveries; return how many digests were handled.

    Photo items are re-checked against current consent first: an item with a child whose
    consent was withdrawn leaves the inbox and the digest.
    """
    now = utcnow()
    stale = timedelta(seconds=settings.stale_claim_seconds)
    with atomic(db):
        digests = queries.claim_due_digests(db, now, settings.send_batch_size, stale)
    if not digests:
        return 0

    with atomic(db):
        items = queries.digest_notifications(db, [digest.id for digest in digests])
    photo_children = {c for digest in digests if digest.subject == Subject.PHOTOS for n in items[digest.id]
                      for c in n.child_ids}
    try:
        consent = _consent(accounts, photo_children)
    except SamenError as error:
        retry_at = now - stale + timedelta(seconds=FLUSH_RETRY_SECONDS)
        with atomic(db):
            db.execute(update(Digest).where(Digest.id.in_([d.id for d in digests])).values(flushed_at=retry_at))
        log.warning("digest.flush_postponed", count=len(digests), error=error.code)
        return 0

    with atomic(db):
        _write_deliveries(db, digests, items, consent, settings, now)
    log.info("digest.flushed", count=len(digests))
    return len(digests)


def _write_deliveries(db, digests, items, consent, settings, now) -> None:
    withdrawn = [n.id for digest in digests for n in items[digest.id] if _without_consent(n, consent)]
    if withdrawn:
        db.execute(update(Notification).where(Notification.id.in_(withdrawn), Notification.withdrawn_at.is_(None))
                   .values(withdrawn_at=now))
        log.info("notification.withdrawn_no_consent", count=len(withdrawn))

    account_ids = {digest.account_id for digest in digests}
    recipients = queries.recipients_by_ids(db, account_ids)
    devices = queries.devices_of_accounts(db, {d.account_id for d in digests if d.channel == Channel.PUSH})
    push_rows, log_entries = [], []
    withdrawn_ids = set(withdrawn)

    for digest in digests:
        kept = [n for n in items[digest.id] if n.id not in withdrawn_ids]
        recipient = recipients.get(digest.account_id) or Recipient(account_id=digest.account_id, language="nl")
        if not kept:
            digest.state = "cancelled"
            continue
        content = _content(digest, kept)
        language = recipient.language or "nl"
        title = notification_title(digest.subject, content.count, content.names, language, content.state)

        if digest.channel == Channel.PUSH:
            body = i18n.translate("notify.body", language)
            data = {
                "subject": digest.subject,
                "digest_id": str(digest.id),
                "notification_id": str(content.newest.id),
                "count": str(content.count),
            }
            if content.count == 1 and content.newest.item_id:
                data["item_id"] = content.newest.item_id
            for device in devices.get(digest.account_id, []):
                push_rows.append({
                    "id": uuid.uuid4(), "digest_id": digest.id, "device_id": device.id,
                    "account_id": digest.account_id, "title": title, "body": body, "data": data,
                    "consent_child_ids": content.consent_child_ids, "next_attempt_at": now,
                })
        else:
            mail_id = _queue_digest_mail(db, digest, recipient, title, settings, now)
            if mail_id is not None:
                log_entries.append({"channel": "email", "delivery_id": mail_id, "digest_id": digest.id,
                                    "account_id": digest.account_id, "status": "queued", "reason": None})
        digest.state = "flushed"

    for row in queries.insert_push_deliveries(db, push_rows):
        log_entries.append({"channel": "push", "delivery_id": row.id, "digest_id": row.digest_id,
                            "account_id": row.account_id, "device_id": row.device_id, "status": "queued",
                            "reason": None})
    for entry in log_entries:
        entry.setdefault("device_id", None)
    queries.insert_log(db, log_entries)


def _queue_digest_mail(db, digest: Digest, recipient: Recipient, title: str, settings, now):
    if not recipient.email:
        return None
    if recipient.bouncing_email and recipient.bouncing_email.lower() == recipient.email.lower():
        log.info("mail.skipped_bouncing", account_id=str(recipient.account_id), digest_id=str(digest.id))
        return None
    rendered = mail.render(
        "notification", recipient.language, title,
        name=recipient.display_name or "", title=title,
        open_url=f"{settings.public_url}/notifications", settings_url=f"{settings.public_url}/settings/notifications",
    )
    return queries.insert_mail_delivery(db, {
        "id": uuid.uuid4(), "dedup_key": f"digest:{digest.id}", "account_id": digest.account_id,
        "digest_id": digest.id, "subject": digest.subject, "template": "notification",
        "to_address": recipient.email, "language": recipient.language, "sensitive": False,
        "mail_subject": rendered.subject, "text_body": rendered.text, "html_body": rendered.html,
        "next_attempt_at": now,
    })


# Pushes


def send_due_pushes(db: Session, accounts, transports, settings: NotifySettings) -> int:
    """Send one batch of due pushes concurrently; return how many were claimed."""
    now = utcnow()
    with atomic(db):
        stale = queries.fail_stale_sending(db, PushDelivery, now, timedelta(seconds=settings.stale_claim_seconds))
        queries.insert_log(db, [
            {"channel": "push", "delivery_id": row.id, "account_id": row.account_id, "status": "failed",
             "reason": "interrupted while sending; delivery unknown"} for row in stale
        ])
        claimed = queries.claim_due_push(db, now, settings.send_batch_size)
        devices = {
            device.id: device
            for device in db.scalars(select(Device).where(Device.id.in_({row.device_id for row in claimed})))
        } if claimed else {}
    if not claimed:
        return 0

    try:
        consent = _consent(accounts, {c for row in claimed for c in row.consent_child_ids})
    except SamenError as error:
        log.warning("push.consent_check_failed", count=len(claimed), error=error.code)
        with atomic(db):
            _requeue(db, claimed, utcnow() + timedelta(seconds=FLUSH_RETRY_SECONDS), "consent check failed")
        return len(claimed)

    pool = eventlet.GreenPool(max(1, settings.send_concurrency))
    jobs = []
    for row in claimed:
        device = devices.get(row.device_id)
        if device is None:
            jobs.append((row, None, PushResult(PushOutcome.PERMANENT, "device was removed")))
        elif row.consent_child_ids and not all(consent.get(c, False) for c in row.consent_child_ids):
            jobs.append((row, device, PushResult(PushOutcome.PERMANENT, "photo consent withdrawn")))
        else:
            jobs.append((row, device, pool.spawn(transports.push.send, device.token, row.title, row.body, row.data)))
    results = [(row, device, job if isinstance(job, PushResult) else job.wait()) for row, device, job in jobs]

    with atomic(db):
        _record_push_results(db, results, settings)
    log.info("push.batch_sent", claimed=len(claimed))
    return len(claimed)


def _requeue(db, rows, when, reason) -> None:
    model = type(rows[0])
    db.execute(update(model).where(model.id.in_([row.id for row in rows]))
               .values(state="queued", next_attempt_at=when, attempts=model.attempts - 1, last_error=reason))


def _record_push_results(db, results, settings) -> None:
    now = utcnow()
    entries, updates = [], []
    for row, device, result in results:
        entry = {"channel": "push", "delivery_id": row.id, "digest_id": row.digest_id,
                 "account_id": row.account_id, "device_id": row.device_id, "reason": result.reason[:500]}
        values = {"id": row.id, "state": "failed", "sent_at": None, "next_attempt_at": row.next_attempt_at,
                  "last_error": result.reason}
        if result.outcome is PushOutcome.SENT:
            values.update(state="sent", sent_at=now, last_error=None)
            entry["status"] = "sent"
        elif result.outcome is PushOutcome.RETRY and row.attempts < settings.max_push_attempts:
            delay = backoff_seconds(row.attempts, result.retry_after)
            values.update(state="queued", next_attempt_at=now + timedelta(seconds=delay))
            entry["status"] = "retried"
            entry["reason"] = f"{result.reason[:400]}; next attempt in {delay:.0f} s"
        else:
            entry["status"] = "failed"
            if result.outcome is PushOutcome.RETRY:
                entry["reason"] = f"gave up after {row.attempts} attempts: {result.reason[:400]}"
            if result.outcome is PushOutcome.DEAD_TOKEN and device is not None:
                queries.delete_device(db, device.id)
                log.info("device.removed_dead_token", device_id=str(device.id), token=shorten_token(device.token),
                         account_id=str(row.account_id))
        updates.append(values)
        entries.append(entry)
    # One executemany by primary key in place of a statement per row.
    db.execute(update(PushDelivery), updates)
    queries.insert_log(db, entries)


# E-mail


def send_due_mail(db: Session, transports, settings: NotifySettings) -> int:
    """Send one batch of due e-mails; return how many were claimed."""
    now = utcnow()
    with atomic(db):
        # NOTE: a password-reset mail interrupted in `sending` fails like any other mail, so the
        # guardian has to request a new link.
        stale = queries.fail_stale_sending(db, MailDelivery, now, timedelta(seconds=settings.stale_claim_seconds))
        queries.insert_log(db, [
            {"channel": "email", "delivery_id": row.id, "account_id": row.account_id, "status": "failed",
             "reason": "interrupted while sending; delivery unknown"} for row in stale
        ])
        claimed = queries.claim_due_mail(db, now, settings.send_batch_size)
        recipients = queries.recipients_by_ids(db, {row.account_id for row in claimed}) if claimed else {}
    if not claimed:
        return 0

    pool = eventlet.GreenPool(max(1, min(settings.send_concurrency, 10)))
    jobs = []
    for row in claimed:
        recipient = recipients.get(row.account_id)
        bouncing = recipient is not None and recipient.bouncing_email \
            and recipient.bouncing_email.lower() == row.to_address.lower()
        if bouncing and not row.sensitive:
            jobs.append((row, mail.MailResult(mail.MailOutcome.PERMANENT, "address is bouncing")))
            continue
        message = mail.build_message(
            transports.mail_from, row.to_address,
            mail.RenderedMail(row.mail_subject, row.text_body or "", row.html_body or ""), str(row.id),
        )
        jobs.append((row, pool.spawn(transports.mail.send, message)))
    results = [(row, job if isinstance(job, mail.MailResult) else job.wait()) for row, job in jobs]

    with atomic(db):
        _record_mail_results(db, results, settings)
    return len(claimed)


def _record_mail_results(db, results, settings) -> None:
    now = utcnow()
    entries = []
    for row, result in results:
        entry = {"channel": "email", "delivery_id": row.id, "digest_id": row.digest_id, "account_id": row.account_id,
                 "device_id": None, "reason": result.reason[:500]}
        if result.outcome is mail.MailOutcome.SENT:
            values = {"state": "sent", "sent_at": now, "last_error": None}
            entry["status"] = "sent"
        elif result.outcome is mail.MailOutcome.RETRY and row.attempts < settings.max_mail_attempts:
            delay = backoff_seconds(row.attempts, base=30.0, cap=3600.0)
            values = {"state": "queued", "next_attempt_at": now + timedelta(seconds=delay), "last_error": result.reason}
            entry["status"] = "retried"
            entry["reason"] = f"{result.reason[:400]}; next attempt in {delay:.0f} s"
        else:
            values = {"state": "failed", "last_error": result.reason}
            entry["status"] = "failed"
            if result.outcome is mail.MailOutcome.BOUNCED:
                db.execute(update(Recipient).where(Recipient.account_id == row.account_id)
                           .values(bouncing_email=row.to_address, bounced_at=now))
                log.warning("mail.address_bouncing", account_id=str(row.account_id), reason=result.reason[:200])
        if row.sensitive and values["state"] in ("sent", "failed"):
            # The body contains a password-reset link, so no usable copy is kept after the last attempt.
            values.update(text_body=None, html_body=None)
        db.execute(update(MailDelivery).where(MailDelivery.id == row.id).values(**values))
        entries.append(entry)
        log.info("mail.result", delivery_id=str(row.id), status=entry["status"], template=row.template)
    queries.insert_log(db, entries)
