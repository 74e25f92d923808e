"""Tables of the requests service.

`groups`, `children` and `placements` are copies of the accounts service's data, filled by
`sync_placements`. Every other table belongs to this service.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    Date,
    DateTime,
    Index,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from samen_common.outbox import HandledEventMixin, OutboxMessageMixin

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class GroupCopy(Base):
    """A group as accounts knew it at the last sync, with its maximum size."""

    __tablename__ = "groups"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    name: Mapped[str] = mapped_column(String(200))
    care_type: Mapped[str] = mapped_column(String(30))
    max_size: Mapped[int] = mapped_column(SmallInteger)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChildCopy(Base):
    """A child's birth date (for the staff-to-child ratio) and organisation."""

    __tablename__ = "children"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PlacementCopy(Base):
    """A child's contract in a group; `weekdays` are ISO numbers (1 = Monday)."""

    __tablename__ = "placements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    care_type: Mapped[str] = mapped_column(String(30))
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    dayparts: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """`occurred_at` of the newest `placement_changed` applied; NULL after `sync_placements` only."""


class CareEnd(Base):
    """The last day of a child's care from the newest `care_ended` event.

    Kept apart from the placements because the event may arrive before the placements do.
    """

    __tablename__ = "care_ends"

    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    end_date: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AttendanceRecord(Base):
    """One check-in or check-out that accounts recorded from the kiosk; `attendance_id` is accounts' id."""

    __tablename__ = "attendance"
    __table_args__ = (Index("ix_attendance_group_day", "group_id", "local_date"),)

    attendance_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_date: Mapped[date] = mapped_column(Date)
    """The Europe/Amsterdam date of `at`."""
    recorded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    collected_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RosterDay(Base):
    """The staff on the roster of a group on one day."""

    __tablename__ = "roster"

    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    staff_count: Mapped[int] = mapped_column(SmallInteger)
    staff_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ClosingDayRow(Base):
    """A planned or ad hoc closure of a location, or of one group when `group_id` is set.

    National holidays are computed from the organisation's rules and never stored.
    """

    __tablename__ = "closing_days"
    __table_args__ = (
        UniqueConstraint(
            "location_id", "day", "group_id", name="uq_closing_days_location_day_group",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    group_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name_nl: Mapped[str] = mapped_column(String(200), default="", server_default="")
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RulesDocument(Base):
    """An organisation's request rules as the JSON document `OrganisationRules.from_dict` reads."""

    __tablename__ = "organisation_rules"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    document: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Request(Base):
    """A parent's request: an illness, an absence, an extra day or a swap day.

    Absences and illness span `start_date` to `end_date`; an illness without `end_date` lasts
    until the recovery notice. An extra day and the day taken by a swap use `start_date` only.
    A NULL `daypart` means every daypart of each day.
    """

    __tablename__ = "requests"
    __table_args__ = (Index("ix_requests_group_state", "group_id", "state"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    daypart: Mapped[str | None] = mapped_column(String(20))
    given_up_date: Mapped[date | None] = mapped_column(Date)
    given_up_daypart: Mapped[str | None] = mapped_column(String(20))
    alternatives: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    spend_credit_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    place_freed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When a cancellation freed a place for this waitlisted request that staff must still approve."""


class CreditMovement(Base):
    """One line of a child's credit-hour ledger (see `domain.credit.Movement`)."""

    __tablename__ = "credit_movements"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    expires_on: Mapped[date | None] = mapped_column(Date)
    lot_id: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotencyRecord(Base):
    """The first response to a request-creating call, keyed by caller and Idempotency-Key."""

    __tablename__ = "idempotency_keys"

    caller_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(60))
    body_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class CalendarFeed(Base):
    """A guardian's private calendar feed of one child; only the SHA-256 of the token is kept."""

    __tablename__ = "calendar_feeds"

    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    guardian_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="nl", server_default="nl")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxMessage(OutboxMessageMixin, Base):
    pass


class HandledEvent(HandledEventMixin, Base):
    pass

