"""Queries of the requests service, named for what they read or write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from samen_requests.models import (
    AttendanceRecord,
    CalendarFeed,
    CareEnd,
    ChildCopy,
    ClosingDayRow,
    CreditMovement,
    GroupCopy,
    IdempotencyRecord,
    PlacementCopy,
    Request,
    RosterDay,
    RulesDocument,
)

OPEN_STATES = ("submitted", "approved", "waitlisted")
DAY_KINDS = ("extra_day", "swap_day")


def lock(session: Session, key: str) -> None:
    """Take a transaction-scoped advisory lock on `key`; it is released at commit or rollback.

    Callers take a child's lock before any group-day lock and group-day locks in sorted
    order, so two transactions never wait on each other in a cycle.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def lock_child(session: Session, child_id: uuid.UUID) -> None:
    lock(session, f"child:{child_id}")


def lock_group_days(session: Session, group_days: Iterable[tuple[uuid.UUID, date]]) -> None:
    for group_id, day in sorted(set(group_days), key=lambda pair: (str(pair[0]), pair[1])):
        lock(session, f"group-day:{group_id}:{day.isoformat()}")


def upsert_group(session: Session, values: dict) -> None:
    statement = insert(GroupCopy).values(**values, synced_at=func.now())
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[GroupCopy.id],
            set_={name: statement.excluded[name] for name in values if name != "id"} | {"synced_at": func.now()},
        )
    )


def upsert_child(session: Session, values: dict) -> None:
    statement = insert(ChildCopy).values(**values, synced_at=func.now())
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[ChildCopy.id],
            set_={name: statement.excluded[name] for name in values if name != "id"} | {"synced_at": func.now()},
        )
    )


def upsert_placement(session: Session, values: dict) -> None:
    statement = insert(PlacementCopy).values(**values, synced_at=func.now())
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[PlacementCopy.id],
            set_={name: statement.excluded[name] for name in values if name != "id"} | {"synced_at": func.now()},
        )
    )


def upsert_roster_day(session: Session, group_id: uuid.UUID, day: date, staff_count: int, staff_ids: list[str]) -> None:
    statement = insert(RosterDay).values(group_id=group_id, day=day, staff_count=staff_count, staff_ids=staff_ids)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[RosterDay.group_id, RosterDay.day],
            set_={"staff_count": staff_count, "staff_ids": staff_ids, "updated_at": func.now()},
        )
    )


def roster_day(session: Session, group_id: uuid.UUID, day: date) -> RosterDay | None:
    return session.get(RosterDay, (group_id, day))


def rosters_between(session: Session, group_id: uuid.UUID, start: date, end: date) -> dict[date, RosterDay]:
    rows = session.scalars(
        select(RosterDay).where(RosterDay.group_id == group_id, RosterDay.day.between(start, end))
    )
    return {row.day: row for row in rows}


def groups_by_ids(session: Session, group_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, GroupCopy]:
    ids = list(set(group_ids))
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(GroupCopy).where(GroupCopy.id.in_(ids)))}


def groups_of_locations(session: Session, location_ids: Iterable[uuid.UUID]) -> list[GroupCopy]:
    ids = list(set(location_ids))
    if not ids:
        return []
    return list(session.scalars(select(GroupCopy).where(GroupCopy.location_id.in_(ids))))


def children_by_ids(session: Session, child_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ChildCopy]:
    ids = list(set(child_ids))
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(ChildCopy).where(ChildCopy.id.in_(ids)))}


def placements_of_children(session: Session, child_ids: Iterable[uuid.UUID]) -> list[PlacementCopy]:
    ids = list(set(child_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(PlacementCopy).where(PlacementCopy.child_id.in_(ids)).order_by(PlacementCopy.start_date)
        )
    )


def children_placed_in_group(session: Session, group_id: uuid.UUID, start: date, end: date) -> set[uuid.UUID]:
    """Return the children with a placement in the group that overlaps start to end."""
    rows = session.scalars(
        select(PlacementCopy.child_id).where(
            PlacementCopy.group_id == group_id,
            PlacementCopy.start_date <= end,
            or_(PlacementCopy.end_date.is_(None), PlacementCopy.end_date >= start),
        )
    )
    return set(rows)


def children_booked_into_group(session: Session, group_id: uuid.UUID, start: date, end: date) -> set[uuid.UUID]:
    """Return the children with an open extra day or swap into the group between start and end."""
    rows = session.scalars(
        select(Request.child_id).where(
            Request.group_id == group_id,
            Request.kind.in_(("extra_day", "swap_day")),
            Request.state.in_(OPEN_STATES),
            Request.start_date.between(start, end),
        )
    )
    return set(rows)


def requests_of_children(session: Session, child_ids: Iterable[uuid.UUID]) -> list[Request]:
    ids = list(set(child_ids))
    if not ids:
        return []
    return list(
        session.scalars(select(Request).where(Request.child_id.in_(ids)).order_by(Request.submitted_at, Request.id))
    )


def request_for_update(session: Session, request_id: uuid.UUID) -> Request | None:
    return session.scalars(select(Request).where(Request.id == request_id).with_for_update().execution_options(populate_existing=True)).first()


def open_illness(session: Session, child_id: uuid.UUID) -> Request | None:
    """Return the child's illness that has no recovery yet, if any."""
    return session.scalars(
        select(Request)
        .where(
            Request.child_id == child_id,
            Request.kind == "illness",
            Request.state.in_(OPEN_STATES),
            Request.end_date.is_(None),
        )
        .order_by(Request.start_date.desc())
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def pending_requests(session: Session, group_ids: Iterable[uuid.UUID]) -> list[Request]:
    ids = list(set(group_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(Request)
            .where(Request.group_id.in_(ids), Request.state.in_(("submitted", "waitlisted")))
            .order_by(Request.start_date, Request.submitted_at)
        )
    )


def closing_days_of_locations(
    session: Session, location_ids: Iterable[uuid.UUID], start: date, end: date
) -> list[ClosingDayRow]:
    ids = list(set(location_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(ClosingDayRow)
            .where(ClosingDayRow.location_id.in_(ids), ClosingDayRow.day.between(start, end))
            .order_by(ClosingDayRow.day)
        )
    )


def closing_day(session: Session, location_id: uuid.UUID, day: date, group_id: uuid.UUID | None) -> ClosingDayRow | None:
    group_condition = ClosingDayRow.group_id.is_(None) if group_id is None else ClosingDayRow.group_id == group_id
    return session.scalars(
        select(ClosingDayRow).where(ClosingDayRow.location_id == location_id, ClosingDayRow.day == day, group_condition)
    ).first()


def rules_document(session: Session, organisation_id: uuid.UUID) -> RulesDocument | None:
    return session.get(RulesDocument, organisation_id)


def credit_movements(session: Session, child_id: uuid.UUID) -> list[CreditMovement]:
    return list(
        session.scalars(
            select(CreditMovement)
            .where(CreditMovement.child_id == child_id)
            .order_by(CreditMovement.on, CreditMovement.created_at, CreditMovement.id)
        )
    )


def insert_credit_movement(session: Session, values: dict) -> None:
    """Insert a ledger line; a line with the same id (an expiry computed twice) is skipped."""
    session.execute(insert(CreditMovement).values(**values).on_conflict_do_nothing(index_elements=[CreditMovement.id]))


def credit_movements_of_request(session: Session, request_id: uuid.UUID) -> list[CreditMovement]:
    return list(session.scalars(select(CreditMovement).where(CreditMovement.request_id == request_id)))


def idempotency_record(session: Session, caller_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
    return session.get(IdempotencyRecord, (caller_id, key))


def calendar_feed_by_hash(session: Session, token_hash: str) -> CalendarFeed | None:
    return session.scalars(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash)).first()


def upsert_calendar_feed(session: Session, child_id: uuid.UUID, guardian_id: uuid.UUID, token_hash: str, language: str) -> None:
    statement = insert(CalendarFeed).values(
        child_id=child_id, guardian_id=guardian_id, token_hash=token_hash, language=language
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[CalendarFeed.child_id, CalendarFeed.guardian_id],
            set_={"token_hash": token_hash, "language": language, "created_at": func.now()},
        )
    )


def requests_overlapping(session: Session, child_id: uuid.UUID, start: date, end: date) -> list[Request]:
    return list(
        session.scalars(
            select(Request).where(
                Request.child_id == child_id,
                or_(
                    and_(Request.start_date <= end, or_(Request.end_date.is_(None), Request.end_date >= start)),
                    Request.given_up_date.between(start, end),
                ),
            )
        )
    )


def day_requests_on_closure(
    session: Session, location_id: uuid.UUID, group_id: uuid.UUID | None, day: date
) -> list[Request]:
    """Return open extra days and swap-ins on `day` in the location, or only in `group_id` when given."""
    conditions = [
        Request.location_id == location_id,
        Request.kind.in_(DAY_KINDS),
        Request.state.in_(OPEN_STATES),
        Request.start_date == day,
    ]
    if group_id is not None:
        conditions.append(Request.group_id == group_id)
    return list(session.scalars(select(Request).where(*conditions).order_by(Request.submitted_at, Request.id)))


def waitlisted_on_group_day(session: Session, group_id: uuid.UUID, day: date) -> list[Request]:
    """Return waitlisted extra days and swap-ins for a group and day, first submitted first."""
    return list(
        session.scalars(
            select(Request)
            .where(
                Request.group_id == group_id,
                Request.kind.in_(DAY_KINDS),
                Request.state == "waitlisted",
                Request.start_date == day,
            )
            .order_by(Request.submitted_at, Request.id)
        )
    )


def children_with_credit_lots(session: Session) -> list[uuid.UUID]:
    """Return the children with earned or adjusted hours: the ones whose hours can expire."""
    rows = session.scalars(
        select(CreditMovement.child_id).where(CreditMovement.kind.in_(("earned", "adjusted"))).distinct()
    )
    return sorted(rows, key=str)


def insert_attendance(session: Session, values: dict) -> bool:
    """Insert a check-in or check-out; return False when the attendance id is stored already."""
    statement = (
        insert(AttendanceRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[AttendanceRecord.attendance_id])
        .returning(AttendanceRecord.attendance_id)
    )
    return session.execute(statement).first() is not None


def attendance_of_group_day(session: Session, group_id: uuid.UUID, day: date) -> list[AttendanceRecord]:
    """Return a group's check-ins and check-outs of a local date in event time order."""
    return list(
        session.scalars(
            select(AttendanceRecord)
            .where(AttendanceRecord.group_id == group_id, AttendanceRecord.local_date == day)
            .order_by(AttendanceRecord.at, AttendanceRecord.kind, AttendanceRecord.created_at)
        )
    )


def care_end_for_update(session: Session, child_id: uuid.UUID) -> CareEnd | None:
    return session.get(CareEnd, child_id, with_for_update=True)


def placement_for_update(session: Session, placement_id: uuid.UUID) -> PlacementCopy | None:
    return session.get(PlacementCopy, placement_id, with_for_update=True, populate_existing=True)
