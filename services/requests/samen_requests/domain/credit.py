"""Credit-hour (tegoed) ledger: hours earned by absences in time, spent on extra days.

The ledger is a list of movements. Earned hours form lots that are used first-in-first-out:
the oldest lot pays a spend first, and hours expire per lot on its `expires_on` date.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .enums import Daypart, RejectionCode
from .rejection import Rejection
from .rules import OrganisationRules


class MovementKind(StrEnum):
    """Kind of change to a credit-hour balance."""

    #: Hours added for an absence announced before the deadline.
    EARNED = "earned"
    #: Hours used for an extra day.
    SPENT = "spent"
    #: Hours of an earned lot that passed its expiry date unused.
    EXPIRED = "expired"
    #: A manual correction by staff, positive or negative.
    ADJUSTED = "adjusted"


@dataclass(frozen=True)
class Movement:
    """One ledger line. `hours` is positive except for a negative adjustment.

    An earned movement is a lot, and `expires_on` is the first day its hours can no longer be
    used. An expired movement names its lot in `lot_id`.
    """

    movement_id: str
    kind: MovementKind
    hours: Decimal
    on: date
    reason: str = ""
    expires_on: date | None = None
    lot_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not MovementKind.ADJUSTED and self.hours <= 0:
            raise ValueError(f"movement {self.movement_id}: {self.kind} hours must be positive")
        if self.kind is MovementKind.EXPIRED and self.lot_id is None:
            raise ValueError(f"movement {self.movement_id}: an expiry must name its lot_id")

    @property
    def signed_hours(self) -> Decimal:
        if self.kind in (MovementKind.SPENT, MovementKind.EXPIRED):
            return -self.hours
        return self.hours


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the last day of a shorter month (31 January 2025 plus one month is 28 February 2025)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def earn(
    movement_id: str, on: date, daypart: Daypart, rules: OrganisationRules, reason: str = ""
) -> Movement | None:
    """Create the lot earned by an absence announced in time, or None without credit hours.

    A whole day earns the hours of two dayparts. The lot expires `credit_expiry_months` after
    `on`, fixed at earning time so a later change of the rules does not move it.
    """
    hours = rules.credit_hours_per_daypart * daypart.units
    if not rules.credit_enabled or hours == 0:
        return None
    return Movement(
        movement_id,
        MovementKind.EARNED,
        hours,
        on,
        reason=reason,
        expires_on=add_months(on, rules.credit_expiry_months),
    )


@dataclass
class _Lot:
    movement: Movement
    expires_on: date | None
    remaining: Decimal


def _replay(
    movements: Sequence[Movement], on_date: date, default_expiry_months: int | None
) -> tuple[Decimal, list[tuple[_Lot, date]]]:
    """Replay the ledger up to `on_date`.

    Returns the balance and the lots whose expiry fell due without a recorded expiry, each
    with its expiry date. On one date, earned hours count first, then expiries, then spends.
    """
    relevant = [m for m in movements if m.on <= on_date]
    recorded_expiries = {m.lot_id for m in relevant if m.kind is MovementKind.EXPIRED}
    lots: list[_Lot] = []
    for movement in sorted(relevant, key=lambda m: (m.on, m.movement_id)):
        if movement.kind is MovementKind.EARNED or (
            movement.kind is MovementKind.ADJUSTED and movement.hours > 0
        ):
            expires_on = movement.expires_on
            if expires_on is None and movement.kind is MovementKind.EARNED and default_expiry_months:
                expires_on = add_months(movement.on, default_expiry_months)
            lots.append(_Lot(movement, expires_on, movement.hours))

    events: list[tuple[date, int, str, object]] = []
    for lot in lots:
        events.append((lot.movement.on, 0, lot.movement.movement_id, None))
        if lot.expires_on is not None and lot.expires_on <= on_date:
            events.append((lot.expires_on, 1, lot.movement.movement_id, lot))
    for movement in relevant:
        if movement.kind is MovementKind.SPENT or (
            movement.kind is MovementKind.ADJUSTED and movement.hours < 0
        ):
            events.append((movement.on, 2, movement.movement_id, movement))

    pending: list[tuple[_Lot, date]] = []
    overdraft = Decimal(0)
    for when, order, _, payload in sorted(events, key=lambda event: event[:3]):
        if order == 1:
            lot = payload
            if lot.remaining > 0 and lot.movement.movement_id not in recorded_expiries:
                pending.append((_Lot(lot.movement, lot.expires_on, lot.remaining), when))
            # A recorded expiry and a computed one both empty the lot.
            lot.remaining = Decimal(0)
        elif order == 2:
            overdraft += _consume(lots, payload, when)

    balance = sum((lot.remaining for lot in lots), Decimal(0)) - overdraft
    return balance, pending


def _consume(lots: list[_Lot], movement: Movement, when: date) -> Decimal:
    """Take hours from the oldest usable lots; return the hours no lot could cover."""
    needed = abs(movement.hours)
    for lot in lots:
        if needed == 0:
            break
        usable = lot.movement.on <= when and (lot.expires_on is None or when < lot.expires_on)
        if not usable or lot.remaining == 0:
            continue
        taken = min(lot.remaining, needed)
        lot.remaining -= taken
        needed -= taken
    return needed


def balance(movements: Sequence[Movement], on_date: date) -> Decimal:
    """Compute the usable hours on `on_date`, with lots past their expiry date removed.

    A lot without `expires_on` never expires here; `expire` can apply a default instead.
    """
    hours, _ = _replay(movements, on_date, default_expiry_months=None)
    return hours


def expire(
    movements: Sequence[Movement], on_date: date, rules: OrganisationRules
) -> list[Movement]:
    """Create the expiry movements that fell due up to `on_date` and are not yet recorded.

    Earned lots without `expires_on` expire `rules.credit_expiry_months` after they were earned. The hours
    expired per lot are what FIFO spending left of it.
    """
    _, pending = _replay(movements, on_date, default_expiry_months=rules.credit_expiry_months)
    return [
        Movement(
            movement_id=f"{lot.movement.movement_id}:expired",
            kind=MovementKind.EXPIRED,
            hours=lot.remaining,
            on=when,
            reason=f"expired unused hours earned on {lot.movement.on.isoformat()}",
            lot_id=lot.movement.movement_id,
        )
        for lot, when in pending
    ]


def spend(
    movements: Sequence[Movement],
    movement_id: str,
    hours: Decimal,
    on: date,
    reason: str = "",
) -> Movement | Rejection:
    """Create a spend movement, or a rejection when the balance on `on` is too low."""
    if hours <= 0:
        raise ValueError(f"hours to spend must be positive, got {hours}")

    available = balance(movements, on)
    if available < hours:
        return Rejection(
            RejectionCode.INSUFFICIENT_CREDIT, {"available": available, "requested": hours}
        )
    return Movement(movement_id, MovementKind.SPENT, hours, on, reason=reason)
