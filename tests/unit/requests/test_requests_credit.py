from datetime import date
from decimal import Decimal

import pytest

from samen_requests.domain.credit import (
    Movement,
    MovementKind,
    add_months,
    balance,
    earn,
    expire,
    spend,
)
from samen_requests.domain.enums import Daypart, RejectionCode
from samen_requests.domain.rules import OrganisationRules

RULES = OrganisationRules(credit_enabled=True, credit_hours_per_daypart=Decimal(5))


def ledger() -> list[Movement]:
    return [
        earn("e1", date(2024, 1, 10), Daypart.WHOLE_DAY, RULES, "absent 2024-01-15"),
        earn("e2", date(2024, 6, 5), Daypart.MORNING, RULES, "absent 2024-06-10"),
        Movement("s1", MovementKind.SPENT, Decimal(6), date(2024, 3, 1), "extra day"),
    ]


def test_earn_whole_day_counts_two_dayparts():
    lot = earn("e1", date(2024, 1, 10), Daypart.WHOLE_DAY, RULES)

    assert lot.hours == Decimal(10)
    assert lot.expires_on == date(2025, 1, 10)


def test_earn_without_credit_hours():
    assert earn("e1", date(2024, 1, 10), Daypart.MORNING, OrganisationRules()) is None


def test_add_months_clamps_to_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


def test_balance_after_earn_and_spend():
    assert balance(ledger(), date(2024, 1, 9)) == 0
    assert balance(ledger(), date(2024, 2, 1)) == 10
    assert balance(ledger(), date(2024, 3, 1)) == 4
    assert balance(ledger(), date(2024, 12, 31)) == 9


def test_balance_drops_expired_lot():
    # e1 had 4 hours left after the spend; they expire on 10 January 2025.
    assert balance(ledger(), date(2025, 1, 9)) == 9
    assert balance(ledger(), date(2025, 1, 10)) == 5
    assert balance(ledger(), date(2025, 6, 5)) == 0


def test_expire_creates_fifo_movement():
    movements = expire(ledger(), date(2025, 1, 10), RULES)

    assert len(movements) == 1
    assert movements[0].kind is MovementKind.EXPIRED
    assert movements[0].lot_id == "e1"
    assert movements[0].hours == Decimal(4)
    assert movements[0].on == date(2025, 1, 10)


def test_expire_is_idempotent_once_recorded():
    movements = ledger() + expire(ledger(), date(2025, 1, 10), RULES)

    assert expire(movements, date(2025, 1, 10), RULES) == []
    assert balance(movements, date(2025, 1, 10)) == 5


def test_spend_takes_oldest_lot_first():
    # Spending 6 more hours in July empties e1 (4 left) and takes 2 from e2.
    movements = ledger() + [
        Movement("s2", MovementKind.SPENT, Decimal(6), date(2024, 7, 1), "extra day")
    ]

    assert expire(movements, date(2025, 1, 10), RULES) == []
    assert balance(movements, date(2025, 1, 10)) == 3
    expired = expire(movements, date(2025, 6, 5), RULES)
    assert [(m.lot_id, m.hours) for m in expired] == [("e2", Decimal(3))]


def test_spend_cannot_use_expired_hours():
    result = spend(ledger(), "s2", Decimal(7), date(2025, 2, 1), "extra day")

    assert result.code is RejectionCode.INSUFFICIENT_CREDIT
    assert result.params == {"available": Decimal(5), "requested": Decimal(7)}


def test_spend_within_balance():
    result = spend(ledger(), "s2", Decimal(5), date(2025, 2, 1), "extra day")

    assert result.kind is MovementKind.SPENT
    assert result.hours == Decimal(5)
    assert balance(ledger() + [result], date(2025, 2, 1)) == 0


def test_spend_rejects_non_positive_hours():
    with pytest.raises(ValueError, match="positive"):
        spend(ledger(), "s2", Decimal(0), date(2025, 2, 1))


def test_adjustments_change_balance():
    movements = ledger() + [
        Movement("a1", MovementKind.ADJUSTED, Decimal(2), date(2024, 4, 1), "correction"),
        Movement("a2", MovementKind.ADJUSTED, Decimal(-1), date(2024, 4, 2), "correction"),
    ]

    assert balance(movements, date(2024, 4, 2)) == 5


def test_expire_uses_rules_for_lot_without_expiry():
    old = [Movement("e0", MovementKind.EARNED, Decimal(5), date(2024, 1, 1))]

    assert balance(old, date(2026, 1, 1)) == 5
    expired = expire(old, date(2025, 1, 1), RULES)
    assert [(m.lot_id, m.hours, m.on) for m in expired] == [("e0", Decimal(5), date(2025, 1, 1))]


def test_movement_rejects_negative_spend():
    with pytest.raises(ValueError, match="positive"):
        Movement("s1", MovementKind.SPENT, Decimal(-1), date(2024, 1, 1))
