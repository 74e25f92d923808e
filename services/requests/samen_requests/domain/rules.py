"""Per-organisation request rules and the checks that apply them.

Every check takes `now` as a timezone-aware datetime and works with local dates in
Europe/Amsterdam. A check returns a `Rejection` for the first rule that fails, or None.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .enums import ClosingKind, Daypart, DayStatus, RejectionCode, RequestKind
from .holidays import HolidayPolicy, LiberationDayPolicy, holiday_on
from .ratio import CapacityDecision
from .rejection import Rejection
from .schedule import ClosingDay, DayRequest, Placement, status_on

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class RulesError(ValueError):
    """Invalid organisation rules, with one message per invalid key in `errors`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid organisation rules: " + "; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class OrganisationRules:
    """Request rules that differ per organisation.

    A notice deadline is `days` calendar days before the day, at a local time of day: with
    1 and 09:00, an absence for Tuesday must be announced by Monday 09:00.
    """

    #: Notice deadline for absences, extra days and swaps: days before the day.
    notice_days: int = 1
    #: Notice deadline: local time of day.
    notice_time: time = time(9, 0)
    #: Accept absences after the notice deadline; they then earn no credit hours.
    late_absence_allowed: bool = False
    #: A swap day must lie within this many days before or after the day given up.
    swap_window_days: int = 30
    #: Swaps per calendar year of the day given up; None means no limit.
    max_swaps_per_year: int | None = 12
    #: A swap day must be in the group of the day given up.
    swap_same_group: bool = True
    #: Approve extra days and swaps without staff when the group has room.
    # NOTE: no function here reads this flag yet. The service decides the initial request state
    # from it and from `CapacityDecision.allowed`.
    auto_approve_when_room: bool = True
    #: Cancellation deadline: days before the (earliest) day of the request.
    cancel_days: int = 1
    #: Cancellation deadline: local time of day.
    cancel_time: time = time(9, 0)
    #: The organisation uses credit hours (tegoed).
    credit_enabled: bool = False
    #: Credit hours earned per daypart of absence announced before the deadline.
    credit_hours_per_daypart: Decimal = Decimal("5")
    #: Months after which earned credit hours expire.
    credit_expiry_months: int = 12
    #: An extra day may be paid with credit hours.
    extra_day_may_spend_credit: bool = True
    #: Optional national holidays on which the organisation closes.
    holiday_policy: HolidayPolicy = field(default_factory=HolidayPolicy)

    def __post_init__(self) -> None:
        errors = []
        for name in ("notice_days", "swap_window_days", "cancel_days"):
            if getattr(self, name) < 0:
                errors.append(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.max_swaps_per_year is not None and self.max_swaps_per_year < 0:
            errors.append(f"max_swaps_per_year must be 0 or more, got {self.max_swaps_per_year}")
        if self.credit_hours_per_daypart < 0:
            errors.append(
                f"credit_hours_per_daypart must be 0 or more, got {self.credit_hours_per_daypart}"
            )
        if self.credit_expiry_months < 1:
            errors.append(f"credit_expiry_months must be 1 or more, got {self.credit_expiry_months}")
        if errors:
            raise RulesError(errors)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OrganisationRules":
        """Build rules from parsed JSON; missing keys take the defaults.

        Times are "HH:MM" strings, hours a number or decimal string, and the holiday flags
        `good_friday_closed` (bool) and `liberation_day` ("every_year", "lustrum", "never").
        Raises RulesError listing every invalid or unknown key.
        """
        errors: list[str] = []
        values: dict[str, Any] = {}
        holiday_values: dict[str, Any] = {}
        known = {f.name for f in fields(cls)} - {"holiday_policy"}

        for key, raw in data.items():
            if key == "good_friday_closed":
                holiday_values["good_friday"] = _parse_bool(key, raw, errors)
            elif key == "liberation_day":
                holiday_values["liberation_day"] = _parse_choice(key, raw, errors)
            elif key not in known:
                errors.append(f"{key}: unknown key")
            else:
                values[key] = _PARSERS[key](key, raw, errors)

        if errors:
            raise RulesError(errors)
        return cls(**values, holiday_policy=HolidayPolicy(**holiday_values))


def _parse_int(key: str, raw: Any, errors: list[str]) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int):
        errors.append(f"{key}: expected a whole number, got {raw!r}")
    return raw


def _parse_optional_int(key: str, raw: Any, errors: list[str]) -> Any:
    if raw is None:
        return None
    return _parse_int(key, raw, errors)


def _parse_bool(key: str, raw: Any, errors: list[str]) -> Any:
    if not isinstance(raw, bool):
        errors.append(f"{key}: expected true or false, got {raw!r}")
    return raw


def _parse_time(key: str, raw: Any, errors: list[str]) -> Any:
    try:
        hours, minutes = str(raw).split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        errors.append(f"{key}: expected a time as HH:MM, got {raw!r}")
        return raw


def _parse_hours(key: str, raw: Any, errors: list[str]) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        errors.append(f"{key}: expected a number of hours, got {raw!r}")
        return raw
    try:
        hours = Decimal(str(raw))
    except InvalidOperation:
        errors.append(f"{key}: expected a number of hours, got {raw!r}")
        return raw
    if not hours.is_finite():
        errors.append(f"{key}: expected a finite number of hours, got {raw!r}")
    return hours


def _parse_choice(key: str, raw: Any, errors: list[str]) -> Any:
    try:
        return LiberationDayPolicy(raw)
    except ValueError:
        choices = ", ".join(policy.value for policy in LiberationDayPolicy)
        errors.append(f"{key}: expected one of {choices}, got {raw!r}")
        return raw


_PARSERS = {
    "notice_days": _parse_int,
    "notice_time": _parse_time,
    "late_absence_allowed": _parse_bool,
    "swap_window_days": _parse_int,
    "max_swaps_per_year": _parse_optional_int,
    "swap_same_group": _parse_bool,
    "auto_approve_when_room": _parse_bool,
    "cancel_days": _parse_int,
    "cancel_time": _parse_time,
    "credit_enabled": _parse_bool,
    "credit_hours_per_daypart": _parse_hours,
    "credit_expiry_months": _parse_int,
    "extra_day_may_spend_credit": _parse_bool,
}


@dataclass(frozen=True)
class ChildContext:
    """A child's placements, the closing days of its location and all its requests."""

    placements: Sequence[Placement]
    closing_days: Sequence[ClosingDay] = ()
    requests: Sequence[DayRequest] = ()


def local_now(now: datetime) -> datetime:
    """Convert `now` to Europe/Amsterdam; raises ValueError for a naive datetime."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now.astimezone(AMSTERDAM)


def deadline(day: date, days_before: int, at: time) -> datetime:
    """Compute the deadline `days_before` calendar days before `day` at local time `at`.

    The days are counted on the calendar, not as 24-hour periods, so the deadline keeps its
    wall-clock time across a daylight-saving change. A time that does not exist on the spring
    transition day (02:00-02:59) is read with the winter offset (PEP 495 fold=0) and falls one
    hour later in summer time; an ambiguous autumn time takes its first (summer-time) occurrence.
    The result is in UTC.
    """
    local = datetime.combine(day - timedelta(days=days_before), at, tzinfo=AMSTERDAM)
    # Returned in UTC: under PEP 495 a datetime inside the gap or fold never compares equal
    # to one in another zone, which would make equality checks on deadlines unreliable.
    return local.astimezone(UTC)


def notice_deadline(rules: OrganisationRules, day: date) -> datetime:
    return deadline(day, rules.notice_days, rules.notice_time)


def cancel_deadline(rules: OrganisationRules, day: date) -> datetime:
    return deadline(day, rules.cancel_days, rules.cancel_time)


def announced_in_time(rules: OrganisationRules, now: datetime, day: date) -> bool:
    """Return whether an absence announced at `now` meets the notice deadline and so earns credit."""
    return local_now(now) <= notice_deadline(rules, day)


def _after_deadline(limit: datetime) -> Rejection:
    return Rejection(RejectionCode.AFTER_DEADLINE, {"deadline": limit})


def _check_not_past(today: date, day: date) -> Rejection | None:
    if day < today:
        return Rejection(RejectionCode.PAST_DATE, {"day": day})
    return None


def _check_care_active(context: ChildContext, day: date) -> Rejection | None:
    if not any(placement.active_on(day) for placement in context.placements):
        return Rejection(RejectionCode.CARE_ENDED, {"day": day})
    return None


def _check_open(rules: OrganisationRules, context: ChildContext, day: date) -> Rejection | None:
    for closing in context.closing_days:
        if closing.day == day and closing.group_id is None:
            return _closed(closing)

    holiday = holiday_on(day, rules.holiday_policy)
    if holiday is not None:
        return Rejection(
            RejectionCode.NATIONAL_HOLIDAY,
            {"day": day, "name_nl": holiday.name_nl, "name_en": holiday.name_en},
        )

    groups = {p.group_id for p in context.placements if p.active_on(day)}
    for closing in context.closing_days:
        if closing.day == day and closing.group_id in groups:
            return _closed(closing)
    return None


def _closed(closing: ClosingDay) -> Rejection:
    if closing.kind is ClosingKind.NATIONAL_HOLIDAY:
        return Rejection(
            RejectionCode.NATIONAL_HOLIDAY,
            {"day": closing.day, "name_nl": closing.name_nl, "name_en": closing.name_en},
        )
    return Rejection(RejectionCode.CLOSED_DAY, {"day": closing.day})


def _status(context: ChildContext, day: date, daypart: Daypart) -> DayStatus:
    return status_on(day, daypart, context.placements, context.closing_days, context.requests)


def _open_requests(context: ChildContext) -> list[DayRequest]:
    return [request for request in context.requests if request.state.is_open]


def _check_duplicate(
    context: ChildContext, kinds: set[RequestKind], day: date, daypart: Daypart
) -> Rejection | None:
    for request in _open_requests(context):
        if request.kind not in kinds:
            continue
        touched = [(request.day, request.daypart)]
        if request.given_up_day is not None and request.given_up_daypart is not None:
            touched.append((request.given_up_day, request.given_up_daypart))
        if any(d == day and part.overlaps(daypart) for d, part in touched):
            return Rejection(
                RejectionCode.DUPLICATE_REQUEST, {"day": day, "request_id": request.request_id}
            )
    return None


def _first(*checks: Rejection | None) -> Rejection | None:
    return next((check for check in checks if check is not None), None)


_ABSENCE_KINDS = {RequestKind.ILLNESS, RequestKind.HOLIDAY, RequestKind.ABSENCE_OTHER}


def check_absence(
    rules: OrganisationRules,
    now: datetime,
    context: ChildContext,
    day: date,
    daypart: Daypart,
) -> Rejection | None:
    """Check a holiday or other planned absence for a day the child is planned."""
    today = local_now(now).date()

    rejection = _first(
        _check_not_past(today, day),
        _check_care_active(context, day),
        _check_open(rules, context, day),
    )
    if rejection is not None:
        return rejection

    rejection = _check_duplicate(context, _ABSENCE_KINDS | {RequestKind.SWAP_DAY}, day, daypart)
    if rejection is not None:
        return rejection

    if not _status(context, day, daypart).is_present:
        return Rejection(RejectionCode.NOT_PLANNED, {"day": day})

    if not rules.late_absence_allowed and not announced_in_time(rules, now, day):
        return _after_deadline(notice_deadline(rules, day))
    return None


def check_illness(
    rules: OrganisationRules,
    now: datetime,
    context: ChildContext,
    day: date,
    daypart: Daypart,
) -> Rejection | None:
    """Check an illness report: allowed for today and later, without a notice deadline."""
    today = local_now(now).date()

    rejection = _first(
        _check_not_past(today, day),
        _check_care_active(context, day),
        _check_open(rules, context, day),
    )
    if rejection is not None:
        return rejection

    rejection = _check_duplicate(context, {RequestKind.ILLNESS}, day, daypart)
    if rejection is not None:
        return rejection

    if not _status(context, day, daypart).is_present:
        return Rejection(RejectionCode.NOT_PLANNED, {"day": day})
    return None


def check_extra_day(
    rules: OrganisationRules,
    now: datetime,
    context: ChildContext,
    day: date,
    daypart: Daypart,
    capacity: CapacityDecision | None = None,
    spend_credit_hours: Decimal | None = None,
    credit_balance: Decimal = Decimal(0),
) -> Rejection | None:
    """Check an extra day; `capacity` is the group's decision for one more child.

    Pass `spend_credit_hours` when the parent pays with credit hours, with the current balance.
    """
    today = local_now(now).date()

    rejection = _first(
        _check_not_past(today, day),
        _check_care_active(context, day),
        _check_open(rules, context, day),
    )
    if rejection is not None:
        return rejection

    added_care = {RequestKind.EXTRA_DAY, RequestKind.SWAP_DAY}
    rejection = _check_duplicate(context, added_care, day, daypart)
    if rejection is not None:
        return rejection

    if _status(context, day, daypart).is_present:
        return Rejection(RejectionCode.ALREADY_PLANNED, {"day": day})

    if local_now(now) > notice_deadline(rules, day):
        return _after_deadline(notice_deadline(rules, day))

    if spend_credit_hours is not None:
        if not (rules.credit_enabled and rules.extra_day_may_spend_credit):
            return Rejection(RejectionCode.CREDIT_NOT_ALLOWED, {})
        if credit_balance < spend_credit_hours:
            return Rejection(
                RejectionCode.INSUFFICIENT_CREDIT,
                {"available": credit_balance, "requested": spend_credit_hours},
            )

    if capacity is not None:
        return capacity.rejection()
    return None


def check_swap(
    rules: OrganisationRules,
    now: datetime,
    context: ChildContext,
    given_up_day: date,
    given_up_daypart: Daypart,
    new_day: date,
    new_daypart: Daypart,
    new_group_id: str | None = None,
    capacity: CapacityDecision | None = None,
) -> Rejection | None:
    """Check a swap: give up a planned contract day and take `new_day` instead.

    A `new_group_id` of None means the group of the day given up. Pass as `capacity` the
    decision for one more child in the new group on the new day.
    """
    local = local_now(now)
    today = local.date()

    for day in (given_up_day, new_day):
        rejection = _first(
            _check_not_past(today, day),
            _check_care_active(context, day),
            _check_open(rules, context, day),
        )
        if rejection is not None:
            return rejection

    added_care = {RequestKind.SWAP_DAY, RequestKind.EXTRA_DAY}
    rejection = _first(
        _check_duplicate(context, added_care | _ABSENCE_KINDS, given_up_day, given_up_daypart),
        _check_duplicate(context, added_care, new_day, new_daypart),
    )
    if rejection is not None:
        return rejection

    if _status(context, given_up_day, given_up_daypart) is not DayStatus.PLANNED:
        return Rejection(RejectionCode.NOT_PLANNED, {"day": given_up_day})

    if abs((new_day - given_up_day).days) > rules.swap_window_days:
        return Rejection(RejectionCode.SWAP_OUTSIDE_WINDOW, {"days": rules.swap_window_days})

    given_up_group = _group_of(context, given_up_day)
    if rules.swap_same_group and new_group_id not in (None, given_up_group):
        return Rejection(RejectionCode.SWAP_OTHER_GROUP, {"day": new_day})

    if _status(context, new_day, new_daypart).is_present:
        return Rejection(RejectionCode.SWAP_DAY_ALREADY_PLANNED, {"day": new_day})

    earliest = min(given_up_day, new_day)
    if local > notice_deadline(rules, earliest):
        return _after_deadline(notice_deadline(rules, earliest))

    if rules.max_swaps_per_year is not None:
        used = sum(
            1
            for request in _open_requests(context)
            if request.kind is RequestKind.SWAP_DAY
            and request.given_up_day is not None
            and request.given_up_day.year == given_up_day.year
        )
        if used >= rules.max_swaps_per_year:
            return Rejection(
                RejectionCode.SWAP_LIMIT_REACHED,
                {"max_swaps": rules.max_swaps_per_year, "year": given_up_day.year},
            )

    if capacity is not None:
        return capacity.rejection()
    return None


def _group_of(context: ChildContext, day: date) -> str | None:
    for placement in context.placements:
        if placement.active_on(day):
            return placement.group_id
    return None


def check_cancel(
    rules: OrganisationRules, now: datetime, request: DayRequest
) -> Rejection | None:
    """Check that a parent may cancel a request.

    An illness is ended with a recovery notice, not cancelled. The deadline applies to the
    earliest day the request touches.
    """
    local = local_now(now)

    if not request.state.is_open or request.kind is RequestKind.ILLNESS:
        return Rejection(RejectionCode.NOT_CANCELLABLE, {"state": request.state.value})

    days = [request.day]
    if request.given_up_day is not None:
        days.append(request.given_up_day)
    earliest = min(days)

    if earliest < local.date():
        return Rejection(RejectionCode.PAST_DATE, {"day": earliest})
    if local > cancel_deadline(rules, earliest):
        return _after_deadline(cancel_deadline(rules, earliest))
    return None
