from datetime import date

import pytest

from samen_requests.domain.enums import (
    CareType,
    ClosingKind,
    Daypart,
    DayStatus,
    RequestKind,
    RequestState,
)
from samen_requests.domain.schedule import (
    ChildPlanning,
    ClosingDay,
    DayRequest,
    Placement,
    child_calendar,
    group_occupancy,
    national_holiday_closures,
    status_on,
)

WHOLE = Daypart.WHOLE_DAY
MONDAY = date(2025, 1, 20)
APPROVED = RequestState.APPROVED


def placement(group="g1", weekdays=(0,), part=WHOLE, end=None) -> Placement:
    return Placement(
        group,
        CareType.DAYCARE,
        {weekday: frozenset({part}) for weekday in weekdays},
        start=date(2024, 9, 1),
        end=end,
    )


def absence(kind, day, part=WHOLE, state=APPROVED, request_id="r1") -> DayRequest:
    return DayRequest(request_id, kind, state, day, part)


def test_status_planned_and_not_planned():
    placements = [placement(weekdays=(0, 1))]

    assert status_on(MONDAY, WHOLE, placements, [], []) is DayStatus.PLANNED
    assert status_on(MONDAY, Daypart.MORNING, placements, [], []) is DayStatus.PLANNED
    assert status_on(date(2025, 1, 22), WHOLE, placements, [], []) is DayStatus.NOT_PLANNED


def test_status_after_placement_end():
    placements = [placement(end=date(2025, 1, 19))]

    assert status_on(MONDAY, WHOLE, placements, [], []) is DayStatus.NOT_PLANNED


def test_status_closed_wins_over_illness():
    closing = [ClosingDay(MONDAY, ClosingKind.AD_HOC)]
    ill = [absence(RequestKind.ILLNESS, MONDAY)]

    assert status_on(MONDAY, WHOLE, [placement()], closing, ill) is DayStatus.CLOSED


def test_status_illness_counts_before_approval():
    ill = [absence(RequestKind.ILLNESS, MONDAY, state=RequestState.SUBMITTED)]
    holiday = [absence(RequestKind.HOLIDAY, MONDAY, state=RequestState.SUBMITTED)]

    assert status_on(MONDAY, WHOLE, [placement()], [], ill) is DayStatus.ILL
    assert status_on(MONDAY, WHOLE, [placement()], [], holiday) is DayStatus.PLANNED


def test_status_half_day_absence_splits_whole_day():
    requests = [absence(RequestKind.HOLIDAY, MONDAY, Daypart.MORNING)]

    calendar = child_calendar(MONDAY, MONDAY, [placement()], [], requests)
    assert [(slot.daypart, slot.status) for slot in calendar[MONDAY]] == [
        (Daypart.MORNING, DayStatus.ABSENT),
        (Daypart.AFTERNOON, DayStatus.PLANNED),
    ]
    assert status_on(MONDAY, WHOLE, [placement()], [], requests) is DayStatus.PLANNED


def test_calendar_swap_across_month_boundary():
    swap = DayRequest(
        "s1", RequestKind.SWAP_DAY, APPROVED, date(2025, 2, 3), WHOLE,
        given_up_day=date(2025, 1, 30), given_up_daypart=WHOLE,
    )
    placements = [placement(weekdays=(3,))]

    calendar = child_calendar(date(2025, 1, 29), date(2025, 2, 3), placements, [], [swap])
    statuses = {day: [slot.status for slot in slots] for day, slots in calendar.items()}
    assert statuses == {
        date(2025, 1, 29): [],
        date(2025, 1, 30): [DayStatus.SWAPPED_OUT],
        date(2025, 1, 31): [],
        date(2025, 2, 1): [],
        date(2025, 2, 2): [],
        date(2025, 2, 3): [DayStatus.SWAPPED_IN],
    }


def test_calendar_extra_day_in_other_group():
    extra = DayRequest("x1", RequestKind.EXTRA_DAY, APPROVED, date(2025, 1, 22), WHOLE, "g2")

    slots = child_calendar(date(2025, 1, 22), date(2025, 1, 22), [placement()], [], [extra])
    assert [(s.group_id, s.status) for s in slots[date(2025, 1, 22)]] == [("g2", DayStatus.EXTRA)]


def test_calendar_rejects_reversed_range():
    with pytest.raises(ValueError, match="before start"):
        child_calendar(MONDAY, date(2025, 1, 19), [placement()], [], [])


def test_status_closed_unplanned_day():
    closing = [ClosingDay(date(2025, 1, 22), ClosingKind.PLANNED)]

    assert status_on(date(2025, 1, 22), WHOLE, [placement()], closing, []) is DayStatus.CLOSED


def test_holiday_closures_in_range():
    closures = national_holiday_closures(date(2025, 12, 20), date(2026, 1, 5))

    assert [closing.day for closing in closures] == [
        date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1),
    ]
    assert closures[0].kind is ClosingKind.NATIONAL_HOLIDAY
    assert closures[0].name_nl == "Eerste kerstdag"


def test_swap_request_requires_given_up_day():
    with pytest.raises(ValueError, match="given_up_day"):
        DayRequest("s1", RequestKind.SWAP_DAY, APPROVED, MONDAY, WHOLE)


def child(child_id, requests=(), group="g1", part=WHOLE) -> ChildPlanning:
    return ChildPlanning(child_id, date(2023, 1, 1), [placement(group, part=part)], requests)


def test_group_occupancy_formula():
    swap_out = DayRequest(
        "s1", RequestKind.SWAP_DAY, APPROVED, date(2025, 1, 22), WHOLE,
        given_up_day=MONDAY, given_up_daypart=WHOLE,
    )
    swap_in = DayRequest(
        "s2", RequestKind.SWAP_DAY, APPROVED, MONDAY, WHOLE, "g1",
        given_up_day=date(2025, 1, 21), given_up_daypart=WHOLE,
    )
    extra = DayRequest("x1", RequestKind.EXTRA_DAY, APPROVED, MONDAY, WHOLE, "g1")
    children = [
        child("planned"),
        child("morning-only", part=Daypart.MORNING),
        child("absent", [absence(RequestKind.HOLIDAY, MONDAY)]),
        child("ill", [absence(RequestKind.ILLNESS, MONDAY)]),
        child("swapped-out", [swap_out]),
        ChildPlanning("swapped-in", date(2023, 1, 1), [placement(weekdays=(1,))], [swap_in]),
        ChildPlanning("extra", date(2023, 1, 1), [placement(weekdays=(2,))], [extra]),
        child("other-group", group="g2"),
    ]

    occupancy = group_occupancy("g1", MONDAY, Daypart.AFTERNOON, children, [])

    assert occupancy.contract == 4
    assert occupancy.extra == 1
    assert occupancy.swapped_in == 1
    assert occupancy.absent == 1
    assert occupancy.ill == 1
    assert occupancy.swapped_out == 1
    assert occupancy.present == 3
    assert sorted(c.child_id for c in occupancy.present_children) == [
        "extra", "planned", "swapped-in",
    ]
    morning = group_occupancy("g1", MONDAY, Daypart.MORNING, children, [])
    assert morning.present == 4


def test_group_occupancy_closed_day():
    closing = [ClosingDay(MONDAY, ClosingKind.AD_HOC, group_id="g1")]

    occupancy = group_occupancy("g1", MONDAY, WHOLE, [child("a"), child("b")], closing)
    assert occupancy.present == 0
    assert occupancy.closed == 2
