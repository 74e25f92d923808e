"""Turn one event into inbox items and digest entries, inside the handler's transaction.

Planning only writes rows. Deliveries are created when a digest falls due (`dispatch`), so a
burst of items of one subject becomes one push and one e-mail per person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from samen_notify import queries
from samen_notify.quiet_hours import release_time
from samen_notify.subjects import Channel, effective


@dataclass
class AudienceMember:
    """One person to notify, with the children the item is about that this person may see."""

    account_id: str
    child_ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


@dataclass
class PlanResult:
    notifications: int = 0
    push_digests: int = 0
    email_digests: int = 0


def plan(
    session: Session,
    *,
    event_id: str,
    subject: str,
    item_id: str | None,
    audience: list[AudienceMember],
    contacts: list[dict],
    params: dict,
    now: datetime,
    window_seconds: int,
) -> PlanResult:
    """Store an inbox item per member and add it to each member's open push and e-mail digests."""
    active = {contact["id"]: contact for contact in contacts if contact.get("active", True)}
    members = [member for member in audience if member.account_id in active]
    result = PlanResult()
    if not members:
        return result

    queries.upsert_recipients(session, active.values())
    account_ids = [uuid.UUID(member.account_id) for member in members]
    recipients = queries.recipients_by_ids(session, account_ids)
    preferences = queries.stored_preferences(session, account_ids)

    notification_rows = [
        {
            "id": uuid.uuid4(),
            "account_id": uuid.UUID(member.account_id),
            "subject": subject,
            "source_event_id": event_id,
            "item_id": item_id,
            "child_ids": member.child_ids,
            "params": dict(params, names=member.names),
            "created_at": now,
        }
        for member in members
    ]
    created = queries.insert_notifications(session, notification_rows)
    result.notifications = len(created)

    window_end = now + timedelta(seconds=window_seconds)
    push_rows, email_rows = [], []
    for account_id in created:
        stored = preferences.get(account_id, {})
        recipient = recipients[account_id]
        if effective(stored, subject, Channel.PUSH):
            due = window_end
            if recipient.quiet_hours_enabled:
                due = release_time(window_end, recipient.quiet_start, recipient.quiet_end)
            push_rows.append({"account_id": account_id, "subject": subject, "channel": Channel.PUSH.value,
                              "due_at": due, "opened_at": now})
        if effective(stored, subject, Channel.EMAIL) and recipient.email:
            email_rows.append({"account_id": account_id, "subject": subject, "channel": Channel.EMAIL.value,
                               "due_at": window_end, "opened_at": now})

    items = []
    for rows in (push_rows, email_rows):
        digests = queries.add_to_open_digests(session, rows)
        items.extend({"digest_id": digest_id, "notification_id": created[account_id]}
                     for account_id, digest_id in digests.items())
    queries.insert_digest_items(session, items)
    result.push_digests, result.email_digests = len(push_rows), len(email_rows)
    return result
