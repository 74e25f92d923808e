"""Parsing of dates, months and dayparts that arrive over RPC as strings."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from samen_common.errors import InvalidInput, NotFound
from samen_common.timeutil import AMSTERDAM, parse_aware
from samen_requests.domain.enums import Daypart

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Dates the schedule can compute: the Dutch holiday rules in use start in 2014 (King's Day), and
# nothing in childcare is planned decades ahead.
FIRST_DAY = date(2014, 1, 1)
LAST_DAY = date(2099, 12, 31)


def _in_range(day: date, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            "date_out_of_range", field=field, value=day.isoformat(),
            first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat(),
        )
    return day


def parse_id(value) -> uuid.UUID:
    """Parse an id; a malformed one is as unknown as a missing one and raises NotFound."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise NotFound() from None


def parse_day(value, field: str) -> date:
    """Parse a local date given as YYYY-MM-DD or as a timestamp with a time zone.

    A timestamp is converted to its Europe/Amsterdam date; one without a zone raises
    InvalidInput with the code `naive_timestamp`.
    """
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if "T" in text or " " in text:
        try:
            return _in_range(parse_aware(text, field=field).astimezone(AMSTERDAM).date(), field)
        except OverflowError:
            raise InvalidInput("invalid_date", field=field, value=text) from None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("invalid_date", field=field, value=text) from None
    return _in_range(parsed, field)


def parse_optional_day(value, field: str) -> date | None:
    if value is None or value == "":
        return None
    return parse_day(value, field)


def parse_month(value) -> tuple[date, date]:
    """Return the first and last day of a month given as YYYY-MM."""
    match = _MONTH.match(str(value or ""))
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput("invalid_month", value=value)
    first = _in_range(date(int(match.group(1)), int(match.group(2)), 1), "month")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def parse_daypart(value, field: str = "daypart") -> Daypart | None:
    if value is None or value == "":
        return None
    try:
        return Daypart(value)
    except ValueError:
        raise InvalidInput(
            "invalid_daypart", field=field, value=value, choices=", ".join(part.value for part in Daypart)
        ) from None
