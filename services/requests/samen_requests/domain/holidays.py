"""Dutch national holidays, computed for a year.

The movable feasts follow Easter Sunday, which is computed with the anonymous Gregorian
algorithm (Meeus/Jones/Butcher). Good Friday and Liberation Day are flags because collective
labour agreements differ on whether they are days off.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# King's Day replaced Queen's Day (30 April) in 2014; earlier years are out of scope.
FIRST_SUPPORTED_YEAR = 2014

# Liberation Day is a day off for everyone in lustrum years (divisible by five) under most
# collective agreements, and every year under some.
LUSTRUM_INTERVAL = 5


class LiberationDayPolicy(StrEnum):
    """Rule for the years in which Liberation Day (5 May) counts as a holiday."""

    #: Every year.
    EVERY_YEAR = "every_year"
    #: Only in years divisible by five (2020, 2025, 2030).
    LUSTRUM = "lustrum"
    #: Never.
    NEVER = "never"


@dataclass(frozen=True)
class Holiday:
    """A national holiday with its English and Dutch name."""

    name_en: str
    name_nl: str


@dataclass(frozen=True)
class HolidayPolicy:
    """Choice of optional holidays on which an organisation closes."""

    good_friday: bool = True
    liberation_day: LiberationDayPolicy = LiberationDayPolicy.LUSTRUM


def easter_sunday(year: int) -> date:
    """Compute Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    correction = (century + 8) // 25
    moon_correction = (century - correction + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30
    leap_years, year_rest = divmod(year_of_century, 4)
    weekday_offset = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    month_correction = (golden + 11 * epact + 22 * weekday_offset) // 451
    month, day = divmod(epact + weekday_offset - 7 * month_correction + 114, 31)
    return date(year, month, day + 1)


def kings_day(year: int) -> date:
    """Return King's Day: 27 April, or 26 April when 27 April is a Sunday."""
    day = date(year, 4, 27)
    if day.weekday() == 6:
        return day - timedelta(days=1)
    return day


def national_holidays(year: int, policy: HolidayPolicy = HolidayPolicy()) -> dict[date, Holiday]:
    """Compute the Dutch national holidays of a year, keyed and sorted by date.

    Raises ValueError for years before 2014, when Queen's Day still applied.
    """
    if year < FIRST_SUPPORTED_YEAR:
        raise ValueError(
            f"year {year} is not supported: holidays are computed from {FIRST_SUPPORTED_YEAR} on"
        )

    easter = easter_sunday(year)
    holidays = {
        date(year, 1, 1): Holiday("New Year's Day", "Nieuwjaarsdag"),
        easter: Holiday("Easter Sunday", "Eerste paasdag"),
        easter + timedelta(days=1): Holiday("Easter Monday", "Tweede paasdag"),
        kings_day(year): Holiday("King's Day", "Koningsdag"),
        easter + timedelta(days=39): Holiday("Ascension Day", "Hemelvaartsdag"),
        easter + timedelta(days=49): Holiday("Whit Sunday", "Eerste pinksterdag"),
        easter + timedelta(days=50): Holiday("Whit Monday", "Tweede pinksterdag"),
        date(year, 12, 25): Holiday("Christmas Day", "Eerste kerstdag"),
        date(year, 12, 26): Holiday("Boxing Day", "Tweede kerstdag"),
    }

    if policy.good_friday:
        holidays[easter - timedelta(days=2)] = Holiday("Good Friday", "Goede Vrijdag")

    liberation = policy.liberation_day
    if liberation is LiberationDayPolicy.EVERY_YEAR or (
        liberation is LiberationDayPolicy.LUSTRUM and year % LUSTRUM_INTERVAL == 0
    ):
        holidays[date(year, 5, 5)] = Holiday("Liberation Day", "Bevrijdingsdag")

    return dict(sorted(holidays.items()))


def holiday_on(day: date, policy: HolidayPolicy = HolidayPolicy()) -> Holiday | None:
    """Return the national holiday on a day, or None."""
    return national_holidays(day.year, policy).get(day)
