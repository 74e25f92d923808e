"""Staff-to-child ratio (beroepskracht-kindratio, BKR) for Dutch childcare groups.

Source: Besluit kwaliteit kinderopvang, Bijlage 1, as published on wetten.overheid.nl
(BWBR0039936, version of 2020-10-01). These tables are in force since 1 January 2019 under the
Wet innovatie en kwaliteit kinderopvang (IKK). Values used:

Daycare (Tabel 1), maximum children per number of staff:

    ages      1 staff  2 staff  3 staff                 4 staff
    0-1       3        6        9                       12
    1-2       5        10       15                      16
    2-3       8        16       -                       -
    3-4       8        16       -                       -
    0-2       4        8        14 (<= 8 under 1)       16 (<= 8 under 1)
    0-3       5        10       13 (<= 8) / 14 (<= 4) / 15 (<= 3 under 1)   16 (<= 8)
    0-4       5        12       14 (<= 8) / 15 (<= 5) / 16 (<= 3 under 1)   16 (<= 8)
    1-3       6        11       16                      -
    1-4       7        13       16                      -
    2-4       8        16       -                       -

Out-of-school care (Tabel 2): 4-7 years 10 / 20; 7 years to the end of primary school
12 / 24 / 30; mixed 4 years to the end of primary school 11 (<= 9 aged 4-7) / 22 (<= 18 aged 4-7).

Method implemented by `required_staff`:

1. Sort the children into age bands (daycare: 0, 1, 2 and 3 years; out-of-school care: 4-6
   and 7 and older) and take the table row spanning the youngest to the oldest band present.
2. Take the smallest staff count whose column allows the number of children and, where the
   column has a footnote, the number of children in the youngest band.
3. When the row has no such column (more children than the table covers), sum one
   staff fraction per child from the single-age ratios (1/3, 1/5, 1/8, 1/8; out of school
   1/10 and 1/12) and round up.
4. For daycare, never return fewer staff than one per three children under 1 year.

NOTE: the Bijlage also lists "aanvullende rekenregels" that apply after Tabel 1. Their text was
not available, so only the tables are implemented, and step 4 is a conservative guard taken from
the single-age 0-1 row rather than a quoted rule. A 2023 draft amendment of the out-of-school
ratios was seen but not checked. Compare results with the government tool on 1ratio.nl before
relying on them for inspections.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction

from .enums import CareType, RejectionCode
from .rejection import Rejection


@dataclass(frozen=True, order=True)
class Age:
    """Age in completed years and months."""

    years: int
    months: int = 0

    def __post_init__(self) -> None:
        if self.years < 0 or not 0 <= self.months < 12:
            raise ValueError(f"invalid age: {self.years} years and {self.months} months")


def age_on(birth_date: date, day: date) -> Age:
    """Compute the age in completed years and months on a day.

    A child born on 29 February turns a year older on 1 March in non-leap years, because the
    birthday is compared as (month, day) and 28 February comes before 29 February.
    Raises ValueError when the day is before the birth date.
    """
    if day < birth_date:
        raise ValueError(f"day {day} is before birth date {birth_date}")

    months = (day.year - birth_date.year) * 12 + (day.month - birth_date.month)
    if day.day < birth_date.day:
        months -= 1

    years, rest = divmod(months, 12)
    return Age(years, rest)


@dataclass(frozen=True)
class _Column:
    max_children: int
    max_youngest: int | None = None


# Row key: (youngest band, oldest band). Value: per staff count, the allowed compositions.
_Table = dict[tuple[int, int], dict[int, tuple[_Column, ...]]]


def _simple(*limits: int) -> dict[int, tuple[_Column, ...]]:
    return {staff: (_Column(limit),) for staff, limit in enumerate(limits, start=1)}


_DAYCARE_TABLE: _Table = {
    (0, 0): _simple(3, 6, 9, 12),
    (1, 1): _simple(5, 10, 15, 16),
    (2, 2): _simple(8, 16),
    (3, 3): _simple(8, 16),
    (0, 1): {
        1: (_Column(4),),
        2: (_Column(8),),
        3: (_Column(14, 8),),
        4: (_Column(16, 8),),
    },
    (0, 2): {
        1: (_Column(5),),
        2: (_Column(10),),
        3: (_Column(13, 8), _Column(14, 4), _Column(15, 3)),
        4: (_Column(16, 8),),
    },
    (0, 3): {
        1: (_Column(5),),
        2: (_Column(12),),
        3: (_Column(14, 8), _Column(15, 5), _Column(16, 3)),
        4: (_Column(16, 8),),
    },
    (1, 2): _simple(6, 11, 16),
    (1, 3): _simple(7, 13, 16),
    (2, 3): _simple(8, 16),
}
_DAYCARE_SINGLE_AGE = {0: 3, 1: 5, 2: 8, 3: 8}
_DAYCARE_INFANTS_PER_STAFF = 3

_OUT_OF_SCHOOL_TABLE: _Table = {
    (0, 0): _simple(10, 20),
    (1, 1): _simple(12, 24, 30),
    (0, 1): {
        1: (_Column(11, 9),),
        2: (_Column(22, 18),),
    },
}
_OUT_OF_SCHOOL_SINGLE_AGE = {0: 10, 1: 12}
_OUT_OF_SCHOOL_MIN_YEARS = 4
_OUT_OF_SCHOOL_OLDER_FROM_YEARS = 7


def _band(age: Age, care_type: CareType) -> int:
    if care_type.is_out_of_school:
        if age.years < _OUT_OF_SCHOOL_MIN_YEARS:
            raise ValueError(
                f"a child aged {age.years} cannot be counted in out-of-school care (from 4 years)"
            )
        return 0 if age.years < _OUT_OF_SCHOOL_OLDER_FROM_YEARS else 1

    # NOTE: a child past its fourth birthday who still attends daycare is counted in the 3-4
    # band, because Tabel 1 stops at 4 years.
    return min(age.years, 3)


def _table_lookup(table: _Table, bands: Counter[int]) -> int | None:
    youngest, oldest = min(bands), max(bands)
    total = sum(bands.values())
    in_youngest = bands[youngest]

    for staff, columns in sorted(table[(youngest, oldest)].items()):
        for column in columns:
            if total > column.max_children:
                continue
            if column.max_youngest is not None and in_youngest > column.max_youngest:
                continue
            return staff
    return None


def _fractional_staff(single_age: dict[int, int], bands: Counter[int]) -> int:
    needed = sum((Fraction(count, single_age[band]) for band, count in bands.items()), Fraction())
    return math.ceil(needed)


def required_staff(children_ages: Sequence[Age], care_type: CareType) -> int:
    """Compute the minimum number of staff for the children present in one group.

    Raises ValueError for an age that does not fit the care type (under 4 in out-of-school care).
    """
    if not children_ages:
        return 0

    bands = Counter(_band(age, care_type) for age in children_ages)

    if care_type.is_out_of_school:
        table, single_age = _OUT_OF_SCHOOL_TABLE, _OUT_OF_SCHOOL_SINGLE_AGE
    else:
        table, single_age = _DAYCARE_TABLE, _DAYCARE_SINGLE_AGE

    staff = _table_lookup(table, bands)
    if staff is None:
        staff = _fractional_staff(single_age, bands)

    if not care_type.is_out_of_school:
        staff = max(staff, math.ceil(bands[0] / _DAYCARE_INFANTS_PER_STAFF))

    return staff


class CapacityReason(StrEnum):
    """Outcome of a capacity check."""

    #: The child fits in the group.
    OK = "ok"
    #: The group has reached its configured maximum size.
    GROUP_FULL = "group_full"
    #: The rostered staff are too few for the children with the new child added.
    RATIO_EXCEEDED = "ratio_exceeded"


@dataclass(frozen=True)
class CapacityDecision:
    """Whether one more child fits in a group on a day and daypart, and why."""

    reason: CapacityReason
    group_max_size: int
    children_after: int
    staff_required: int
    staff_on_roster: int

    @property
    def allowed(self) -> bool:
        return self.reason is CapacityReason.OK

    def rejection(self) -> Rejection | None:
        """Convert a negative decision into a rejection with message parameters."""
        if self.allowed:
            return None
        if self.reason is CapacityReason.GROUP_FULL:
            return Rejection(RejectionCode.GROUP_FULL, {"max_size": self.group_max_size})
        return Rejection(
            RejectionCode.RATIO_EXCEEDED,
            {"staff_required": self.staff_required, "staff_on_roster": self.staff_on_roster},
        )


def fits(
    group_max_size: int,
    staff_on_roster: int,
    ages_planned: Sequence[Age],
    age_of_new_child: Age,
    care_type: CareType,
) -> CapacityDecision:
    """Decide whether one more child fits: first by group size, then by staff-to-child ratio."""
    if group_max_size < 0 or staff_on_roster < 0:
        raise ValueError(
            f"group_max_size ({group_max_size}) and staff_on_roster ({staff_on_roster}) "
            "must not be negative"
        )

    ages_after = [*ages_planned, age_of_new_child]
    staff_required = required_staff(ages_after, care_type)

    if len(ages_after) > group_max_size:
        reason = CapacityReason.GROUP_FULL
    elif staff_required > staff_on_roster:
        reason = CapacityReason.RATIO_EXCEEDED
    else:
        reason = CapacityReason.OK

    return CapacityDecision(
        reason=reason,
        group_max_size=group_max_size,
        children_after=len(ages_after),
        staff_required=staff_required,
        staff_on_roster=staff_on_roster,
    )
