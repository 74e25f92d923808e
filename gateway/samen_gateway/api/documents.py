"""Invoices and annual statements for guardians, and the parent committee of a location.

The gateway checks an uploaded PDF (the `%PDF-` signature, at most SAMEN_DOCUMENT_MAX_BYTES),
writes it to object storage under a random `documents/` key and passes only the key and the
metadata to messaging. For a download the gateway requests from messaging the key of a document
the caller may read and streams the object from storage.
"""

from __future__ import annotations

import structlog
from flask import Blueprint, Response, request
from marshmallow import Schema, fields, validate

from samen_common import i18n
from samen_common.errors import (
    InternalError,
    InvalidInput,
    PayloadTooLarge,
    SamenError,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from samen_common.settings import env_int
from samen_gateway.context import current_caller, rpc
from samen_gateway.endpoints import endpoint
from samen_media.settings import shared_storage
from samen_media.storage import StorageError, content_disposition, new_object_key, validate_key, variant_key

log = structlog.get_logger(__name__)

i18n.register(
    {
        "document_file_missing": {
            "nl": "Kies een PDF-bestand in het veld `file`.",
            "en": "Choose a PDF file in the field `file`.",
        },
        "document_upload_not_pdf": {
            "nl": "Het bestand is geen PDF-bestand. Upload een PDF.",
            "en": "The file is not a PDF file. Upload a PDF.",
        },
        "document_upload_store_failed": {
            "nl": "Het document kon niet worden opgeslagen. Probeer het over een paar minuten opnieuw.",
            "en": "The document could not be stored. Try again in a few minutes.",
        },
        "document_download_failed": {
            "nl": "Het document kon niet uit de opslag worden gelezen. Probeer het over een paar minuten opnieuw.",
            "en": "The document could not be read from storage. Try again in a few minutes.",
        },
    }
)

bp = Blueprint("documents", __name__, url_prefix="/api/v1")

PDF_MIME = "application/pdf"
PDF_MAGIC = b"%PDF-"
# Messaging accepts only keys under this prefix (samen_messaging.documents).
DOCUMENT_KEY_PREFIX = "documents/"


def document_max_bytes() -> int:
    """Return the largest accepted PDF in bytes; messaging reads the same variable."""
    return env_int("SAMEN_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)


class DocumentSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "invoice, annual_statement or committee_minutes"})
    title = fields.String()
    period = fields.String(metadata={"description": "YYYY-MM (invoice), YYYY (annual statement), YYYY-MM-DD (minutes)"})
    filename = fields.String()
    size = fields.Integer(metadata={"description": "bytes"})
    created_at = fields.String()
    guardian_id = fields.String(allow_none=True)
    location_id = fields.String(allow_none=True)


class CommitteeMemberSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(load_default="", validate=validate.Length(max=100))


class CommitteeBody(Schema):
    members = fields.List(fields.Nested(CommitteeMemberSchema), required=True, validate=validate.Length(max=30))
    contact_email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))


class CommitteeSchema(Schema):
    location_id = fields.String()
    location_name = fields.String(allow_none=True)
    members = fields.List(fields.Nested(CommitteeMemberSchema))
    contact_email = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    minutes = fields.List(fields.Nested(DocumentSchema))


# Documents of one guardian.

@endpoint(bp, "/guardians/<guardian>/documents", "POST",
          summary="Upload an invoice or annual statement for a guardian (multipart: file, kind, title, period)",
          response=DocumentSchema, status=201, errors=[400, 401, 403, 404, 413, 415, 503])
def upload_guardian_document(guardian):
    current_caller().require_staff()
    filename, key, size = _store_upload()
    form = request.form
    return register_or_delete(key, "add_guardian_document", guardian, form.get("kind", ""), form.get("title", ""),
                               form.get("period", ""), key, filename, size)


@endpoint(bp, "/guardians/<guardian>/documents", "GET", summary="A guardian's documents, newest first (staff)",
          response=DocumentSchema, many=True, errors=[401, 403, 404, 503])
def guardian_documents(guardian):
    return rpc("messaging", "list_guardian_documents", guardian)


@endpoint(bp, "/me/documents", "GET", summary="The caller's invoices and annual statements, newest first",
          response=DocumentSchema, many=True, errors=[401, 404, 503])
def my_documents():
    return rpc("messaging", "list_my_documents")


@endpoint(bp, "/me/documents/<document_id>/download", "GET", summary="Download one of the caller's documents",
          errors=[401, 404, 503])
def my_document_download(document_id):
    return stream_document(rpc("messaging", "my_document_download", document_id))


@endpoint(bp, "/documents/<document_id>", "DELETE", summary="Delete a guardian's document or committee minutes",
          status=204, errors=[401, 403, 404, 503])
def delete_document(document_id):
    rpc("messaging", "delete_document", document_id)
    return Response(status=204)


# The parent committee of a location.

@endpoint(bp, "/locations/<location_id>/parent-committee", "GET",
          summary="A location's parent committee: members, contact address and minutes",
          response=CommitteeSchema, errors=[401, 404, 503])
def parent_committee(location_id):
    return rpc("messaging", "parent_committee", location_id)


@endpoint(bp, "/locations/<location_id>/parent-committee", "PUT",
          summary="Replace the members and contact address of a parent committee", body=CommitteeBody,
          response=CommitteeSchema, errors=[400, 401, 403, 404, 503])
def update_parent_committee(location_id, body):
    return rpc("messaging", "update_parent_committee", location_id, body["members"], body["contact_email"])


@endpoint(bp, "/locations/<location_id>/parent-committee/minutes", "POST",
          summary="Upload minutes of a parent committee meeting (multipart: file, title, period as YYYY-MM-DD)",
          response=DocumentSchema, status=201, errors=[400, 401, 403, 404, 413, 415, 503])
def upload_committee_minutes(location_id):
    current_caller().require_staff()
    filename, key, size = _store_upload()
    form = request.form
    return register_or_delete(key, "add_committee_minutes", location_id, form.get("title", ""),
                               form.get("period", ""), key, filename, size)


@endpoint(bp, "/locations/<location_id>/parent-committee/minutes/<document_id>/download", "GET",
          summary="Download minutes of a parent committee meeting", errors=[401, 404, 503])
def committee_minutes_download(location_id, document_id):
    return stream_document(rpc("messaging", "committee_minutes_download", location_id, document_id))


# Storage.


def stream_document(result: dict) -> Response:
    """Stream a stored document named by a download RPC's reply. The web portal uses this too."""
    key = result.get("key") or ""
    try:
        validate_key(key)
    except ValueError:
        key = ""
    if not key.startswith(DOCUMENT_KEY_PREFIX):
        log.error("document.invalid_key", key=key[:200])
        raise InternalError()
    try:
        chunks = shared_storage().open_stream(key)
    except StorageError as exc:
        log.warning("document.read_failed", key=key, error=str(exc)[:200])
        raise ServiceUnavailable("document_download_failed") from exc
    response = Response(chunks, mimetype=PDF_MIME)
    response.headers["Content-Disposition"] = content_disposition(result.get("filename") or "document.pdf")
    if result.get("size"):
        response.headers["Content-Length"] = str(result["size"])
    response.headers["Cache-Control"] = "no-store"
    return response


def _store_upload() -> tuple[str, str, int]:
    """Check the multipart `file` and write it to storage; return its file name, key and size."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("document_file_missing", field="file")
    limit = document_max_bytes()
    return store_pdf(upload.stream.read(limit + 1), upload.filename or "document.pdf", limit)


def store_pdf(content: bytes, filename: str, limit: int,
              not_pdf_code: str = "document_upload_not_pdf") -> tuple[str, str, int]:
    """Check an uploaded PDF of at most `limit` bytes and write it to storage; return its file name, key and size.

    News attachments are stored this way too. Read at most `limit + 1` bytes into `content`, so
    that a larger upload is recognised without reading all of it.
    """
    if not content:
        raise InvalidInput("document_file_missing", field="file")
    if len(content) > limit:
        raise PayloadTooLarge(limit=f"{limit // (1024 * 1024)} MB")
    if not content.startswith(PDF_MAGIC):
        raise UnsupportedMediaType(not_pdf_code)
    key = variant_key(new_object_key("documents"), "document", "pdf")
    try:
        shared_storage().put(key, content, PDF_MIME)
    except StorageError as exc:
        log.warning("document.store_failed", error=str(exc)[:200], bytes=len(content))
        raise ServiceUnavailable("document_upload_store_failed") from exc
    return filename, key, len(content)


def register_or_delete(key: str, method: str, *args) -> dict:
    """Call messaging to register a stored upload; delete the object when messaging rejects it."""
    try:
        return rpc("messaging", method, *args)
    except SamenError:
        try:
            shared_storage().delete(key)
        except StorageError as exc:
            log.warning("document.cleanup_failed", key=key, error=str(exc)[:200])
        raise
