"""A child's days and a group's occupancy, from placements, closing days and requests.

Which requests change the schedule: illness as soon as it is reported (submitted or approved),
every other kind once approved. Rejected, cancelled and waitlisted requests change nothing.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .enums import CareType, ClosingKind, Daypart, DayStatus, RequestKind, RequestState
from .holidays import HolidayPolicy, national_holidays

_HALVES = (Daypart.MORNING, Daypart.AFTERNOON)


@dataclass(frozen=True)
class Placement:
    """A child's contract in one group: dayparts per weekday (0 is Monday) from start to end.

    `end` is the last day of care (inclusive); None means open-ended.
    """

    group_id: str
    care_type: CareType
    weekdays: Mapping[int, frozenset[Daypart]]
    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"placement end {self.end} is before its start {self.start}")
        invalid = [weekday for weekday in self.weekdays if not 0 <= weekday <= 6]
        if invalid:
            raise ValueError(f"invalid weekday numbers {invalid}: use 0 (Monday) to 6 (Sunday)")

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def dayparts_on(self, day: date) -> frozenset[Daypart]:
        if not self.active_on(day):
            return frozenset()
        return frozenset(self.weekdays.get(day.weekday(), frozenset()))


@dataclass(frozen=True)
class ClosingDay:
    """A day on which a location, or only one group when `group_id` is set, is closed."""

    day: date
    kind: ClosingKind
    group_id: str | None = None
    name_en: str = ""
    name_nl: str = ""

    def applies_to(self, group_id: str) -> bool:
        return self.group_id is None or self.group_id == group_id


@dataclass(frozen=True)
class DayRequest:
    """A parent's request for one day and daypart.

    For an extra day, `day`, `daypart` and `group_id` describe the day asked for. For a swap they
    describe the day taken, and `given_up_day` and `given_up_daypart` the contract day given up.
    A missing `group_id` means the group of the child's placement.
    """

    request_id: str
    kind: RequestKind
    state: RequestState
    day: date
    daypart: Daypart
    group_id: str | None = None
    given_up_day: date | None = None
    given_up_daypart: Daypart | None = None
    submitted_at: datetime | None = None

    def __post_init__(self) -> None:
        is_swap = self.kind is RequestKind.SWAP_DAY
        has_given_up = self.given_up_day is not None and self.given_up_daypart is not None
        if is_swap != has_given_up:
            raise ValueError(
                f"request {self.request_id}: given_up_day and given_up_daypart are required "
                "for a swap day and not allowed for other kinds"
            )

    @property
    def in_effect(self) -> bool:
        """Whether the request changes the schedule."""
        if self.kind is RequestKind.ILLNESS:
            return self.state in (RequestState.SUBMITTED, RequestState.APPROVED)
        return self.state is RequestState.APPROVED


@dataclass(frozen=True)
class Slot:
    """One daypart of a child's day in a group: how it was booked and what it is now."""

    group_id: str
    daypart: Daypart
    booked_as: DayStatus
    status: DayStatus


def national_holiday_closures(
    start: date, end: date, policy: HolidayPolicy = HolidayPolicy()
) -> list[ClosingDay]:
    """List the national holidays between start and end (inclusive) as closing days."""
    closures = []
    for year in range(start.year, end.year + 1):
        for day, holiday in national_holidays(year, policy).items():
            if start <= day <= end:
                closures.append(
                    ClosingDay(
                        day,
                        ClosingKind.NATIONAL_HOLIDAY,
                        name_en=holiday.name_en,
                        name_nl=holiday.name_nl,
                    )
                )
    return closures


def _booked_slots(
    day: date, placements: Sequence[Placement], requests: Sequence[DayRequest]
) -> list[Slot]:
    slots = []
    for placement in placements:
        for daypart in sorted(placement.dayparts_on(day)):
            slots.append(Slot(placement.group_id, daypart, DayStatus.PLANNED, DayStatus.PLANNED))

    for request in requests:
        if not request.in_effect or request.day != day:
            continue
        if request.kind is RequestKind.EXTRA_DAY:
            booked_as = DayStatus.EXTRA
        elif request.kind is RequestKind.SWAP_DAY:
            booked_as = DayStatus.SWAPPED_IN
        else:
            continue
        group_id = request.group_id or _group_on(day, placements)
        slots.append(Slot(group_id, request.daypart, booked_as, booked_as))

    return slots


def _group_on(day: date, placements: Sequence[Placement]) -> str:
    for placement in placements:
        if placement.active_on(day):
            return placement.group_id
    if placements:
        return placements[0].group_id
    raise ValueError(f"no group for {day}: the request has no group_id and the child no placement")


def _split_whole_days(slots: list[Slot], parts_used: Iterable[Daypart]) -> list[Slot]:
    """Split whole-day slots into morning and afternoon when a request covers only one half."""
    if not any(part in _HALVES for part in parts_used):
        return slots

    result = []
    for slot in slots:
        if slot.daypart is Daypart.WHOLE_DAY:
            result.extend(
                Slot(slot.group_id, half, slot.booked_as, slot.status) for half in _HALVES
            )
        else:
            result.append(slot)
    return result


def child_slots(
    day: date,
    placements: Sequence[Placement],
    closing_days: Sequence[ClosingDay],
    requests: Sequence[DayRequest],
) -> list[Slot]:
    """Compute a child's slots on one day, with closing days and requests applied."""
    slots = _booked_slots(day, placements, requests)
    if not slots:
        return []

    effective = [request for request in requests if request.in_effect]
    absences = [r for r in effective if r.kind.is_absence and r.day == day]
    swaps_out = [
        r for r in effective if r.kind is RequestKind.SWAP_DAY and r.given_up_day == day
    ]
    parts_used = [r.daypart for r in absences] + [r.given_up_daypart for r in swaps_out]
    slots = _split_whole_days(slots, parts_used)
    closings = [closing for closing in closing_days if closing.day == day]

    result = []
    for slot in slots:
        result.append(
            Slot(
                slot.group_id,
                slot.daypart,
                slot.booked_as,
                _status(slot, closings, absences, swaps_out),
            )
        )
    return result


def _status(
    slot: Slot,
    closings: Sequence[ClosingDay],
    absences: Sequence[DayRequest],
    swaps_out: Sequence[DayRequest],
) -> DayStatus:
    if any(closing.applies_to(slot.group_id) for closing in closings):
        return DayStatus.CLOSED

    covering = [r for r in absences if r.daypart.overlaps(slot.daypart)]
    if any(r.kind is RequestKind.ILLNESS for r in covering):
        return DayStatus.ILL
    if covering:
        return DayStatus.ABSENT

    if slot.booked_as is DayStatus.PLANNED and any(
        r.given_up_daypart is not None and r.given_up_daypart.overlaps(slot.daypart)
        for r in swaps_out
    ):
        return DayStatus.SWAPPED_OUT

    return slot.booked_as


def child_calendar(
    start: date,
    end: date,
    placements: Sequence[Placement],
    closing_days: Sequence[ClosingDay],
    requests: Sequence[DayRequest],
) -> dict[date, list[Slot]]:
    """Compute a child's slots for every date from start to end (inclusive).

    A date without care maps to an empty list; `status_on` returns NOT_PLANNED or CLOSED for it.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")

    calendar = {}
    day = start
    while day <= end:
        calendar[day] = child_slots(day, placements, closing_days, requests)
        day += timedelta(days=1)
    return calendar


def status_on(
    day: date,
    daypart: Daypart,
    placements: Sequence[Placement],
    closing_days: Sequence[ClosingDay],
    requests: Sequence[DayRequest],
) -> DayStatus:
    """Return the child's status for one day and daypart.

    When the daypart overlaps several slots (a whole day asked for, halves stored), a present
    slot wins, and otherwise the morning.
    """
    matching = [
        slot
        for slot in child_slots(day, placements, closing_days, requests)
        if slot.daypart.overlaps(daypart)
    ]
    if matching:
        present = [slot for slot in matching if slot.status.is_present]
        return (present or matching)[0].status

    groups = {placement.group_id for placement in placements if placement.active_on(day)}
    for closing in closing_days:
        if closing.day != day:
            continue
        if not groups or any(closing.applies_to(group_id) for group_id in groups):
            return DayStatus.CLOSED
    return DayStatus.NOT_PLANNED


@dataclass(frozen=True)
class ChildPlanning:
    """A child's birth date, placements and requests, as the occupancy count needs them."""

    child_id: str
    birth_date: date
    placements: Sequence[Placement]
    requests: Sequence[DayRequest] = ()


@dataclass
class Occupancy:
    """Children counted in one group for one day and daypart.

    `present` equals contract + extra + swapped_in - absent - ill - swapped_out - closed.
    """

    contract: int = 0
    extra: int = 0
    swapped_in: int = 0
    absent: int = 0
    ill: int = 0
    swapped_out: int = 0
    closed: int = 0
    present_children: list[ChildPlanning] = field(default_factory=list)

    @property
    def present(self) -> int:
        return len(self.present_children)


_BOOKING_COUNTERS = {
    DayStatus.PLANNED: "contract",
    DayStatus.EXTRA: "extra",
    DayStatus.SWAPPED_IN: "swapped_in",
}
_STATUS_COUNTERS = {
    DayStatus.ABSENT: "absent",
    DayStatus.ILL: "ill",
    DayStatus.SWAPPED_OUT: "swapped_out",
    DayStatus.CLOSED: "closed",
}


def group_occupancy(
    group_id: str,
    day: date,
    daypart: Daypart,
    children: Sequence[ChildPlanning],
    closing_days: Sequence[ClosingDay],
) -> Occupancy:
    """Count the children in a group on a day and daypart, for capacity checks.

    A child counts once: as present when any of its slots overlapping the daypart is present.
    """
    occupancy = Occupancy()

    for child in children:
        slots = [
            slot
            for slot in child_slots(day, child.placements, closing_days, child.requests)
            if slot.group_id == group_id and slot.daypart.overlaps(daypart)
        ]
        if not slots:
            continue

        present = [slot for slot in slots if slot.status.is_present]
        slot = (present or slots)[0]
        booked_counter = _BOOKING_COUNTERS[slot.booked_as]
        setattr(occupancy, booked_counter, getattr(occupancy, booked_counter) + 1)

        if slot.status.is_present:
            occupancy.present_children.append(child)
        else:
            status_counter = _STATUS_COUNTERS[slot.status]
            setattr(occupancy, status_counter, getattr(occupancy, status_counter) + 1)

    return occupancy
