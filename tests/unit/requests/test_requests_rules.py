from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from samen_requests.domain.enums import (
    CareType,
    ClosingKind,
    Daypart,
    RejectionCode,
    RequestKind,
    RequestState,
)
from samen_requests.domain.holidays import LiberationDayPolicy
from samen_requests.domain.ratio import Age, fits
from samen_requests.domain.rules import (
    AMSTERDAM,
    ChildContext,
    OrganisationRules,
    RulesError,
    check_absence,
    check_cancel,
    check_extra_day,
    check_illness,
    check_swap,
    deadline,
)
from samen_requests.domain.schedule import ClosingDay, DayRequest, Placement

WHOLE = Daypart.WHOLE_DAY
# Monday, Tuesday and Thursday, whole days, in group "g1".
PLACEMENT = Placement(
    "g1",
    CareType.DAYCARE,
    {0: frozenset({WHOLE}), 1: frozenset({WHOLE}), 3: frozenset({WHOLE})},
    start=date(2024, 9, 1),
    end=date(2026, 8, 31),
)
# Wednesday 15 January 2025, 10:00 in Amsterdam.
NOW = datetime(2025, 1, 15, 10, 0, tzinfo=AMSTERDAM)
RULES = OrganisationRules()


def context(requests=(), closing_days=()) -> ChildContext:
    return ChildContext([PLACEMENT], closing_days, requests)


def request(kind, day, state=RequestState.APPROVED, request_id="r1", **extra) -> DayRequest:
    return DayRequest(request_id, kind, state, day, extra.pop("daypart", WHOLE), **extra)


def swap(given_up, new, request_id="s1", state=RequestState.APPROVED) -> DayRequest:
    return DayRequest(
        request_id, RequestKind.SWAP_DAY, state, new, WHOLE,
        given_up_day=given_up, given_up_daypart=WHOLE,
    )


# Loading rules


def test_rules_from_dict_reads_all_keys():
    rules = OrganisationRules.from_dict(
        {
            "notice_days": 2,
            "notice_time": "17:30",
            "swap_window_days": 14,
            "max_swaps_per_year": None,
            "credit_enabled": True,
            "credit_hours_per_daypart": "5.25",
            "good_friday_closed": False,
            "liberation_day": "every_year",
        }
    )

    assert rules.notice_days == 2
    assert rules.notice_time == time(17, 30)
    assert rules.max_swaps_per_year is None
    assert rules.credit_hours_per_daypart == Decimal("5.25")
    assert rules.holiday_policy.good_friday is False
    assert rules.holiday_policy.liberation_day is LiberationDayPolicy.EVERY_YEAR
    assert rules.cancel_time == time(9, 0)


def test_rules_from_dict_lists_every_error():
    with pytest.raises(RulesError) as caught:
        OrganisationRules.from_dict(
            {
                "notice_days": "1",
                "notice_time": "9 uur",
                "swap_same_group": "yes",
                "liberation_day": "sometimes",
                "credit_hours_per_daypart": "many",
                "swap_days": 3,
            }
        )

    errors = caught.value.errors
    assert len(errors) == 6
    assert "notice_days: expected a whole number, got '1'" in errors
    assert "notice_time: expected a time as HH:MM, got '9 uur'" in errors
    assert "swap_days: unknown key" in errors
    assert any(error.startswith("liberation_day: expected one of") for error in errors)


def test_rules_reject_negative_values():
    with pytest.raises(RulesError, match="swap_window_days must be 0 or more"):
        OrganisationRules.from_dict({"swap_window_days": -1})


def test_rules_reject_bool_as_number():
    with pytest.raises(RulesError, match="cancel_days"):
        OrganisationRules.from_dict({"cancel_days": True})


# Time handling


def test_check_rejects_naive_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        check_absence(RULES, datetime(2025, 1, 15, 10), context(), date(2025, 1, 20), WHOLE)


def test_deadline_on_spring_forward_day():
    # Sunday 30 March 2025: clocks go from 02:00 CET to 03:00 CEST.
    assert deadline(date(2025, 3, 31), 1, time(9, 0)) == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)
    assert deadline(date(2025, 4, 1), 2, time(9, 0)) == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)
    assert deadline(date(2025, 3, 30), 1, time(9, 0)) == datetime(2025, 3, 29, 8, 0, tzinfo=UTC)


def test_deadline_in_skipped_hour():
    # 02:30 does not exist on 30 March 2025; it is read as 02:30 CET, which is 03:30 CEST.
    assert deadline(date(2025, 3, 31), 1, time(2, 30)) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


def test_deadline_in_repeated_hour():
    # 02:30 happens twice on 26 October 2025; the first (summer time) occurrence counts.
    assert deadline(date(2025, 10, 27), 1, time(2, 30)) == datetime(
        2025, 10, 26, 0, 30, tzinfo=UTC
    )


def test_absence_deadline_on_spring_forward_day():
    day = date(2025, 3, 31)
    just_before = datetime(2025, 3, 30, 6, 59, tzinfo=UTC)  # 08:59 CEST
    just_after = datetime(2025, 3, 30, 7, 1, tzinfo=UTC)  # 09:01 CEST

    assert check_absence(RULES, just_before, context(), day, WHOLE) is None
    rejection = check_absence(RULES, just_after, context(), day, WHOLE)
    assert rejection.code is RejectionCode.AFTER_DEADLINE
    assert rejection.params["deadline"] == datetime(2025, 3, 30, 9, 0, tzinfo=AMSTERDAM)


def test_absence_deadline_on_fall_back_day():
    # Sunday 26 October 2025: clocks go from 03:00 CEST back to 02:00 CET.
    day = date(2025, 10, 27)
    just_before = datetime(2025, 10, 26, 7, 59, tzinfo=UTC)  # 08:59 CET
    just_after = datetime(2025, 10, 26, 8, 1, tzinfo=UTC)  # 09:01 CET

    assert check_absence(RULES, just_before, context(), day, WHOLE) is None
    assert check_absence(RULES, just_after, context(), day, WHOLE).code is (
        RejectionCode.AFTER_DEADLINE
    )


def test_now_in_other_timezone_uses_amsterdam_date():
    # 23:30 UTC on 19 January is already Monday 20 January in Amsterdam.
    now = datetime(2025, 1, 19, 23, 30, tzinfo=UTC)

    rejection = check_illness(RULES, now, context(), date(2025, 1, 19), WHOLE)
    assert rejection.code is RejectionCode.PAST_DATE
    assert check_illness(RULES, now, context(), date(2025, 1, 20), WHOLE) is None


def test_cancel_deadline_on_fall_back_day():
    item = request(RequestKind.HOLIDAY, date(2025, 10, 27), state=RequestState.SUBMITTED)
    before = datetime(2025, 10, 26, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    after = datetime(2025, 10, 26, 9, 1, tzinfo=timezone(timedelta(hours=1)))

    assert check_cancel(RULES, before, item) is None
    assert check_cancel(RULES, after, item).code is RejectionCode.AFTER_DEADLINE


# Absence


def test_absence_ok():
    assert check_absence(RULES, NOW, context(), date(2025, 1, 20), WHOLE) is None


def test_absence_half_day_of_whole_day_contract():
    assert check_absence(RULES, NOW, context(), date(2025, 1, 20), Daypart.MORNING) is None


def test_absence_not_planned():
    rejection = check_absence(RULES, NOW, context(), date(2025, 1, 22), WHOLE)

    assert rejection.code is RejectionCode.NOT_PLANNED
    assert rejection.params == {"day": date(2025, 1, 22)}


def test_absence_closed_day():
    closing = ClosingDay(date(2025, 1, 20), ClosingKind.PLANNED)

    rejection = check_absence(RULES, NOW, context(closing_days=[closing]), date(2025, 1, 20), WHOLE)
    assert rejection.code is RejectionCode.CLOSED_DAY


def test_absence_closed_other_group_does_not_apply():
    closing = ClosingDay(date(2025, 1, 20), ClosingKind.AD_HOC, group_id="g2")

    assert check_absence(RULES, NOW, context(closing_days=[closing]), date(2025, 1, 20), WHOLE) is None


def test_absence_national_holiday():
    rejection = check_absence(RULES, NOW, context(), date(2025, 4, 21), WHOLE)

    assert rejection.code is RejectionCode.NATIONAL_HOLIDAY
    assert rejection.params["name_nl"] == "Tweede paasdag"


def test_absence_past_date():
    rejection = check_absence(RULES, NOW, context(), date(2025, 1, 14), WHOLE)

    assert rejection.code is RejectionCode.PAST_DATE


def test_absence_after_deadline():
    # Thursday 16 January needed notice by Wednesday 09:00; it is 10:00.
    rejection = check_absence(RULES, NOW, context(), date(2025, 1, 16), WHOLE)

    assert rejection.code is RejectionCode.AFTER_DEADLINE


def test_absence_late_allowed_flag():
    rules = OrganisationRules(late_absence_allowed=True)

    assert check_absence(rules, NOW, context(), date(2025, 1, 16), WHOLE) is None


def test_absence_duplicate():
    existing = request(RequestKind.HOLIDAY, date(2025, 1, 20), state=RequestState.SUBMITTED)

    rejection = check_absence(RULES, NOW, context([existing]), date(2025, 1, 20), Daypart.MORNING)
    assert rejection.code is RejectionCode.DUPLICATE_REQUEST
    assert rejection.params["request_id"] == "r1"


def test_absence_cancelled_request_is_no_duplicate():
    existing = request(RequestKind.HOLIDAY, date(2025, 1, 20), state=RequestState.CANCELLED)

    assert check_absence(RULES, NOW, context([existing]), date(2025, 1, 20), WHOLE) is None


def test_absence_care_ended():
    rejection = check_absence(RULES, NOW, context(), date(2026, 9, 7), WHOLE)

    assert rejection.code is RejectionCode.CARE_ENDED


# Illness


def test_illness_today_after_deadline():
    assert check_illness(RULES, NOW, context(), date(2025, 1, 16), WHOLE) is None
    monday = datetime(2025, 1, 20, 11, 0, tzinfo=AMSTERDAM)
    assert check_illness(RULES, monday, context(), date(2025, 1, 20), WHOLE) is None


def test_illness_past_date():
    assert check_illness(RULES, NOW, context(), date(2025, 1, 13), WHOLE).code is (
        RejectionCode.PAST_DATE
    )


def test_illness_not_planned():
    assert check_illness(RULES, NOW, context(), date(2025, 1, 15), WHOLE).code is (
        RejectionCode.NOT_PLANNED
    )


def test_illness_on_extra_day():
    extra = request(RequestKind.EXTRA_DAY, date(2025, 1, 15), group_id="g1")

    assert check_illness(RULES, NOW, context([extra]), date(2025, 1, 15), WHOLE) is None


def test_illness_duplicate():
    ill = request(RequestKind.ILLNESS, date(2025, 1, 16), state=RequestState.SUBMITTED)

    assert check_illness(RULES, NOW, context([ill]), date(2025, 1, 16), WHOLE).code is (
        RejectionCode.DUPLICATE_REQUEST
    )


# Extra day


def test_extra_day_ok_with_room():
    capacity = fits(12, 2, [Age(2)] * 8, Age(2), CareType.DAYCARE)

    assert check_extra_day(RULES, NOW, context(), date(2025, 1, 22), WHOLE, capacity) is None


def test_extra_day_already_planned():
    assert check_extra_day(RULES, NOW, context(), date(2025, 1, 20), WHOLE).code is (
        RejectionCode.ALREADY_PLANNED
    )


def test_extra_day_after_deadline():
    # Friday 17 January needed a request by Thursday 09:00; accept it Thursday 10:00.
    thursday = datetime(2025, 1, 16, 10, 0, tzinfo=AMSTERDAM)

    assert check_extra_day(RULES, thursday, context(), date(2025, 1, 17), WHOLE).code is (
        RejectionCode.AFTER_DEADLINE
    )


def test_extra_day_group_full():
    capacity = fits(8, 2, [Age(2)] * 8, Age(2), CareType.DAYCARE)

    rejection = check_extra_day(RULES, NOW, context(), date(2025, 1, 22), WHOLE, capacity)
    assert rejection.code is RejectionCode.GROUP_FULL


def test_extra_day_ratio_exceeded():
    capacity = fits(16, 1, [Age(2)] * 8, Age(3), CareType.DAYCARE)

    rejection = check_extra_day(RULES, NOW, context(), date(2025, 1, 22), WHOLE, capacity)
    assert rejection.code is RejectionCode.RATIO_EXCEEDED


def test_extra_day_credit_not_allowed():
    rejection = check_extra_day(
        RULES, NOW, context(), date(2025, 1, 22), WHOLE,
        spend_credit_hours=Decimal(10), credit_balance=Decimal(20),
    )

    assert rejection.code is RejectionCode.CREDIT_NOT_ALLOWED


def test_extra_day_insufficient_credit():
    rules = OrganisationRules(credit_enabled=True)

    rejection = check_extra_day(
        rules, NOW, context(), date(2025, 1, 22), WHOLE,
        spend_credit_hours=Decimal(10), credit_balance=Decimal("7.5"),
    )
    assert rejection.code is RejectionCode.INSUFFICIENT_CREDIT
    assert rejection.params == {"available": Decimal("7.5"), "requested": Decimal(10)}


def test_extra_day_duplicate():
    existing = request(RequestKind.EXTRA_DAY, date(2025, 1, 22), state=RequestState.WAITLISTED)

    assert check_extra_day(RULES, NOW, context([existing]), date(2025, 1, 22), WHOLE).code is (
        RejectionCode.DUPLICATE_REQUEST
    )


# Swap


def test_swap_across_month_boundary():
    # Give up Thursday 30 January, take Friday 7 February: eight days apart.
    rules = OrganisationRules(swap_window_days=8)

    assert check_swap(rules, NOW, context(), date(2025, 1, 30), WHOLE, date(2025, 2, 7), WHOLE) is None


def test_swap_outside_window():
    rules = OrganisationRules(swap_window_days=7)

    rejection = check_swap(rules, NOW, context(), date(2025, 1, 30), WHOLE, date(2025, 2, 7), WHOLE)
    assert rejection.code is RejectionCode.SWAP_OUTSIDE_WINDOW
    assert rejection.params == {"days": 7}


def test_swap_window_counts_days_before():
    rules = OrganisationRules(swap_window_days=7)

    assert check_swap(rules, NOW, context(), date(2025, 2, 6), WHOLE, date(2025, 1, 31), WHOLE) is None


def test_swap_limit_reached():
    rules = OrganisationRules(max_swaps_per_year=2)
    used = [
        swap(date(2025, 1, 6), date(2025, 1, 8), "s1"),
        swap(date(2025, 1, 7), date(2025, 1, 10), "s2", state=RequestState.SUBMITTED),
        swap(date(2024, 12, 2), date(2024, 12, 4), "s3"),
    ]

    rejection = check_swap(
        rules, NOW, context(used), date(2025, 1, 27), WHOLE, date(2025, 1, 29), WHOLE
    )
    assert rejection.code is RejectionCode.SWAP_LIMIT_REACHED
    assert rejection.params == {"max_swaps": 2, "year": 2025}


def test_swap_limit_ignores_rejected_swaps():
    rules = OrganisationRules(max_swaps_per_year=1)
    rejected = [swap(date(2025, 1, 6), date(2025, 1, 8), state=RequestState.REJECTED)]

    assert check_swap(
        rules, NOW, context(rejected), date(2025, 1, 27), WHOLE, date(2025, 1, 29), WHOLE
    ) is None


def test_swap_onto_planned_day():
    rejection = check_swap(RULES, NOW, context(), date(2025, 1, 27), WHOLE, date(2025, 1, 28), WHOLE)

    assert rejection.code is RejectionCode.SWAP_DAY_ALREADY_PLANNED


def test_swap_given_up_day_not_planned():
    rejection = check_swap(RULES, NOW, context(), date(2025, 1, 29), WHOLE, date(2025, 1, 31), WHOLE)

    assert rejection.code is RejectionCode.NOT_PLANNED


def test_swap_onto_national_holiday():
    rejection = check_swap(RULES, NOW, context(), date(2025, 5, 27), WHOLE, date(2025, 5, 29), WHOLE)

    assert rejection.code is RejectionCode.NATIONAL_HOLIDAY
    assert rejection.params["name_en"] == "Ascension Day"


def test_swap_other_group():
    rejection = check_swap(
        RULES, NOW, context(), date(2025, 1, 27), WHOLE, date(2025, 1, 29), WHOLE, new_group_id="g2"
    )
    assert rejection.code is RejectionCode.SWAP_OTHER_GROUP

    rules = OrganisationRules(swap_same_group=False)
    assert check_swap(
        rules, NOW, context(), date(2025, 1, 27), WHOLE, date(2025, 1, 29), WHOLE, new_group_id="g2"
    ) is None


def test_swap_given_up_day_after_deadline():
    rejection = check_swap(RULES, NOW, context(), date(2025, 1, 16), WHOLE, date(2025, 1, 22), WHOLE)

    assert rejection.code is RejectionCode.AFTER_DEADLINE


def test_swap_no_room():
    capacity = fits(16, 1, [Age(1)] * 5, Age(1), CareType.DAYCARE)

    rejection = check_swap(
        RULES, NOW, context(), date(2025, 1, 27), WHOLE, date(2025, 1, 29), WHOLE, capacity=capacity
    )
    assert rejection.code is RejectionCode.RATIO_EXCEEDED


def test_swap_day_already_given_up():
    existing = swap(date(2025, 1, 27), date(2025, 1, 29), state=RequestState.SUBMITTED)

    rejection = check_swap(
        RULES, NOW, context([existing]), date(2025, 1, 27), WHOLE, date(2025, 1, 31), WHOLE
    )
    assert rejection.code is RejectionCode.DUPLICATE_REQUEST


# Cancel


def test_cancel_ok():
    item = request(RequestKind.EXTRA_DAY, date(2025, 1, 22), state=RequestState.SUBMITTED)

    assert check_cancel(RULES, NOW, item) is None


def test_cancel_after_deadline_uses_earliest_swap_day():
    item = swap(date(2025, 1, 16), date(2025, 1, 24), state=RequestState.APPROVED)

    rejection = check_cancel(RULES, NOW, item)
    assert rejection.code is RejectionCode.AFTER_DEADLINE
    assert rejection.params["deadline"] == datetime(2025, 1, 15, 9, 0, tzinfo=AMSTERDAM)


@pytest.mark.parametrize("state", [RequestState.REJECTED, RequestState.CANCELLED])
def test_cancel_closed_request(state):
    item = request(RequestKind.HOLIDAY, date(2025, 1, 27), state=state)

    assert check_cancel(RULES, NOW, item).code is RejectionCode.NOT_CANCELLABLE


def test_cancel_illness_not_allowed():
    item = request(RequestKind.ILLNESS, date(2025, 1, 27), state=RequestState.APPROVED)

    assert check_cancel(RULES, NOW, item).code is RejectionCode.NOT_CANCELLABLE


def test_cancel_past_request():
    item = request(RequestKind.HOLIDAY, date(2025, 1, 13), state=RequestState.APPROVED)

    assert check_cancel(RULES, NOW, item).code is RejectionCode.PAST_DATE
