"""Queries of the accounts service, named for what they read or write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Row, bindparam, func, or_, select, true, update
from sqlalchemy.orm import Session

from samen_accounts.models import (
    Account,
    AuditEntry,
    Child,
    Group,
    Guardianship,
    Location,
    LoginAttempt,
    PasswordResetToken,
    Placement,
    RefreshToken,
    StaffGroup,
    StaffRoleAssignment,
)


def account_by_number(session: Session, account_number: str) -> Account | None:
    return session.scalars(select(Account).where(Account.account_number == account_number)).first()


def count_failures(
    session: Session, *, since: datetime, account_number: str | None = None, client_address: str | None = None
) -> int:
    conditions = [LoginAttempt.occurred_at >= since, LoginAttempt.succeeded.is_(False)]
    if account_number is not None:
        conditions.append(LoginAttempt.account_number == account_number)
    if client_address is not None:
        conditions.append(LoginAttempt.client_address == client_address)
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(*conditions)) or 0


def last_failure_at(session: Session, *, since: datetime, account_number: str, client_address: str) -> datetime | None:
    return session.scalar(
        select(func.max(LoginAttempt.occurred_at)).where(
            LoginAttempt.occurred_at >= since,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.account_number == account_number,
            LoginAttempt.client_address == client_address,
        )
    )


def count_failures_from_unknown_addresses(
    session: Session, *, since: datetime, known_since: datetime, account_number: str
) -> int:
    """Count recent failures for an account from addresses that never logged in to it."""
    known = (
        select(LoginAttempt.client_address)
        .where(
            LoginAttempt.account_number == account_number,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.occurred_at >= known_since,
        )
        .scalar_subquery()
    )
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.account_number == account_number,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.occurred_at >= since,
                LoginAttempt.client_address.not_in(known),
            )
        )
        or 0
    )


def is_known_address(session: Session, *, account_number: str, client_address: str, since: datetime) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.account_number == account_number,
                LoginAttempt.client_address == client_address,
                LoginAttempt.succeeded.is_(True),
                LoginAttempt.occurred_at >= since,
            )
        )
        or 0
    ) > 0


def insert_audit(
    session: Session,
    action: str,
    *,
    account_id: uuid.UUID | None = None,
    account_number: str | None = None,
    client_address: str | None = None,
    request_id: str | None = None,
    details: dict | None = None,
) -> None:
    session.add(
        AuditEntry(
            action=action,
            account_id=account_id,
            account_number=account_number,
            client_address=client_address,
            request_id=request_id,
            details=details or {},
        )
    )


def refresh_token_for_update(session: Session, token_hash: str) -> RefreshToken | None:
    """Lock a refresh token row and reload it, so a concurrent rotation is seen."""
    return session.scalars(
        select(RefreshToken)
        .where(RefreshToken.token_hash == token_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def reset_token_for_update(session: Session, token_hash: str) -> PasswordResetToken | None:
    return session.scalars(
        select(PasswordResetToken)
        .where(PasswordResetToken.token_hash == token_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def count_recent_reset_tokens(session: Session, account_id: uuid.UUID, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PasswordResetToken)
            .where(PasswordResetToken.account_id == account_id, PasswordResetToken.created_at >= since)
        )
        or 0
    )


def nth_failure_time(
    session: Session, *, since: datetime, offset: int, account_number: str | None = None,
    client_address: str | None = None,
) -> datetime | None:
    """Return the time of the failure at `offset` (oldest first) within the window."""
    conditions = [LoginAttempt.occurred_at >= since, LoginAttempt.succeeded.is_(False)]
    if account_number is not None:
        conditions.append(LoginAttempt.account_number == account_number)
    if client_address is not None:
        conditions.append(LoginAttempt.client_address == client_address)
    return session.scalar(
        select(LoginAttempt.occurred_at).where(*conditions).order_by(LoginAttempt.occurred_at).offset(offset).limit(1)
    )


def revoke_family(session: Session, family_id: uuid.UUID, reason: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def revoke_account_families(
    session: Session, account_id: uuid.UUID, reason: str, now: datetime, keep_family: uuid.UUID | None = None
) -> None:
    conditions = [RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None)]
    if keep_family is not None:
        conditions.append(RefreshToken.family_id != keep_family)
    session.execute(update(RefreshToken).where(*conditions).values(revoked_at=now, revoked_reason=reason))


def staff_roles(session: Session, staff_id: uuid.UUID) -> list[StaffRoleAssignment]:
    return list(session.scalars(select(StaffRoleAssignment).where(StaffRoleAssignment.staff_id == staff_id)))


def staff_group_ids(session: Session, staff_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(StaffGroup.group_id).where(StaffGroup.staff_id == staff_id)))


def groups_of_locations(session: Session, location_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    return list(session.scalars(select(Group.id).where(Group.location_id.in_(list(location_ids)))))


def all_location_ids(session: Session, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(Location.id).where(Location.organisation_id == organisation_id)))


def current_placements(session: Session, child_ids: Iterable[uuid.UUID], on: date) -> list[Placement]:
    """Return placements active on `on`, or the next one to start for a child not yet placed."""
    return list(
        session.scalars(
            select(Placement)
            .where(
                Placement.child_id.in_(list(child_ids)),
                or_(Placement.end_date.is_(None), Placement.end_date >= on),
            )
            .order_by(Placement.child_id, Placement.start_date)
        )
    )


def children_of_guardian(session: Session, guardian_id: uuid.UUID) -> list[Child]:
    return list(
        session.scalars(
            select(Child)
            .join(Guardianship, Guardianship.child_id == Child.id)
            .where(Guardianship.guardian_id == guardian_id)
            .order_by(Child.birth_date)
        )
    )


def _guardian_children_statement():
    child, guardianship, placement = Child.__table__.c, Guardianship.__table__.c, Placement.__table__.c
    group, location = Group.__table__.c, Location.__table__.c
    current = (
        select(placement.group_id)
        .where(
            placement.child_id == child.id,
            or_(placement.end_date.is_(None), placement.end_date >= bindparam("on")),
        )
        .order_by(placement.start_date)
        .limit(1)
        .correlate(Child.__table__)
        .lateral("current_placement")
    )
    return (
        select(
            child.id, child.first_name, child.last_name, child.birth_date, child.photo_consent, child.care_ended_on,
            group.id.label("group_id"), group.name.label("group_name"),
            location.id.label("location_id"), location.name.label("location_name"),
        )
        .select_from(Child.__table__)
        .join(Guardianship.__table__, guardianship.child_id == child.id)
        .outerjoin(current, true())
        .outerjoin(Group.__table__, group.id == current.c.group_id)
        .outerjoin(Location.__table__, location.id == group.location_id)
        .where(guardianship.guardian_id == bindparam("guardian_id"))
        .order_by(child.birth_date)
    )


# Both statements are built once, from the tables rather than the mapped classes.
# SQLAlchemy keeps a statement's cache key on the statement object, so a statement built per
# call is traversed again on every call: a quarter of the CPU time of `me` in a py-spy profile.
# A statement of mapped classes also goes through the ORM's result set-up, even for columns.
_GUARDIAN_CHILDREN = _guardian_children_statement()
_account = Account.__table__.c
_ACCOUNT_PROFILE = select(
    _account.id, _account.account_number, _account.kind, _account.display_name, _account.email, _account.language,
    _account.active, _account.organisation_id,
).where(_account.id == bindparam("account_id"))


def account_profile(session: Session, account_id: uuid.UUID) -> Row | None:
    """Return the columns of one account that `me` and `scope_of` read, or None."""
    return session.execute(_ACCOUNT_PROFILE, {"account_id": account_id}).first()


def children_of_guardian_with_groups(session: Session, guardian_id: uuid.UUID, on: date) -> list[Row]:
    """Return the guardian's children by birth date, each with the group and location of its
    current placement (picked as `current_placements` does), or None for a child without one.

    Rows have `id`, `first_name`, `last_name`, `birth_date`, `photo_consent`, `care_ended_on`,
    `group_id`, `group_name`, `location_id` and `location_name`. `me` and `scope_of` run this on
    every call, so it is one statement in place of three and selects columns, not ORM objects:
    loading three mapped entities per row took twice the CPU time of the statement itself.
    """
    return list(session.execute(_GUARDIAN_CHILDREN, {"guardian_id": guardian_id, "on": on}))


def children_by_ids(session: Session, child_ids: Iterable[uuid.UUID]) -> list[Child]:
    return list(session.scalars(select(Child).where(Child.id.in_(list(child_ids)))))


def guardian_placement_locations(session: Session, guardian_id: uuid.UUID, since: date) -> list[uuid.UUID]:
    """Return the locations of the guardian's children's placements that last until `since` or later."""
    rows = session.execute(
        select(Group.location_id)
        .join(Placement, Placement.group_id == Group.id)
        .join(Guardianship, Guardianship.child_id == Placement.child_id)
        .where(Guardianship.guardian_id == guardian_id, or_(Placement.end_date.is_(None), Placement.end_date >= since))
        .distinct()
    )
    return [row[0] for row in rows]


def guardian_links(session: Session, child_ids: Iterable[uuid.UUID]) -> list[Guardianship]:
    return list(session.scalars(select(Guardianship).where(Guardianship.child_id.in_(list(child_ids)))))


def children_in_groups(session: Session, group_ids: Iterable[uuid.UUID], on: date) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Return (child id, group id) for placements in the groups that are active on `on`."""
    rows = session.execute(
        select(Placement.child_id, Placement.group_id).where(
            Placement.group_id.in_(list(group_ids)),
            Placement.start_date <= on,
            or_(Placement.end_date.is_(None), Placement.end_date >= on),
        )
    )
    return [(row.child_id, row.group_id) for row in rows]


def staff_in_groups(session: Session, group_ids: Iterable[uuid.UUID]) -> list[StaffGroup]:
    return list(session.scalars(select(StaffGroup).where(StaffGroup.group_id.in_(list(group_ids)))))


def groups_with_locations(session: Session, group_ids: Iterable[uuid.UUID]) -> list[tuple[Group, Location]]:
    rows = session.execute(
        select(Group, Location).join(Location, Location.id == Group.location_id).where(Group.id.in_(list(group_ids)))
    )
    return [(row.Group, row.Location) for row in rows]


def accounts_by_ids(session: Session, account_ids: Iterable[uuid.UUID]) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.id.in_(list(account_ids)))))


def active_guardians_for_groups(session: Session, group_ids: Iterable[uuid.UUID], on: date) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Return (guardian id, child id) for children placed in the groups on `on`."""
    rows = session.execute(
        select(Guardianship.guardian_id, Guardianship.child_id)
        .join(Placement, Placement.child_id == Guardianship.child_id)
        .join(Account, Account.id == Guardianship.guardian_id)
        .where(
            Placement.group_id.in_(list(group_ids)),
            Placement.start_date <= on,
            or_(Placement.end_date.is_(None), Placement.end_date >= on),
            Account.active.is_(True),
        )
        .distinct()
    )
    return [(row.guardian_id, row.child_id) for row in rows]


