"""Time helpers: every instant is timezone-aware, every local date is Europe/Amsterdam."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from samen_common.errors import InvalidInput

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(AMSTERDAM).date()


def parse_aware(value: str, field: str = "timestamp") -> datetime:
    """Parse an ISO 8601 timestamp and reject one without a time zone."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("invalid_input", field=field, value=value) from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput("naive_timestamp", value=value, field=field)
    return parsed


def require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {value.isoformat()} has no time zone")
    return value
