"""Invoices and annual statements for one guardian, and the parent committee of a location.

The PDF bytes never reach this service. The gateway writes an upload to object storage under a
random `documents/` key and passes the key with the metadata. This service checks that the
object exists with the stated size, stores the metadata and later returns the key to the
gateway, which streams the file to the reader.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import date

import structlog
from sqlalchemy import select

from samen_common.auth import LOCATION_WIDE_ROLES, Caller
from samen_common.db import atomic
from samen_common.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, ServiceUnavailable
from samen_common.rpc import rpc
from samen_common.timeutil import local_today, utcnow
from samen_media.settings import shared_storage
from samen_media.storage import ObjectNotFound, StorageError, validate_key
from samen_messaging import access
from samen_messaging.base import EARLIEST_DATE, LATEST_DATE, MessagingBase, field_error, iso, parse_date
from samen_messaging.models import Document, ParentCommittee
from samen_messaging.settings import messaging_settings

log = structlog.get_logger(__name__)

# The gateway writes uploads under this prefix (samen_gateway.api.documents).
DOCUMENT_KEY_PREFIX = "documents/"
TITLE_MAX_CHARS = 200
FILENAME_MAX_CHARS = 150
COMMITTEE_MAX_MEMBERS = 30
MEMBER_FIELD_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254
# A plain check of the form local@domain.tld. Whether the address receives mail is up to the
# coordinator who enters it.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
YEAR_PATTERN = re.compile(r"\d{4}")
MONTH_PATTERN = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    """An invoice for one guardian; its period is a month, YYYY-MM."""
    ANNUAL_STATEMENT = "annual_statement"
    """An annual statement (jaaropgave) for one guardian; its period is a year, YYYY."""
    COMMITTEE_MINUTES = "committee_minutes"
    """Minutes of a parent committee meeting for one location; its period is the meeting date."""


GUARDIAN_KINDS = (DocumentKind.INVOICE, DocumentKind.ANNUAL_STATEMENT)


class DocumentsMixin(MessagingBase):
    # Documents of one guardian.

    @rpc
    def add_guardian_document(self, guardian: str, kind: str, title: str, period: str, storage_key: str,
                              filename: str, size: int) -> dict:
        """Register a PDF that the gateway stored for a guardian, named by account id or account number."""
        caller = self._document_manager()
        guardian_scope = self._guardian_in_scope(guardian)
        try:
            document_kind = DocumentKind(kind)
        except ValueError:
            raise field_error("invalid_input", "kind", value=kind) from None
        if document_kind not in GUARDIAN_KINDS:
            raise field_error("invalid_input", "kind", value=kind)
        fields = _checked_fields(document_kind, title, period, storage_key, filename, size)
        with atomic(self.db):
            document = Document(
                id=uuid.uuid4(), organisation_id=uuid.UUID(caller.organisation_id),
                guardian_id=uuid.UUID(guardian_scope["account_id"]), kind=document_kind.value,
                uploaded_by=uuid.UUID(caller.account_id), created_at=utcnow(), **fields,
            )
            self.db.add(document)
            self.outbox.add(self.db, "document_added", {
                "document_id": str(document.id), "guardian_id": str(document.guardian_id),
                "organisation_id": str(document.organisation_id), "kind": document.kind,
            })
        log.info("document.added", document_id=str(document.id), kind=document.kind,
                 guardian_id=guardian_scope["account_id"], uploaded_by=caller.account_id)
        return _document_dict(document)

    @rpc
    def list_guardian_documents(self, guardian: str) -> list[dict]:
        """List a guardian's documents, newest first, for staff who may upload for that guardian."""
        self._document_manager()
        guardian_scope = self._guardian_in_scope(guardian)
        documents = self._documents_where(Document.guardian_id == uuid.UUID(guardian_scope["account_id"]))
        return [_document_dict(document) for document in documents]

    @rpc
    def list_my_documents(self) -> list[dict]:
        """List the calling guardian's own invoices and annual statements, newest first."""
        caller = self.caller().require_guardian()
        documents = self._documents_where(
            Document.guardian_id == uuid.UUID(caller.account_id),
            Document.organisation_id == uuid.UUID(caller.organisation_id),
        )
        return [_document_dict(document) for document in documents]

    @rpc
    def my_document_download(self, document_id: str) -> dict:
        """Return the storage key and file name of one of the calling guardian's own documents."""
        caller = self.caller().require_guardian()
        document = self.db.get(Document, access.parse_id(document_id))
        if (document is None or str(document.guardian_id) != caller.account_id
                or str(document.organisation_id) != caller.organisation_id):
            log.warning("document.not_found", document_id=str(document_id), account_id=caller.account_id)
            raise NotFound()
        log.info("document.downloaded", document_id=str(document.id), account_id=caller.account_id)
        return _download_dict(document)

    @rpc
    def delete_document(self, document_id: str) -> dict:
        """Delete a guardian's document or a location's minutes, then its stored file.

        The caller needs the rights that uploading it needs now: a location-wide role covering the
        guardian's children or the location.
        """
        caller = self._document_manager()
        document = self.db.get(Document, access.parse_id(document_id))
        if document is None or str(document.organisation_id) != caller.organisation_id:
            log.warning("document.not_found", document_id=str(document_id), account_id=caller.account_id)
            raise NotFound()
        if document.guardian_id is not None:
            self._guardian_in_scope(str(document.guardian_id))
        else:
            self._require_managed_location(str(document.location_id))
        key = document.storage_key
        with atomic(self.db):
            self.db.delete(document)
        try:
            shared_storage().delete(key)
        except StorageError as exc:
            # The row is gone, so no one can reach the file any more; only the bytes stay behind.
            log.warning("document.storage_delete_failed", document_id=str(document_id), key=key, error=str(exc)[:200])
        log.info("document.deleted", document_id=str(document_id), deleted_by=caller.account_id)
        return {"id": str(document_id), "deleted": True}

    # The parent committee of a location.

    @rpc
    def parent_committee(self, location_id: str) -> dict:
        """Return a location's parent committee with its minutes, newest first.

        Guardians see it for the locations their children attend, staff for the locations of
        their groups and the locations they manage.
        """
        location_name = self._readable_location(location_id)
        location_uuid = uuid.UUID(location_id)
        committee = self.db.get(ParentCommittee, location_uuid)
        minutes = self._documents_where(Document.location_id == location_uuid)
        return {
            "location_id": location_id,
            "location_name": location_name,
            "members": list(committee.members) if committee else [],
            "contact_email": committee.contact_email if committee else None,
            "updated_at": iso(committee.updated_at) if committee else None,
            "minutes": [_document_dict(document) for document in minutes],
        }

    @rpc
    def update_parent_committee(self, location_id: str, members: list[dict], contact_email: str | None) -> dict:
        """Replace the members and the contact address of a location's parent committee."""
        caller = self._document_manager()
        self._require_managed_location(location_id)
        cleaned_members = _checked_members(members)
        email = (contact_email or "").strip() or None
        if email is not None and (len(email) > EMAIL_MAX_CHARS or not EMAIL_PATTERN.fullmatch(email)):
            raise field_error("committee_email_invalid", "contact_email", value=email[:EMAIL_MAX_CHARS])
        with atomic(self.db):
            committee = self.db.get(ParentCommittee, uuid.UUID(location_id), with_for_update=True)
            if committee is None:
                committee = ParentCommittee(location_id=uuid.UUID(location_id),
                                            organisation_id=uuid.UUID(caller.organisation_id))
                self.db.add(committee)
            committee.members = cleaned_members
            committee.contact_email = email
            committee.updated_by = uuid.UUID(caller.account_id)
            committee.updated_at = utcnow()
        log.info("committee.updated", location_id=location_id, members=len(cleaned_members),
                 updated_by=caller.account_id)
        return self.parent_committee(location_id)

    @rpc
    def add_committee_minutes(self, location_id: str, title: str, period: str, storage_key: str, filename: str,
                              size: int) -> dict:
        """Register minutes that the gateway stored for a location; `period` is the meeting date."""
        caller = self._document_manager()
        self._require_managed_location(location_id)
        fields = _checked_fields(DocumentKind.COMMITTEE_MINUTES, title, period, storage_key, filename, size)
        with atomic(self.db):
            document = Document(
                id=uuid.uuid4(), organisation_id=uuid.UUID(caller.organisation_id),
                location_id=uuid.UUID(location_id), kind=DocumentKind.COMMITTEE_MINUTES.value,
                uploaded_by=uuid.UUID(caller.account_id), created_at=utcnow(), **fields,
            )
            self.db.add(document)
        log.info("document.added", document_id=str(document.id), kind=document.kind, location_id=location_id,
                 uploaded_by=caller.account_id)
        return _document_dict(document)

    @rpc
    def committee_minutes_download(self, location_id: str, document_id: str) -> dict:
        """Return the storage key and file name of minutes of a location the caller may read."""
        self._readable_location(location_id)
        document = self.db.get(Document, access.parse_id(document_id))
        if document is None or str(document.location_id) != location_id:
            log.warning("document.not_found", document_id=str(document_id), location_id=location_id,
                        account_id=self.caller().account_id)
            raise NotFound()
        return _download_dict(document)

    # Access.

    def _document_manager(self) -> Caller:
        """Return the caller when they are staff with a location-wide role (coordinator, unit manager, admin)."""
        caller = self.caller().require_staff()
        if not caller.has_role(*LOCATION_WIDE_ROLES):
            raise Forbidden("documents_role_required")
        return caller

    def _guardian_in_scope(self, guardian: str) -> dict:
        """Return the guardian's scope when one of their children attends a location the caller manages.

        `guardian` is an account id or an account number. An unknown account, a staff account and
        a guardian outside the caller's locations all raise NotFound.
        """
        caller = self.caller()
        value = str(guardian or "").strip()
        try:
            try:
                scope = self.accounts.scope_of(str(uuid.UUID(value)))
            except ValueError:
                scope = self.accounts.scope_of_account_number(value)
        except NotFound:
            log.warning("document.guardian_not_found", guardian=value[:64], account_id=caller.account_id)
            raise
        managed = set(self._scope().get("managed_location_ids", []))
        locations = {child.get("location_id") for child in scope.get("children", [])}
        if scope.get("kind") == "guardian" and not managed & locations:
            # Documents about an earlier period (the last invoices, last year's annual statement)
            # follow care that has ended, so placements that ended since last year count too.
            locations = set(self.accounts.guardian_placement_locations(scope["account_id"], _former_since()))
        if scope.get("kind") != "guardian" or not managed & locations:
            log.warning("document.guardian_not_found", guardian=value[:64], account_id=caller.account_id)
            raise NotFound()
        return scope

    def _require_managed_location(self, location_id: str) -> None:
        access.parse_id(location_id)
        if str(location_id) not in set(self._scope().get("managed_location_ids", [])):
            log.warning("committee.location_not_found", location_id=str(location_id),
                        account_id=self.caller().account_id)
            raise NotFound()

    def _readable_location(self, location_id: str) -> str | None:
        """Return the location's name when the caller may read its committee, else raise NotFound."""
        access.parse_id(location_id)
        scope = self._scope()
        if scope.get("kind") == "guardian":
            places = {child.get("location_id"): child.get("location_name") for child in scope.get("children", [])}
        else:
            places = {group["location_id"]: group.get("location_name") for group in scope.get("groups", [])}
            for managed in scope.get("managed_location_ids", []):
                places.setdefault(managed, None)
        if str(location_id) not in places:
            log.warning("committee.location_not_found", location_id=str(location_id),
                        account_id=scope.get("account_id"))
            raise NotFound()
        return places[str(location_id)]

    def _documents_where(self, *conditions) -> list[Document]:
        documents = self.db.scalars(
            select(Document).where(*conditions).order_by(Document.created_at.desc(), Document.id.desc()).limit(500)
        ).all()
        self.db.rollback()
        return list(documents)


def _checked_fields(kind: DocumentKind, title: str | None, period: str | None, storage_key: str | None,
                    filename: str | None, size) -> dict:
    """Check a document's metadata and its stored object; return the columns to insert."""
    title = (title or "").strip()
    if not title or len(title) > TITLE_MAX_CHARS:
        raise field_error("document_title_missing", "title", limit=TITLE_MAX_CHARS)
    period = _checked_period(kind, (period or "").strip())
    key, size = checked_upload(storage_key, size, messaging_settings().document_max_bytes)
    return {"title": title, "period": period, "filename": _safe_filename(filename), "storage_key": key, "size": size}


def _former_since() -> str:
    """Return January 1 of last year: placements that ended on or after it still allow documents."""
    return date(local_today().year - 1, 1, 1).isoformat()


def checked_upload(storage_key: str | None, size, limit: int) -> tuple[str, int]:
    """Check that the gateway stored `size` bytes (at most `limit`) under `storage_key`; return both.

    Guardian documents, committee minutes and news attachments are all uploaded this way.
    """
    key = str(storage_key or "")
    try:
        validate_key(key)
    except ValueError:
        key = ""
    if not key.startswith(DOCUMENT_KEY_PREFIX):
        raise field_error("invalid_input", "storage_key", value=key[:100])
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise field_error("invalid_input", "size", value=str(size)[:20]) from None
    if size > limit:
        raise PayloadTooLarge(limit=f"{limit // (1024 * 1024)} MB")
    try:
        stored_size = shared_storage().size(key)
    except ObjectNotFound:
        raise InvalidInput("document_upload_missing", storage_key=key) from None
    except StorageError as exc:
        log.warning("document.storage_check_failed", key=key, error=str(exc)[:200])
        raise ServiceUnavailable("document_storage_unavailable") from exc
    if stored_size != size:
        raise InvalidInput("document_upload_missing", storage_key=key)
    return key, size


def _checked_period(kind: DocumentKind, period: str) -> str:
    """Return `period` when it has the form of the kind and a year between 2000 and 2100."""
    if kind is DocumentKind.ANNUAL_STATEMENT:
        expected, year = "YYYY", period if YEAR_PATTERN.fullmatch(period) else None
    elif kind is DocumentKind.INVOICE:
        match = MONTH_PATTERN.fullmatch(period)
        expected, year = "YYYY-MM", match.group(1) if match else None
    else:
        try:
            expected, year = "YYYY-MM-DD", str(parse_date(period, "period").year) if period else None
        except InvalidInput:
            year = None
    if year is None or not EARLIEST_DATE.year <= int(year) <= LATEST_DATE.year:
        raise field_error("document_period_invalid", "period", value=period[:20], kind=kind.value, expected=expected)
    return period


def _checked_members(members) -> list[dict]:
    if not isinstance(members, list):
        raise field_error("invalid_input", "members", value=type(members).__name__)
    if len(members) > COMMITTEE_MAX_MEMBERS:
        raise field_error("committee_too_many_members", "members", limit=COMMITTEE_MAX_MEMBERS)
    cleaned = []
    for position, member in enumerate(members, start=1):
        member = member if isinstance(member, dict) else {}
        name = str(member.get("name") or "").strip()
        role = str(member.get("role") or "").strip()
        if not name or len(name) > MEMBER_FIELD_MAX_CHARS or len(role) > MEMBER_FIELD_MAX_CHARS:
            raise field_error("committee_member_invalid", "members", position=position, limit=MEMBER_FIELD_MAX_CHARS)
        cleaned.append({"name": name, "role": role})
    return cleaned


def _safe_filename(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '";')[:FILENAME_MAX_CHARS]
    return name or "document.pdf"


def _document_dict(document: Document) -> dict:
    return {
        "id": str(document.id), "kind": document.kind, "title": document.title, "period": document.period,
        "filename": document.filename, "size": document.size, "created_at": iso(document.created_at),
        "guardian_id": str(document.guardian_id) if document.guardian_id else None,
        "location_id": str(document.location_id) if document.location_id else None,
    }


def _download_dict(document: Document) -> dict:
    return {"id": str(document.id), "key": document.storage_key, "filename": document.filename,
            "size": document.size, "content_type": "application/pdf"}
