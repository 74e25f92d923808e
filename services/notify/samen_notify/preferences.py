"""Notification settings and devices of the calling account."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy import delete, or_, select

from samen_common.auth import Caller
from samen_common.db import atomic
from samen_common.errors import InvalidInput
from samen_common.timeutil import utcnow
from samen_notify import queries
from samen_notify.models import Device, Digest, Recipient
from samen_notify.quiet_hours import parse_clock, release_time
from samen_notify.settings import notify_settings
from samen_notify.subjects import CONFIGURABLE_SUBJECTS, Channel, Subject, effective

log = structlog.get_logger(__name__)

PLATFORMS = ("android", "ios", "web")
MIN_TOKEN_LENGTH = 20
MAX_TOKEN_LENGTH = 4096


def _account_id(caller: Caller) -> uuid.UUID:
    return uuid.UUID(caller.account_id)


def _ensure_recipient(db, caller: Caller) -> Recipient:
    recipient = db.get(Recipient, _account_id(caller))
    if recipient is None:
        recipient = Recipient(account_id=_account_id(caller), kind=caller.kind.value, language=caller.language)
        db.add(recipient)
        db.flush()
    return recipient


def read(db, caller: Caller) -> dict:
    account_id = _account_id(caller)
    stored = queries.stored_preferences(db, [account_id]).get(account_id, {})
    recipient = db.get(Recipient, account_id) or Recipient(account_id=account_id)
    subjects = {
        subject.value: {channel.value: effective(stored, subject, channel) for channel in Channel}
        for subject in (*CONFIGURABLE_SUBJECTS, Subject.ACCOUNT)
    }
    return {
        "subjects": subjects,
        "fixed_subjects": [Subject.ACCOUNT.value],
        "quiet_hours": {
            "enabled": recipient.quiet_hours_enabled if recipient.quiet_hours_enabled is not None else True,
            "start": (recipient.quiet_start or parse_clock("21:00")).strftime("%H:%M"),
            "end": (recipient.quiet_end or parse_clock("07:00")).strftime("%H:%M"),
            "time_zone": "Europe/Amsterdam",
        },
    }


def update(db, caller: Caller, changes: dict) -> dict:
    """Apply a partial change of subject switches and quiet hours, then return the whole settings."""
    account_id = _account_id(caller)
    subjects = changes.get("subjects") or {}
    allowed = [subject.value for subject in CONFIGURABLE_SUBJECTS]
    switches = []
    for subject, channels in subjects.items():
        if subject == Subject.ACCOUNT:
            # Account mail has no push, so only switching its e-mail off is an error; the
            # document returned by `read` can be sent back unchanged.
            if (channels or {}).get(Channel.EMAIL) is False:
                raise InvalidInput("notify.account_mail_fixed")
            continue
        if subject not in allowed:
            raise InvalidInput("notify.unknown_subject", subject=subject, choices=", ".join(allowed))
        for channel, enabled in (channels or {}).items():
            if channel not in (Channel.PUSH, Channel.EMAIL) or not isinstance(enabled, bool):
                raise InvalidInput("invalid_input")
            switches.append((subject, channel, enabled))

    quiet = changes.get("quiet_hours") or {}
    try:
        start = parse_clock(quiet["start"]) if quiet.get("start") is not None else None
        end = parse_clock(quiet["end"]) if quiet.get("end") is not None else None
    except (ValueError, AttributeError):
        raise InvalidInput("notify.invalid_quiet_hours", value=f"{quiet.get('start')}–{quiet.get('end')}") from None

    with atomic(db):
        for subject, channel, enabled in switches:
            queries.upsert_preference(db, account_id, subject, channel, enabled)
        if quiet:
            recipient = _ensure_recipient(db, caller)
            if "enabled" in quiet:
                recipient.quiet_hours_enabled = bool(quiet["enabled"])
            if start is not None:
                recipient.quiet_start = start
            if end is not None:
                recipient.quiet_end = end
            _replan_open_push_digests(db, account_id, recipient)
    return read(db, caller)


def _replan_open_push_digests(db, account_id, recipient: Recipient) -> None:
    """Move the due time of the account's open push digests to the new quiet hours.

    A digest opened during quiet hours waits for their end; after the guardian switches quiet
    hours off or changes them, it is due at the end of its digest window, or at the new end.
    """
    window = timedelta(seconds=notify_settings().digest_window_seconds)
    now = utcnow()
    open_digests = db.scalars(
        select(Digest).where(
            Digest.account_id == account_id, Digest.channel == Channel.PUSH.value, Digest.state == "open"
        )
    ).all()
    for digest in open_digests:
        due = max(now, digest.opened_at + window)
        if recipient.quiet_hours_enabled:
            due = release_time(due, recipient.quiet_start, recipient.quiet_end)
        digest.due_at = due


def register_device(db, caller: Caller, token: str, platform: str, name: str = "") -> dict:
    """Register an FCM token for the caller; a token registered by another account moves here.

    A moved token gets a new device id, so pushes still queued for the previous account fail
    as "device was removed" in place of reaching the new owner.
    """
    token = (token or "").strip()
    if not MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH or any(ch.isspace() for ch in token):
        raise InvalidInput("notify.invalid_device", problem=f"token must be {MIN_TOKEN_LENGTH}–{MAX_TOKEN_LENGTH} "
                           "characters without spaces")
    if platform not in PLATFORMS:
        raise InvalidInput("notify.invalid_device", problem=f"platform must be one of {', '.join(PLATFORMS)}")
    name = (name or "").strip()[:100]
    account_id = _account_id(caller)
    now = utcnow()
    with atomic(db):
        _ensure_recipient(db, caller)
        device = db.scalars(select(Device).where(Device.token == token).with_for_update()).first()
        if device is not None and device.account_id != account_id:
            log.info("device.moved", device_id=str(device.id), to_account=str(account_id))
            db.delete(device)
            db.flush()
            device = None
        if device is None:
            device = Device(id=uuid.uuid4(), account_id=account_id, token=token, platform=platform, name=name,
                            created_at=now, last_registered_at=now)
            db.add(device)
        else:
            device.platform, device.name, device.last_registered_at = platform, name, now
    return _device_dict(device)


def unregister_device(db, caller: Caller, token_or_id: str) -> dict:
    """Delete the caller's device by token or id; a device of another account is left alone."""
    value = (token_or_id or "").strip()
    conditions = [Device.token == value]
    try:
        conditions.append(Device.id == uuid.UUID(value))
    except ValueError:
        pass
    with atomic(db):
        removed = db.execute(
            delete(Device).where(Device.account_id == _account_id(caller), or_(*conditions)).returning(Device.id)
        ).all()
    return {"removed": len(removed)}


def list_devices(db, caller: Caller) -> list[dict]:
    devices = db.scalars(select(Device).where(Device.account_id == _account_id(caller)).order_by(Device.created_at))
    return [_device_dict(device) for device in devices]


def _device_dict(device: Device) -> dict:
    return {
        "id": str(device.id),
        "platform": device.platform,
        "name": device.name,
        "token_suffix": device.token[-6:],
        "registered_at": device.last_registered_at.isoformat() if device.last_registered_at else None,
    }
