"""Audience of each event: one function per event type, each asking accounts who may see the item.

Each function reads the audience and names over RPC before its transaction, then plans
inbox items and digests with the event claim in one transaction.
"""

from __future__ import annotations

import time

import structlog

from samen_common.db import atomic
from samen_common.outbox import claim_event
from samen_common.timeutil import utcnow
from samen_notify import planning
from samen_notify.models import HandledEvent
from samen_notify.planning import AudienceMember
from samen_notify.settings import notify_settings
from samen_notify.subjects import Subject

log = structlog.get_logger(__name__)

CONTACTS_CHUNK = 2000


def _contacts(accounts, account_ids: list[str]) -> list[dict]:
    result = []
    for start in range(0, len(account_ids), CONTACTS_CHUNK):
        result.extend(accounts.contacts(account_ids[start:start + CONTACTS_CHUNK]))
    return result


def _first_names(accounts, child_ids: list[str]) -> dict[str, str]:
    if not child_ids:
        return {}
    return {child["id"]: child["first_name"] for child in accounts.children(sorted(set(child_ids)))}


def _guardian_audience(accounts, child_ids: list[str], exclude: str | None = None) -> list[AudienceMember]:
    """Return each guardian of the children, with the names of only their own children among them."""
    names = _first_names(accounts, child_ids)
    members: dict[str, AudienceMember] = {}
    for child_id, guardian_ids in accounts.guardians_of_children(child_ids).items():
        for guardian_id in guardian_ids:
            if guardian_id == exclude:
                continue
            member = members.setdefault(guardian_id, AudienceMember(guardian_id))
            member.child_ids.append(child_id)
            if names.get(child_id):
                member.names.append(names[child_id])
    return list(members.values())


def _deliver(db, accounts, payload: dict, handler: str, subject: Subject, audience: list[AudienceMember],
             item_id: str | None, params: dict | None = None) -> None:
    started = time.monotonic()
    contacts = _contacts(accounts, [member.account_id for member in audience]) if audience else []
    contacts_seconds = time.monotonic() - started
    settings = notify_settings()
    with atomic(db):
        if not claim_event(db, HandledEvent, payload["event_id"], handler):
            log.info("event.duplicate", handler=handler, event_id=payload["event_id"])
            return
        result = planning.plan(
            db, event_id=payload["event_id"], subject=subject.value, item_id=item_id, audience=audience,
            contacts=contacts, params=params or {}, now=utcnow(), window_seconds=settings.digest_window_seconds,
        )
    log.info("event.planned", handler=handler, event_id=payload["event_id"], subject=subject.value,
             notifications=result.notifications, push_digests=result.push_digests,
             email_digests=result.email_digests, contacts_seconds=round(contacts_seconds, 3),
             total_seconds=round(time.monotonic() - started, 3))


def photo_published(db, accounts, payload: dict) -> None:
    """Guardians of the tagged children, and only when every tagged child has photo consent now.

    A group photo with one child without consent is shown to no parent, so it notifies nobody.
    Consent is checked again when the digest is flushed and when the push is sent.
    """
    child_ids = [str(child_id) for child_id in payload.get("child_ids") or []]
    audience: list[AudienceMember] = []
    if child_ids:
        consent = accounts.children_consent(child_ids)
        if all(consent.get(child_id, False) for child_id in child_ids):
            audience = _guardian_audience(accounts, child_ids)
        else:
            log.info("photo.not_notified_without_consent", photo_id=payload.get("photo_id"))
    _deliver(db, accounts, payload, "notify.on_photo_published", Subject.PHOTOS, audience, payload.get("photo_id"))


def message_posted(db, accounts, payload: dict) -> None:
    """Staff wrote: the child's guardians. A guardian wrote: the staff of the child's group."""
    child_id = str(payload["child_id"])
    author_id = payload.get("author_id")
    if payload.get("author_kind") == "staff":
        audience = _guardian_audience(accounts, [child_id], exclude=author_id)
    else:
        names = _first_names(accounts, [child_id])
        staff = accounts.staff_of_groups([payload["group_id"]]).get(str(payload["group_id"]), [])
        audience = [
            AudienceMember(staff_id, [child_id], [names[child_id]] if names.get(child_id) else [])
            for staff_id in staff if staff_id != author_id
        ]
    _deliver(db, accounts, payload, "notify.on_message_posted", Subject.MESSAGES, audience, payload.get("thread_id"))


def notebook_entry_added(db, accounts, payload: dict) -> None:
    audience = _guardian_audience(accounts, [str(payload["child_id"])], exclude=payload.get("author_id"))
    _deliver(db, accounts, payload, "notify.on_notebook_entry_added", Subject.NOTEBOOK, audience,
             payload.get("entry_id"))


def news_published(db, accounts, payload: dict) -> None:
    by_guardian = accounts.guardians_for_audience(
        payload["organisation_id"], payload.get("location_ids") or [], payload.get("group_ids") or []
    )
    audience = [AudienceMember(guardian_id, list(child_ids)) for guardian_id, child_ids in by_guardian.items()]
    _deliver(db, accounts, payload, "notify.on_news_published", Subject.NEWS, audience, payload.get("news_id"))


def request_decided(db, accounts, payload: dict) -> None:
    audience = _guardian_audience(accounts, [str(payload["child_id"])])
    # The kind of request (an absence may be illness) is left out of every text on purpose.
    _deliver(db, accounts, payload, "notify.on_request_decided", Subject.REQUESTS, audience,
             payload.get("request_id"), {"state": payload.get("state")})


def document_added(db, accounts, payload: dict) -> None:
    """Notify the guardian an invoice or annual statement is for; the texts name neither its kind nor its period."""
    audience = [AudienceMember(str(payload["guardian_id"]), [])]
    _deliver(db, accounts, payload, "notify.on_document_added", Subject.DOCUMENTS, audience,
             payload.get("document_id"))
