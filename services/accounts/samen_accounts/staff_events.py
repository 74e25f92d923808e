"""Events from the planning system and the kiosk, applied to the accounts data.

`StaffEventsMixin` is one of `AccountsService`'s bases. Each handler runs in one transaction:
it claims the event id, checks that the acting staff member may do this, applies the change
and stages the resulting events in the outbox. A handler that raises `EventRejected` rolls all
of that back and the consumer moves the message to `samen.dead-letters`.

Changes of one record are ordered by the event's `occurred_at`: the record keeps the time of
the newest event applied to it, and an event that is not newer changes nothing. An event with
exactly the same `occurred_at` as the applied one counts as not newer.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from samen_accounts import queries
from samen_accounts.importer import _upsert
from samen_accounts.models import (
    Account,
    AttendanceEvent,
    Child,
    Group,
    GuardianLinkVersion,
    Guardianship,
    HandledEvent,
    Location,
    PhotoConsentRecord,
    Placement,
)
from samen_accounts.scopes import staff_scope
from samen_common.auth import AccountKind
from samen_common.db import atomic
from samen_common.errors import NotFound
from samen_common.outbox import claim_event
from samen_common.rpc import rpc
from samen_common.staff_consumer import EventRejected, staff_event
from samen_common.timeutil import AMSTERDAM, local_today

log = structlog.get_logger(__name__)

CHECK_IN = "checked_in"
CHECK_OUT = "checked_out"


def _lock(session: Session, *keys: str) -> None:
    """Serialise handlers that touch the same planning records, in a fixed order against deadlocks."""
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def _parse_day(value: str) -> date:
    return date.fromisoformat(value)


def _newer(applied_at: datetime | None, occurred_at: datetime) -> bool:
    return applied_at is None or occurred_at > applied_at


def _placement_facts(placement: Placement) -> dict:
    return {
        "id": str(placement.id), "child_id": str(placement.child_id), "group_id": str(placement.group_id),
        "care_type": placement.care_type, "weekdays": list(placement.weekdays), "dayparts": list(placement.dayparts),
        "start_date": placement.start_date.isoformat(),
        "end_date": placement.end_date.isoformat() if placement.end_date else None,
    }


class StaffEventsMixin:
    """Consumers of planning and kiosk events, and the attendance log they fill."""

    # Planning system.

    @staff_event("child_enrolled")
    def on_child_enrolled(self, event: dict) -> None:
        record, placement = event["child"], event["placement"]
        numbers = [g["account_number"] for g in event["guardians"]]
        with atomic(self.db):
            _lock(self.db, f"child:{record['ref']}", f"placement:{placement['ref']}", *(f"account:{n}" for n in numbers))
            if not self._claim(event, "on_child_enrolled"):
                return
            actor = self._actor(event)
            group = self._group_by_ref(placement["group"])
            location = self.db.get(Location, group.location_id)
            self._require_location_manager(actor, {location.id}, event)

            child = self._enrol_child(record, location.organisation_id, event["occurred_at"])
            for guardian_record in event["guardians"]:
                guardian = self._upsert_guardian(guardian_record, location.organisation_id)
                if self._set_link(child, guardian, True, event["occurred_at"], guardian_record["relation"]):
                    self._publish_link(child, guardian, "guardian_added")
            self._apply_placement(placement, child, group, location.organisation_id, event["occurred_at"])
        log.info("staff_event.applied", event_type="child_enrolled", event_id=str(event["event_id"]), child_ref=record["ref"])

    @staff_event("placement_changed")
    def on_placement_changed(self, event: dict) -> None:
        placement = event["placement"]
        with atomic(self.db):
            _lock(self.db, f"child:{placement['child']}", f"placement:{placement['ref']}")
            if not self._claim(event, "on_placement_changed"):
                return
            actor = self._actor(event)
            child = self._child_by_ref(placement["child"])
            group = self._group_by_ref(placement["group"])
            location_ids = {group.location_id}
            existing = self.db.scalars(select(Placement).where(Placement.external_ref == placement["ref"])).first()
            if existing is not None:
                location_ids.add(self.db.get(Group, existing.group_id).location_id)
            self._require_location_manager(actor, location_ids, event)
            self._apply_placement(placement, child, group, child.organisation_id, event["occurred_at"])
        log.info("staff_event.applied", event_type="placement_changed", event_id=str(event["event_id"]), placement_ref=placement["ref"])

    @staff_event("care_ended")
    def on_care_ended(self, event: dict) -> None:
        end_date: date = event["end_date"]
        occurred_at = event["occurred_at"]
        with atomic(self.db):
            _lock(self.db, f"child:{event['child']}")
            if not self._claim(event, "on_care_ended"):
                return
            actor = self._actor(event)
            child = self._child_by_ref(event["child"])
            placements = list(self.db.scalars(select(Placement).where(Placement.child_id == child.id).with_for_update()))
            self._require_location_manager(actor, self._locations_of(child, placements), event)
            if not _newer(child.record_event_at, occurred_at):
                log.info("staff_event.outdated", event_type="care_ended", event_id=str(event["event_id"]))
                return

            child.care_ended_on = end_date
            child.record_event_at = occurred_at
            for placement in placements:
                if placement.end_date is None or placement.end_date > end_date:
                    placement.end_date = max(end_date, placement.start_date)
                    placement.record_event_at = occurred_at
                    self._publish_placement(placement, child.organisation_id)
            self.outbox.add(self.db, "care_ended", {
                "child_id": str(child.id), "organisation_id": str(child.organisation_id), "end_date": end_date.isoformat(),
            })
        log.info("staff_event.applied", event_type="care_ended", event_id=str(event["event_id"]), child_id=str(child.id))

    @staff_event("guardian_added")
    def on_guardian_added(self, event: dict) -> None:
        record = event["guardian"]
        with atomic(self.db):
            _lock(self.db, f"child:{event['child']}", f"account:{record['account_number']}")
            if not self._claim(event, "on_guardian_added"):
                return
            actor = self._actor(event)
            child = self._child_by_ref(event["child"])
            self._require_location_manager(actor, self._locations_of(child), event)
            guardian = self._upsert_guardian(record, child.organisation_id)
            if self._set_link(child, guardian, True, event["occurred_at"], record["relation"]):
                self._publish_link(child, guardian, "guardian_added")
        log.info("staff_event.applied", event_type="guardian_added", event_id=str(event["event_id"]), child_id=str(child.id))

    @staff_event("guardian_removed")
    def on_guardian_removed(self, event: dict) -> None:
        number = event["guardian_account_number"]
        with atomic(self.db):
            _lock(self.db, f"child:{event['child']}", f"account:{number}")
            if not self._claim(event, "on_guardian_removed"):
                return
            actor = self._actor(event)
            child = self._child_by_ref(event["child"])
            self._require_location_manager(actor, self._locations_of(child), event)
            guardian = self._guardian_by_number(number, child)
            if self._set_link(child, guardian, False, event["occurred_at"]):
                self._publish_link(child, guardian, "guardian_removed")
                self._recompute_consent(child, guardian.id, event["occurred_at"])
        log.info("staff_event.applied", event_type="guardian_removed", event_id=str(event["event_id"]), child_id=str(child.id))

    @staff_event("photo_consent_recorded")
    def on_photo_consent_recorded(self, event: dict) -> None:
        number = event["guardian_account_number"]
        occurred_at = event["occurred_at"]
        with atomic(self.db):
            _lock(self.db, f"child:{event['child']}")
            if not self._claim(event, "on_photo_consent_recorded"):
                return
            actor = self._actor(event)
            child = self._child_by_ref(event["child"])
            self._require_location_manager(actor, self._locations_of(child), event)
            guardian = self._guardian_by_number(number, child)
            if self.db.get(Guardianship, (guardian.id, child.id)) is None:
                raise EventRejected("guardian_not_of_child", child_ref=event["child"], guardian_account_number=number)

            record = self.db.get(PhotoConsentRecord, (child.id, guardian.id), with_for_update=True)
            if record is not None and not _newer(record.occurred_at, occurred_at):
                log.info("staff_event.outdated", event_type="photo_consent_recorded", event_id=str(event["event_id"]))
                return
            if record is None:
                record = PhotoConsentRecord(child_id=child.id, guardian_id=guardian.id)
                self.db.add(record)
            record.granted = event["granted"]
            record.occurred_at = occurred_at
            record.event_id = str(event["event_id"])
            self.db.flush()
            self._recompute_consent(child, guardian.id, occurred_at)
        log.info("staff_event.applied", event_type="photo_consent_recorded", event_id=str(event["event_id"]), child_id=str(child.id))

    # Kiosk and staff app.

    @staff_event("child_checked_in")
    def on_child_checked_in(self, event: dict) -> None:
        self._record_attendance(event, CHECK_IN)

    @staff_event("child_checked_out")
    def on_child_checked_out(self, event: dict) -> None:
        self._record_attendance(event, CHECK_OUT)

    @rpc
    def attendance(self, group_id: str, date: str | None = None) -> dict:
        """Return the check-ins and check-outs of a group on a local date (default today).

        The caller must be staff who may act on the group; anyone else gets NotFound.
        """
        caller = self.caller().require_staff()
        account = self.db.get(Account, uuid.UUID(caller.account_id))
        try:
            group_uuid = uuid.UUID(str(group_id))
            day = _parse_day(date) if date else local_today()
        except (TypeError, ValueError):
            raise NotFound() from None
        if account is None or str(group_uuid) not in staff_scope(self.db, account, local_today())["group_ids"]:
            raise NotFound()

        rows = self.db.scalars(
            select(AttendanceEvent)
            .where(AttendanceEvent.group_id == group_uuid, AttendanceEvent.local_date == day)
            .order_by(AttendanceEvent.occurred_at, AttendanceEvent.created_at)
        ).all()
        children: dict[str, dict] = {}
        for row in rows:
            state = children.setdefault(str(row.child_id), {"child_id": str(row.child_id), "checked_in_at": None,
                                                            "checked_out_at": None, "collected_by": None})
            if row.kind == CHECK_IN:
                state["checked_in_at"] = row.occurred_at.isoformat()
            else:
                state["checked_out_at"] = row.occurred_at.isoformat()
                state["collected_by"] = row.collected_by
        return {
            "group_id": str(group_uuid),
            "date": day.isoformat(),
            "children": list(children.values()),
            "events": [
                {"id": str(row.id), "child_id": str(row.child_id), "kind": row.kind, "at": row.occurred_at.isoformat(),
                 "recorded_by": str(row.recorded_by), "collected_by": row.collected_by}
                for row in rows
            ],
        }

    # Steps shared by the handlers.

    def _claim(self, event: dict, handler: str) -> bool:
        claimed = claim_event(self.db, HandledEvent, str(event["event_id"]), f"accounts.{handler}")
        if not claimed:
            log.info("staff_event.duplicate", handler=handler, event_id=str(event["event_id"]))
        return claimed

    def _actor(self, event: dict) -> Account:
        actor = queries.account_by_number(self.db, event["actor_account_number"])
        if actor is None or not actor.active or actor.kind != AccountKind.STAFF:
            raise EventRejected("actor_unknown", actor_account_number=event["actor_account_number"])
        return actor

    def _require_location_manager(self, actor: Account, location_ids: set[uuid.UUID], event: dict) -> None:
        """Reject unless the actor is admin, coordinator or unit manager of every location given."""
        scope = staff_scope(self.db, actor, local_today())
        managed = set(scope["managed_location_ids"])
        missing = {str(location) for location in location_ids} - managed
        if missing or not location_ids:
            raise EventRejected("actor_not_allowed", actor_account_number=actor.account_number, location_ids=sorted(missing))

    def _group_by_ref(self, ref: str) -> Group:
        group = self.db.scalars(select(Group).where(Group.external_ref == ref)).first()
        if group is None:
            raise EventRejected("unknown_group", group_ref=ref)
        return group

    def _child_by_ref(self, ref: str) -> Child:
        child = self.db.scalars(select(Child).where(Child.external_ref == ref).with_for_update()).first()
        if child is None:
            raise EventRejected("unknown_child", child_ref=ref)
        return child

    def _guardian_by_number(self, number: str, child: Child) -> Account:
        guardian = queries.account_by_number(self.db, number)
        if guardian is None or guardian.kind != AccountKind.GUARDIAN or guardian.organisation_id != child.organisation_id:
            raise EventRejected("unknown_guardian", guardian_account_number=number)
        return guardian

    def _locations_of(self, child: Child, placements: list[Placement] | None = None) -> set[uuid.UUID]:
        """Return the locations of every group the child has a placement in."""
        if placements is None:
            placements = list(self.db.scalars(select(Placement).where(Placement.child_id == child.id)))
        group_ids = {p.group_id for p in placements}
        return {location.id for _, location in queries.groups_with_locations(self.db, group_ids)}

    def _enrol_child(self, record: dict, organisation_id: uuid.UUID, occurred_at: datetime) -> Child:
        child = self.db.scalars(select(Child).where(Child.external_ref == record["ref"]).with_for_update()).first()
        if child is not None and child.organisation_id != organisation_id:
            raise EventRejected("unknown_child", child_ref=record["ref"])
        if child is not None and not _newer(child.record_event_at, occurred_at):
            return child
        return _upsert(
            self.db, Child, "external_ref", record["ref"], organisation_id=organisation_id,
            first_name=record["first_name"], last_name=record["last_name"], birth_date=record["birth_date"],
            care_ended_on=None, record_event_at=occurred_at,
        )

    def _upsert_guardian(self, record: dict, organisation_id: uuid.UUID) -> Account:
        existing = queries.account_by_number(self.db, record["account_number"])
        if existing is not None and (existing.kind != AccountKind.GUARDIAN or existing.organisation_id != organisation_id):
            raise EventRejected("account_number_taken", guardian_account_number=record["account_number"])
        # NOTE: a new guardian account has no password; the guardian sets one with a password
        # reset until an invitation mail exists.
        return _upsert(
            self.db, Account, "account_number", record["account_number"], organisation_id=organisation_id,
            kind=AccountKind.GUARDIAN.value, display_name=record["name"],
            email=record["email"] if record["email"] else (existing.email if existing else None),
            language=record["language"],
        )

    def _set_link(self, child: Child, guardian: Account, linked: bool, occurred_at: datetime,
                  relation: str | None = None) -> bool:
        """Link or unlink a guardian unless a newer event decided already; return True when the link changed."""
        version = self.db.get(GuardianLinkVersion, (child.id, guardian.id), with_for_update=True)
        if version is not None and not _newer(version.occurred_at, occurred_at):
            return False
        if version is None:
            version = GuardianLinkVersion(child_id=child.id, guardian_id=guardian.id)
            self.db.add(version)
        version.linked = linked
        version.occurred_at = occurred_at

        link = self.db.get(Guardianship, (guardian.id, child.id))
        if linked and link is None:
            self.db.add(Guardianship(guardian_id=guardian.id, child_id=child.id, relation=relation or "parent"))
            self.db.flush()
            return True
        if linked:
            link.relation = relation or link.relation
            return False
        if link is not None:
            self.db.execute(delete(Guardianship).where(Guardianship.guardian_id == guardian.id, Guardianship.child_id == child.id))
            return True
        return False

    def _apply_placement(self, record: dict, child: Child, group: Group, organisation_id: uuid.UUID,
                         occurred_at: datetime) -> None:
        existing = self.db.scalars(select(Placement).where(Placement.external_ref == record["ref"]).with_for_update()).first()
        if existing is not None and existing.child_id != child.id:
            raise EventRejected("placement_of_other_child", placement_ref=record["ref"])
        if existing is not None and not _newer(existing.record_event_at, occurred_at):
            log.info("staff_event.placement_outdated", placement_ref=record["ref"])
            return
        placement = _upsert(
            self.db, Placement, "external_ref", record["ref"], child_id=child.id, group_id=group.id,
            care_type=record["care_type"], weekdays=sorted(set(record["weekdays"])), dayparts=list(record["dayparts"]),
            start_date=record["start"], end_date=record["end"], record_event_at=occurred_at,
        )
        self._publish_placement(placement, organisation_id)

    def _recompute_consent(self, child: Child, guardian_id: uuid.UUID, occurred_at: datetime) -> None:
        """Set the child's consent from its current guardians' decisions: any refusal wins.

        Without a decision of a current guardian the stored consent stays as it is.
        """
        current = {link.guardian_id for link in queries.guardian_links(self.db, [child.id])}
        decisions = [
            record.granted
            for record in self.db.scalars(select(PhotoConsentRecord).where(PhotoConsentRecord.child_id == child.id))
            if record.guardian_id in current
        ]
        if not decisions:
            return
        consent = all(decisions)
        changed = consent != bool(child.photo_consent)
        child.photo_consent = consent
        child.consent_recorded_by = guardian_id
        child.consent_recorded_at = occurred_at
        if changed:
            self.outbox.add(self.db, "child_consent_changed", {
                "child_id": str(child.id), "organisation_id": str(child.organisation_id),
                "photo_consent": consent, "recorded_by": str(guardian_id),
            })

    def _record_attendance(self, event: dict, kind: str) -> None:
        handler = "on_child_" + kind
        with atomic(self.db):
            if not self._claim(event, handler):
                return
            actor = self._actor(event)
            child = self.db.get(Child, event["child_id"])
            group = self.db.get(Group, event["group_id"])
            if child is None or group is None or child.organisation_id != actor.organisation_id:
                raise EventRejected("unknown_child_or_group", child_id=str(event["child_id"]), group_id=str(event["group_id"]))
            scope = staff_scope(self.db, actor, local_today())
            if str(group.id) not in scope["group_ids"]:
                raise EventRejected("actor_not_allowed", actor_account_number=actor.account_number, group_id=str(group.id))

            local_date = event["at"].astimezone(AMSTERDAM).date()
            placed = {child_id for child_id, _ in queries.children_in_groups(self.db, [group.id], local_date)}
            if child.id not in placed:
                raise EventRejected("child_not_in_group", child_id=str(child.id), group_id=str(group.id), date=local_date.isoformat())

            row = AttendanceEvent(
                event_id=str(event["event_id"]), child_id=child.id, group_id=group.id, kind=kind,
                occurred_at=event["at"], local_date=local_date, recorded_by=actor.id,
                collected_by=event.get("collected_by"),
            )
            self.db.add(row)
            self.db.flush()
            facts = {
                "attendance_id": str(row.id), "child_id": str(child.id), "group_id": str(group.id),
                "at": event["at"].isoformat(), "recorded_by": str(actor.id),
            }
            if kind == CHECK_OUT:
                facts["collected_by"] = row.collected_by
            self.outbox.add(self.db, "child_" + kind, facts)
        log.info("staff_event.applied", event_type="child_" + kind, event_id=str(event["event_id"]), child_id=str(child.id))

    def _publish_placement(self, placement: Placement, organisation_id: uuid.UUID) -> None:
        self.outbox.add(self.db, "placement_changed", {
            "placement": _placement_facts(placement), "organisation_id": str(organisation_id),
        })

    def _publish_link(self, child: Child, guardian: Account, event_type: str) -> None:
        self.outbox.add(self.db, event_type, {
            "child_id": str(child.id), "guardian_id": str(guardian.id), "organisation_id": str(child.organisation_id),
        })
