from datetime import date

import pytest

from samen_requests.domain.holidays import (
    HolidayPolicy,
    LiberationDayPolicy,
    easter_sunday,
    holiday_on,
    kings_day,
    national_holidays,
)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday_known_dates(year, expected):
    assert easter_sunday(year) == expected


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2024, date(2024, 4, 27)),
        (2025, date(2025, 4, 26)),
        (2026, date(2026, 4, 27)),
        (2031, date(2031, 4, 26)),
    ],
)
def test_kings_day_moves_off_sunday(year, expected):
    assert kings_day(year) == expected


def test_holidays_2025_full_list():
    holidays = national_holidays(2025)

    assert {day: holiday.name_en for day, holiday in holidays.items()} == {
        date(2025, 1, 1): "New Year's Day",
        date(2025, 4, 18): "Good Friday",
        date(2025, 4, 20): "Easter Sunday",
        date(2025, 4, 21): "Easter Monday",
        date(2025, 4, 26): "King's Day",
        date(2025, 5, 5): "Liberation Day",
        date(2025, 5, 29): "Ascension Day",
        date(2025, 6, 8): "Whit Sunday",
        date(2025, 6, 9): "Whit Monday",
        date(2025, 12, 25): "Christmas Day",
        date(2025, 12, 26): "Boxing Day",
    }
    assert holidays[date(2025, 4, 26)].name_nl == "Koningsdag"
    assert list(holidays) == sorted(holidays)


@pytest.mark.parametrize(
    ("year", "ascension", "whit_monday"),
    [
        (2024, date(2024, 5, 9), date(2024, 5, 20)),
        (2026, date(2026, 5, 14), date(2026, 5, 25)),
        (2027, date(2027, 5, 6), date(2027, 5, 17)),
    ],
)
def test_movable_feasts_follow_easter(year, ascension, whit_monday):
    holidays = national_holidays(year)

    assert holidays[ascension].name_en == "Ascension Day"
    assert holidays[whit_monday].name_en == "Whit Monday"


def test_liberation_day_lustrum_only_by_default():
    assert date(2024, 5, 5) not in national_holidays(2024)
    assert date(2030, 5, 5) in national_holidays(2030)


def test_liberation_day_every_year_flag():
    policy = HolidayPolicy(liberation_day=LiberationDayPolicy.EVERY_YEAR)

    assert holiday_on(date(2024, 5, 5), policy).name_nl == "Bevrijdingsdag"


def test_liberation_day_never_flag():
    policy = HolidayPolicy(liberation_day=LiberationDayPolicy.NEVER)

    assert holiday_on(date(2025, 5, 5), policy) is None


def test_good_friday_flag_off():
    policy = HolidayPolicy(good_friday=False)

    assert holiday_on(date(2024, 3, 29)) is not None
    assert holiday_on(date(2024, 3, 29), policy) is None


def test_holidays_reject_year_before_kings_day():
    with pytest.raises(ValueError, match="2013"):
        national_holidays(2013)
