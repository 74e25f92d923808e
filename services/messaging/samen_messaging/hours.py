"""Opening hours of a location and the notice a guardian sees after writing a message."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from samen_common import i18n
from samen_common.timeutil import AMSTERDAM
from samen_messaging.keepsake import CATALOGUE


def _parse_hours(opening_hours: dict, weekday: int) -> tuple[time, time] | None:
    """Return (opens, closes) of an ISO weekday, or None when the location is closed that day."""
    span = (opening_hours or {}).get(str(weekday))
    if not span or len(span) != 2:
        return None
    try:
        opens, closes = time.fromisoformat(span[0]), time.fromisoformat(span[1])
    except (TypeError, ValueError):
        return None
    return (opens, closes) if opens < closes else None


def next_opening(opening_hours: dict, now: datetime) -> datetime | None:
    """Return the next local opening time, or None when the location is open at `now`.

    Also returns None when no weekday has valid hours, because then no time can be promised.
    """
    local = now.astimezone(AMSTERDAM)
    today = _parse_hours(opening_hours, local.isoweekday())
    if today and today[0] <= local.time() < today[1]:
        return None
    for offset in range(0, 8):
        day = (local + timedelta(days=offset)).date()
        hours = _parse_hours(opening_hours, day.isoweekday())
        if hours is None:
            continue
        opening = datetime.combine(day, hours[0], tzinfo=AMSTERDAM)
        if opening > local:
            return opening
    return None


def format_local_moment(moment: datetime, language: str) -> str:
    """Format a local time as "maandag 8 december om 07:00" or "Monday 8 December at 07:00"."""
    labels = CATALOGUE[i18n.normalise_language(language)]
    local = moment.astimezone(AMSTERDAM)
    weekday = labels["weekdays"][local.weekday()]
    month = labels["months"][local.month - 1]
    joiner = "om" if language == "nl" else "at"
    return f"{weekday} {local.day} {month} {joiner} {local:%H:%M}"


def message_notice(opening_hours: dict, now: datetime, language: str) -> str:
    """Return the notice for a guardian who just wrote, with the next opening time when closed."""
    language = i18n.normalise_language(language)
    opening = next_opening(opening_hours, now)
    if opening is None:
        return i18n.translate("message_notice_open", language)
    return i18n.translate("message_notice_closed", language, when=format_local_moment(opening, language))
