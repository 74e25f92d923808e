"""Parsing of dates and months that arrive over RPC, including hostile values."""

from datetime import date

import pytest

from samen_common.errors import InvalidInput
from samen_requests.inputs import parse_day, parse_month


@pytest.mark.parametrize("value", ["0001-01", "9999-12", "2013-12", "2100-01"])
def test_month_outside_range_rejected(value):
    with pytest.raises(InvalidInput) as info:
        parse_month(value)
    assert info.value.code == "date_out_of_range"


@pytest.mark.parametrize("value", ["9999-99", "2026-13", "26-01", ""])
def test_malformed_month_rejected(value):
    with pytest.raises(InvalidInput) as info:
        parse_month(value)
    assert info.value.code == "invalid_month"


def test_month_bounds():
    assert parse_month("2027-02") == (date(2027, 2, 1), date(2027, 2, 28))
    assert parse_month("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))


@pytest.mark.parametrize("value", ["1900-01-01", "9999-12-31", "9999-12-31T23:59:59+14:00"])
def test_day_outside_range_rejected(value):
    with pytest.raises(InvalidInput) as info:
        parse_day(value, "start_date")
    assert info.value.code in {"date_out_of_range", "invalid_date"}


def test_day_from_timestamp_uses_amsterdam_date():
    assert parse_day("2026-03-28T23:30:00Z", "day") == date(2026, 3, 29)


def test_naive_timestamp_rejected():
    with pytest.raises(InvalidInput) as info:
        parse_day("2026-03-28T23:30:00", "day")
    assert info.value.code == "naive_timestamp"
