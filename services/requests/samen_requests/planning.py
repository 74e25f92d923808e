"""Turn stored rows into the domain's objects, and compute a group's room on a day.

Every function reads through the caller's session and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import structlog
from sqlalchemy.orm import Session

from samen_requests import queries
from samen_requests.domain.enums import CareType, Daypart, RequestKind, RequestState
from samen_requests.domain.ratio import Age, CapacityDecision, age_on, fits, required_staff
from samen_requests.domain.rules import ChildContext, OrganisationRules, RulesError
from samen_requests.domain.schedule import (
    ChildPlanning,
    ClosingDay,
    DayRequest,
    Occupancy,
    Placement,
    group_occupancy,
    national_holiday_closures,
)
from samen_requests.domain.enums import ClosingKind
from samen_requests.models import ClosingDayRow, GroupCopy, PlacementCopy, Request

log = structlog.get_logger(__name__)

# An absence without a daypart covers every slot of its days: WHOLE_DAY overlaps the morning
# and the afternoon, and out-of-school dayparts only overlap themselves.
EVERY_DAYPART = (Daypart.WHOLE_DAY, Daypart.BEFORE_SCHOOL, Daypart.AFTER_SCHOOL, Daypart.HOLIDAY)

# Dayparts shown in capacity views, per care type of the group.
CAPACITY_DAYPARTS = {
    CareType.DAYCARE: (Daypart.MORNING, Daypart.AFTERNOON),
    CareType.BEFORE_SCHOOL: (Daypart.BEFORE_SCHOOL,),
    CareType.AFTER_SCHOOL: (Daypart.AFTER_SCHOOL,),
    CareType.HOLIDAY_CARE: (Daypart.HOLIDAY,),
}


def rules_of(session: Session, organisation_id: uuid.UUID) -> OrganisationRules:
    """Return the organisation's rules, or the defaults when none are stored."""
    row = queries.rules_document(session, organisation_id)
    if row is None:
        return OrganisationRules()
    try:
        return OrganisationRules.from_dict(row.document)
    except RulesError as exc:
        # set_rules validates every document, so this only happens after a domain change.
        log.error("rules.invalid_stored_document", organisation_id=str(organisation_id), errors=exc.errors)
        return OrganisationRules()


def to_placement(row: PlacementCopy) -> Placement:
    dayparts = frozenset(Daypart(value) for value in row.dayparts)
    return Placement(
        group_id=str(row.group_id),
        care_type=CareType(row.care_type),
        weekdays={iso - 1: dayparts for iso in row.weekdays},
        start=row.start_date,
        end=row.end_date,
    )


def to_day_requests(row: Request, start: date, end: date) -> list[DayRequest]:
    """Expand a stored request into the domain's per-day requests between start and end."""
    kind = RequestKind(row.kind)
    state = RequestState(row.state)
    common = {"request_id": str(row.id), "kind": kind, "state": state, "submitted_at": row.submitted_at}

    if kind is RequestKind.EXTRA_DAY:
        return [DayRequest(day=row.start_date, daypart=Daypart(row.daypart), group_id=str(row.group_id), **common)]
    if kind is RequestKind.SWAP_DAY:
        return [
            DayRequest(
                day=row.start_date, daypart=Daypart(row.daypart), group_id=str(row.group_id),
                given_up_day=row.given_up_date, given_up_daypart=Daypart(row.given_up_daypart), **common,
            )
        ]

    dayparts = (Daypart(row.daypart),) if row.daypart else EVERY_DAYPART
    first = max(row.start_date, start)
    last = min(row.end_date or end, end)
    result = []
    day = first
    while day <= last:
        result.extend(DayRequest(day=day, daypart=part, **common) for part in dayparts)
        day += timedelta(days=1)
    return result


def to_closing_day(row: ClosingDayRow) -> ClosingDay:
    return ClosingDay(
        day=row.day, kind=ClosingKind(row.kind), group_id=str(row.group_id) if row.group_id else None,
        name_en=row.name_en, name_nl=row.name_nl,
    )


def closing_days(
    session: Session, rules: OrganisationRules, location_ids: Iterable[uuid.UUID], start: date, end: date
) -> list[ClosingDay]:
    """Return stored closures of the locations plus the national holidays, start to end."""
    stored = [to_closing_day(row) for row in queries.closing_days_of_locations(session, location_ids, start, end)]
    return stored + national_holiday_closures(start, end, rules.holiday_policy)


@dataclass
class ChildState:
    """What the rules need about one child, loaded for a window of dates."""

    child_id: uuid.UUID
    organisation_id: uuid.UUID | None
    birth_date: date | None
    placement_rows: list[PlacementCopy]
    request_rows: list[Request]
    groups: dict[uuid.UUID, GroupCopy]
    rules: OrganisationRules
    context: ChildContext
    start: date
    end: date

    def group_on(self, day: date) -> GroupCopy | None:
        """Return the group of the placement active on `day`, or None."""
        for row in self.placement_rows:
            if row.start_date <= day and (row.end_date is None or day <= row.end_date):
                return self.groups.get(row.group_id)
        return None

    def latest_group(self) -> GroupCopy | None:
        if not self.placement_rows:
            return None
        return self.groups.get(self.placement_rows[-1].group_id)


def load_child(session: Session, child_id: uuid.UUID, start: date, end: date) -> ChildState | None:
    """Load a child's placements, requests, rules and closing days for start to end.

    Returns None for a child this service has no placement of. Every stored request is
    loaded because the swap limit counts the swaps of a whole year.
    """
    placement_rows = queries.placements_of_children(session, [child_id])
    if not placement_rows:
        return None
    child = queries.children_by_ids(session, [child_id]).get(child_id)
    groups = queries.groups_by_ids(session, {row.group_id for row in placement_rows})
    organisation_id = child.organisation_id if child else next(iter(groups.values())).organisation_id
    rules = rules_of(session, organisation_id)
    request_rows = queries.requests_of_children(session, [child_id])

    years_back = start - timedelta(days=366)
    day_requests: list[DayRequest] = []
    for row in request_rows:
        day_requests.extend(to_day_requests(row, min(years_back, start), end))

    context = ChildContext(
        placements=[to_placement(row) for row in placement_rows],
        closing_days=closing_days(session, rules, {g.location_id for g in groups.values()}, start, end),
        requests=day_requests,
    )
    return ChildState(
        child_id=child_id, organisation_id=organisation_id, birth_date=child.birth_date if child else None,
        placement_rows=placement_rows, request_rows=request_rows, groups=groups, rules=rules,
        context=context, start=start, end=end,
    )


@dataclass
class GroupDay:
    """Occupancy of a group on one day and daypart, with the staff on the roster."""

    group: GroupCopy
    day: date
    daypart: Daypart
    occupancy: Occupancy
    ages: list[Age]
    staff_on_roster: int | None
    closed: bool

    @property
    def staff_required(self) -> int:
        return required_staff(self.ages, CareType(self.group.care_type))

    def decision_for(self, new_child_age: Age) -> CapacityDecision:
        """Decide whether one more child fits; without a roster only the maximum size counts."""
        care_type = CareType(self.group.care_type)
        if self.staff_on_roster is None:
            # NOTE: a day without roster entries is checked against the maximum size only,
            # because a missing roster means no staff data, not zero staff.
            staff = required_staff([*self.ages, new_child_age], care_type)
        else:
            staff = self.staff_on_roster
        return fits(self.group.max_size, staff, self.ages, new_child_age, care_type)


def safe_age(birth_date: date | None, day: date, care_type: CareType) -> Age:
    """Return the child's age on `day`, within the bands the care type's ratio table knows."""
    if birth_date is None or day < birth_date:
        return Age(4) if care_type.is_out_of_school else Age(0)
    age = age_on(birth_date, day)
    if care_type.is_out_of_school and age.years < 4:
        log.warning("ratio.child_too_young_for_out_of_school", age_years=age.years)
        return Age(4)
    return age


def group_days(
    session: Session, group: GroupCopy, start: date, end: date, dayparts: Sequence[Daypart] | None = None
) -> list[GroupDay]:
    """Compute the occupancy of a group for every day from start to end and each daypart."""
    care_type = CareType(group.care_type)
    parts = tuple(dayparts or CAPACITY_DAYPARTS[care_type])
    rules = rules_of(session, group.organisation_id)
    child_ids = queries.children_placed_in_group(session, group.id, start, end)
    child_ids |= queries.children_booked_into_group(session, group.id, start, end)

    placements: dict[uuid.UUID, list[Placement]] = {}
    for row in queries.placements_of_children(session, child_ids):
        placements.setdefault(row.child_id, []).append(to_placement(row))
    requests: dict[uuid.UUID, list[DayRequest]] = {}
    for row in queries.requests_of_children(session, child_ids):
        requests.setdefault(row.child_id, []).extend(to_day_requests(row, start, end))
    children = queries.children_by_ids(session, child_ids)
    plannings = [
        ChildPlanning(
            child_id=str(child_id),
            birth_date=children[child_id].birth_date if child_id in children else None,
            placements=placements.get(child_id, []),
            requests=requests.get(child_id, []),
        )
        for child_id in sorted(child_ids, key=str)
    ]
    closings = closing_days(session, rules, [group.location_id], start, end)
    rosters = queries.rosters_between(session, group.id, start, end)

    result = []
    day = start
    while day <= end:
        closed = any(c.day == day and c.applies_to(str(group.id)) for c in closings)
        roster = rosters.get(day)
        for part in parts:
            occupancy = group_occupancy(str(group.id), day, part, plannings, closings)
            ages = [safe_age(child.birth_date, day, care_type) for child in occupancy.present_children]
            result.append(
                GroupDay(group, day, part, occupancy, ages, roster.staff_count if roster else None, closed)
            )
        day += timedelta(days=1)
    return result
