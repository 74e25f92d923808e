from datetime import date

import pytest

from samen_requests.domain.enums import CareType, RejectionCode
from samen_requests.domain.ratio import Age, CapacityReason, age_on, fits, required_staff

DAYCARE = CareType.DAYCARE
AFTER_SCHOOL = CareType.AFTER_SCHOOL


def ages(*years: int) -> list[Age]:
    return [Age(year) for year in years]


def test_age_on_counts_completed_years_and_months():
    assert age_on(date(2022, 5, 15), date(2025, 5, 14)) == Age(2, 11)
    assert age_on(date(2022, 5, 15), date(2025, 5, 15)) == Age(3, 0)
    assert age_on(date(2025, 1, 31), date(2025, 2, 28)) == Age(0, 0)


def test_age_on_leap_day_birthday_in_common_year():
    born = date(2020, 2, 29)

    assert age_on(born, date(2021, 2, 28)) == Age(0, 11)
    assert age_on(born, date(2021, 3, 1)) == Age(1, 0)


def test_age_on_leap_day_birthday_in_leap_year():
    born = date(2020, 2, 29)

    assert age_on(born, date(2024, 2, 28)) == Age(3, 11)
    assert age_on(born, date(2024, 2, 29)) == Age(4, 0)


def test_age_on_rejects_day_before_birth():
    with pytest.raises(ValueError, match="before birth date"):
        age_on(date(2025, 1, 2), date(2025, 1, 1))


@pytest.mark.parametrize(
    ("years", "count", "expected"),
    [
        (0, 3, 1),
        (0, 4, 2),
        (0, 12, 4),
        (1, 5, 1),
        (1, 6, 2),
        (1, 15, 3),
        (2, 8, 1),
        (2, 9, 2),
        (3, 16, 2),
    ],
)
def test_required_staff_single_age_groups(years, count, expected):
    assert required_staff([Age(years)] * count, DAYCARE) == expected


def test_required_staff_empty_group():
    assert required_staff([], DAYCARE) == 0


def test_required_staff_mixed_zero_to_two():
    # Four children aged 0-2 need one member of staff; two babies and two one-year-olds.
    assert required_staff(ages(0, 0, 1, 1), DAYCARE) == 1
    assert required_staff(ages(0, 0, 1, 1, 1), DAYCARE) == 2


def test_required_staff_mixed_footnote_on_babies():
    # 0-3 years, 14 children: three staff allow at most four babies.
    four_babies = ages(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2)
    five_babies = ages(0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2)

    assert required_staff(four_babies, DAYCARE) == 3
    assert required_staff(five_babies, DAYCARE) == 4


def test_required_staff_infant_guard():
    # Tabel 1 lets one member of staff look after five children aged 0-4, but four of them
    # are babies, and a single member of staff may have three babies at most.
    assert required_staff(ages(0, 0, 0, 0, 3), DAYCARE) == 2


def test_required_staff_beyond_table_uses_fractions():
    # 17 children of 2 and 3 years: the table ends at 16, so 17 / 8 rounds up to 3.
    assert required_staff([Age(2)] * 9 + [Age(3)] * 8, DAYCARE) == 3


def test_required_staff_child_past_four_in_daycare():
    assert required_staff(ages(4, 4, 3, 3, 3, 3, 3, 3, 3), DAYCARE) == 2


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ([5] * 10, 1),
        ([5] * 11, 2),
        ([8] * 12, 1),
        ([8] * 13, 2),
        ([8] * 30, 3),
        ([5] * 9 + [8] * 2, 1),
        ([5] * 10 + [8], 2),
        ([5] * 18 + [9] * 4, 2),
        ([5] * 19 + [9] * 3, 3),
    ],
)
def test_required_staff_out_of_school(group, expected):
    assert required_staff(ages(*group), AFTER_SCHOOL) == expected


def test_required_staff_out_of_school_rejects_toddler():
    with pytest.raises(ValueError, match="out-of-school"):
        required_staff(ages(3, 5), AFTER_SCHOOL)


def test_fits_ok():
    decision = fits(12, 2, ages(2, 2, 3), Age(3), DAYCARE)

    assert decision.reason is CapacityReason.OK
    assert decision.allowed
    assert decision.rejection() is None


def test_fits_group_full():
    decision = fits(4, 3, ages(2, 2, 3, 3), Age(2), DAYCARE)

    assert decision.reason is CapacityReason.GROUP_FULL
    assert decision.rejection().code is RejectionCode.GROUP_FULL
    assert decision.rejection().params == {"max_size": 4}


def test_fits_mixed_ages_exceed_ratio_below_group_size():
    # Group of 12 with 9 planned: size allows one more. One member of staff covers the
    # seven children aged 1-4, but adding a baby turns the group into 0-4 with eight children,
    # which needs two.
    planned = ages(1, 1, 2, 2, 3, 3, 3)
    decision = fits(12, 1, planned, Age(0, 8), DAYCARE)

    assert required_staff(planned, DAYCARE) == 1
    assert decision.reason is CapacityReason.RATIO_EXCEEDED
    assert decision.staff_required == 2
    assert decision.rejection().params == {"staff_required": 2, "staff_on_roster": 1}


def test_fits_same_group_older_child_allowed():
    planned = ages(1, 1, 2, 2, 3, 3)

    assert fits(12, 1, planned, Age(3), DAYCARE).allowed


def test_fits_rejects_negative_roster():
    with pytest.raises(ValueError, match="staff_on_roster"):
        fits(12, -1, [], Age(2), DAYCARE)
