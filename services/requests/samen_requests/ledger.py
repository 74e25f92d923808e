"""The stored credit-hour ledger: movements in, balance and expiries out."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from samen_requests import queries
from samen_requests.domain import credit
from samen_requests.domain.credit import Movement, MovementKind
from samen_requests.domain.enums import Daypart
from samen_requests.domain.rules import OrganisationRules
from samen_requests.models import CreditMovement


def to_movement(row: CreditMovement) -> Movement:
    return Movement(
        movement_id=row.id, kind=MovementKind(row.kind), hours=Decimal(row.hours), on=row.on,
        reason=row.reason, expires_on=row.expires_on, lot_id=row.lot_id,
    )


def _store(session: Session, child_id: uuid.UUID, movement: Movement, request_id: uuid.UUID | None) -> None:
    queries.insert_credit_movement(
        session,
        {
            "id": movement.movement_id, "child_id": child_id, "kind": movement.kind.value,
            "hours": movement.hours, "on": movement.on, "reason": movement.reason,
            "expires_on": movement.expires_on, "lot_id": movement.lot_id, "request_id": request_id,
        },
    )


def settle(session: Session, child_id: uuid.UUID, rules: OrganisationRules, today: date) -> list[Movement]:
    """Record the expiries that fell due up to today and return every movement of the child."""
    movements = [to_movement(row) for row in queries.credit_movements(session, child_id)]
    due = credit.expire(movements, today, rules)
    for movement in due:
        _store(session, child_id, movement, None)
    return movements + due


def balance(movements: list[Movement], today: date) -> Decimal:
    return credit.balance(movements, today)


def earn_for_absence(
    session: Session, child_id: uuid.UUID, request_id: uuid.UUID, rules: OrganisationRules,
    today: date, day: date, daypart: Daypart,
) -> Decimal:
    """Add the lot an absence announced in time earns; return its hours (0 without credit)."""
    movement = credit.earn(
        f"{request_id}:{day.isoformat()}:{daypart.value}:earned", today, daypart, rules,
        reason=f"absence on {day.isoformat()} ({daypart.value}) announced in time",
    )
    if movement is None:
        return Decimal(0)
    _store(session, child_id, movement, request_id)
    return movement.hours


def spend_for_extra_day(
    session: Session, child_id: uuid.UUID, request_id: uuid.UUID, hours: Decimal, today: date, day: date,
) -> None:
    movement = Movement(
        f"{request_id}:spent", MovementKind.SPENT, hours, today, reason=f"extra day on {day.isoformat()}"
    )
    _store(session, child_id, movement, request_id)


def undo_request(
    session: Session, child_id: uuid.UUID, request_id: uuid.UUID, rules: OrganisationRules, today: date, why: str,
) -> Decimal:
    """Undo what a cancelled or rejected request earned or spent, as one adjustment.

    Hours earned by an absence are taken back; hours spent on an extra day come back as a new
    lot that expires like earned hours. Returns the signed hours of the adjustment.
    """
    rows = queries.credit_movements_of_request(session, request_id)
    net = sum((to_movement(row).signed_hours for row in rows if row.kind in ("earned", "spent")), Decimal(0))
    if net == 0:
        return Decimal(0)
    # A refund (net spent, so negative) becomes a positive adjustment and vice versa.
    expires_on = credit.add_months(today, rules.credit_expiry_months) if -net > 0 else None
    movement = Movement(
        f"{request_id}:undone", MovementKind.ADJUSTED, -net, today, reason=f"request {why}", expires_on=expires_on,
    )
    _store(session, child_id, movement, request_id)
    return -net


def movement_dict(movement: Movement) -> dict:
    return {
        "id": movement.movement_id, "kind": movement.kind.value, "hours": str(movement.hours),
        "signed_hours": str(movement.signed_hours), "on": movement.on.isoformat(), "reason": movement.reason,
        "expires_on": movement.expires_on.isoformat() if movement.expires_on else None, "lot_id": movement.lot_id,
    }
