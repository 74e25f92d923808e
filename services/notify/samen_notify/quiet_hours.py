"""Quiet hours: the local time span in which pushes wait until the morning."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from samen_common.timeutil import AMSTERDAM

DEFAULT_START = time(21, 0)
DEFAULT_END = time(7, 0)


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Return whether local time `local` falls in [start, end), a span that may cross midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def release_time(moment: datetime, start: time, end: time, zone=AMSTERDAM) -> datetime:
    """Return `moment` itself outside quiet hours, else the next local `end` after it (aware, UTC)."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return moment
    candidate = datetime.combine(local.date(), end, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    # combine() with a zoneinfo picks the right offset on days when the clock changes.
    return candidate.astimezone(moment.tzinfo)


def parse_clock(value: str) -> time:
    """Parse "HH:MM" (00:00 to 23:59); raise ValueError otherwise."""
    hours, _, minutes = value.strip().partition(":")
    if len(hours) not in (1, 2) or len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"expected HH:MM, got {value!r}")
    return time(int(hours), int(minutes))
