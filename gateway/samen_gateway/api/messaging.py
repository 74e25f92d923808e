"""Group messages, the notebook with its keepsake PDF, news and the staff's day overview."""

from __future__ import annotations

import base64

import structlog
from flask import Blueprint, Response, request
from marshmallow import Schema, fields, validate

from samen_common import i18n
from samen_common.errors import InternalError, ServiceUnavailable
from samen_common.settings import env_int
from samen_gateway.api.documents import register_or_delete, store_pdf, stream_document
from samen_gateway.context import current_caller, rpc
from samen_gateway.endpoints import endpoint
from samen_media.settings import shared_storage
from samen_media.storage import StorageError, content_disposition, validate_key

log = structlog.get_logger(__name__)

i18n.register(
    {
        "attachment_not_pdf": {
            "nl": "De bijlage is geen PDF-bestand.",
            "en": "The attachment is not a PDF file.",
        },
        "keepsake_download_failed": {
            "nl": "Het schriftje kon niet uit de opslag worden gelezen. Probeer het over een paar minuten opnieuw.",
            "en": "The notebook could not be read from storage. Try again in a few minutes.",
        },
    }
)

bp = Blueprint("messaging", __name__, url_prefix="/api/v1")

PDF_MIME = "application/pdf"
# Prefix of the keys under which messaging stores keepsake PDFs (samen_messaging.notebook).
KEEPSAKE_KEY_PREFIX = "keepsakes/"


class MessageBody(Schema):
    body = fields.String(required=True, metadata={"description": "1 to 2000 characters"})
    photo_ids = fields.List(fields.String(), load_default=list)


class ThreadQuery(Schema):
    group_id = fields.String(load_default=None)
    child_id = fields.String(load_default=None)


class NotebookEntryBody(Schema):
    text = fields.String(load_default="")
    items = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                        metadata={"description": "eating, drinking, sleeping, changing, activities, mood"})
    photo_ids = fields.List(fields.String(), load_default=list)
    written_at = fields.String(load_default=None, metadata={"description": "ISO 8601 with a time zone"})


class GroupNotebookBody(NotebookEntryBody):
    child_ids = fields.List(fields.String(), required=True)


class PeriodQuery(Schema):
    from_ = fields.String(data_key="from", load_default=None, metadata={"description": "YYYY-MM-DD"})
    to = fields.String(load_default=None, metadata={"description": "YYYY-MM-DD"})
    saved = fields.Boolean(load_default=False)


class ReactionBody(Schema):
    text = fields.String(required=True)


class SettingsBody(Schema):
    guardian_notebook_entries = fields.Boolean(required=True)


class NewsBody(Schema):
    title = fields.String(required=True)
    body = fields.String(required=True)
    kind = fields.String(load_default="item", validate=validate.OneOf(["item", "newsletter"]))
    location_ids = fields.List(fields.String(), load_default=list)
    group_ids = fields.List(fields.String(), load_default=list)
    publish_at = fields.String(load_default=None, metadata={"description": "ISO 8601 with a time zone"})


class DayQuery(Schema):
    date = fields.String(load_default=None, metadata={"description": "YYYY-MM-DD, default today"})


# Messages.

@endpoint(bp, "/children/<child_id>/messages", "POST", summary="Write to the child's group (creates the thread)",
          body=MessageBody, status=201, errors=[400, 401, 404, 503])
def post_child_message(child_id, body):
    return rpc("messaging", "post_child_message", child_id, body["body"], body["photo_ids"]), 201


@endpoint(bp, "/threads", "GET", summary="Threads of the caller with unread counts (staff: the group inbox)",
          query=ThreadQuery, errors=[401, 404, 503])
def list_threads(query):
    return rpc("messaging", "list_threads", query["group_id"], query["child_id"])


@endpoint(bp, "/threads/<thread_id>", "GET", summary="A thread with its messages and read receipts; marks them read",
          errors=[401, 404, 503])
def get_thread(thread_id):
    return rpc("messaging", "get_thread", thread_id)


@endpoint(bp, "/threads/<thread_id>/messages", "POST", summary="Write in a thread", body=MessageBody, status=201,
          errors=[400, 401, 404, 503])
def post_thread_message(thread_id, body):
    return rpc("messaging", "post_thread_message", thread_id, body["body"], body["photo_ids"]), 201


# Notebook.

@endpoint(bp, "/children/<child_id>/notebook", "GET", summary="The child's notebook entries, newest first",
          query=PeriodQuery, errors=[400, 401, 404, 503])
def notebook(child_id, query):
    return rpc("messaging", "notebook", child_id, query["from_"], query["to"], query["saved"])


@endpoint(bp, "/children/<child_id>/notebook", "POST", summary="Write a notebook entry about one child",
          body=NotebookEntryBody, status=201, errors=[400, 401, 403, 404, 503])
def add_notebook_entry(child_id, body):
    return rpc("messaging", "add_notebook_entry", child_id, body["text"], body["items"], body["photo_ids"],
               body["written_at"]), 201


@endpoint(bp, "/groups/<group_id>/notebook", "POST", summary="Write one entry per child for several children",
          body=GroupNotebookBody, status=201, errors=[400, 401, 404, 503])
def add_group_notebook_entries(group_id, body):
    return rpc("messaging", "add_group_notebook_entries", group_id, body["child_ids"], body["text"], body["items"],
               body["photo_ids"], body["written_at"]), 201


@endpoint(bp, "/notebook/<entry_id>", "GET", summary="One notebook entry", errors=[401, 404, 503])
def get_notebook_entry(entry_id):
    return rpc("messaging", "get_notebook_entry", entry_id)


@endpoint(bp, "/notebook/<entry_id>/reactions", "POST", summary="React to a notebook entry", body=ReactionBody,
          status=201, errors=[400, 401, 404, 503])
def react(entry_id, body):
    return rpc("messaging", "react_to_notebook_entry", entry_id, body["text"]), 201


@endpoint(bp, "/notebook/<entry_id>/save", "PUT", summary="Save an entry (guardian)", errors=[401, 404, 503])
def save_entry(entry_id):
    return rpc("messaging", "save_notebook_entry", entry_id, True)


@endpoint(bp, "/notebook/<entry_id>/save", "DELETE", summary="Unsave an entry (guardian)", errors=[401, 404, 503])
def unsave_entry(entry_id):
    return rpc("messaging", "save_notebook_entry", entry_id, False)


@endpoint(bp, "/children/<child_id>/notebook.pdf", "GET", summary="The notebook of a period as a keepsake PDF",
          query=PeriodQuery, errors=[400, 401, 404, 413, 503])
def notebook_pdf(child_id, query):
    return keepsake_response(child_id, query["from_"], query["to"])


def keepsake_response(child_id: str, period_from: str | None, period_to: str | None) -> Response:
    """Stream the keepsake PDF that messaging wrote to object storage, then delete it.

    The RPC reply carries only the storage key. The object is deleted when the response closes,
    whether the client read it all or not, so each request renders its own PDF. The web portal
    uses this too.
    """
    result = rpc("messaging", "notebook_keepsake", child_id, period_from, period_to)
    key = result.get("key") or ""
    try:
        validate_key(key)
    except ValueError:
        key = ""
    if not key.startswith(KEEPSAKE_KEY_PREFIX):
        log.error("keepsake.invalid_key", key=key[:200])
        raise InternalError()
    storage = shared_storage()
    try:
        chunks = storage.open_stream(key)
    except StorageError as exc:
        log.warning("keepsake.read_failed", key=key, error=str(exc)[:200])
        raise ServiceUnavailable("keepsake_download_failed") from exc

    def delete_keepsake():
        try:
            storage.delete(key)
        except StorageError as exc:
            log.warning("keepsake.delete_failed", key=key, error=str(exc)[:200])

    response = Response(chunks, mimetype=PDF_MIME)
    # The WSGI server closes the response after the last chunk or when the client goes away.
    response.call_on_close(delete_keepsake)
    response.headers["Content-Disposition"] = content_disposition(result.get("filename") or "notebook.pdf")
    if result.get("size"):
        response.headers["Content-Length"] = str(result["size"])
    response.headers["Cache-Control"] = "no-store"
    return response


@endpoint(bp, "/messaging/settings", "GET", summary="Messaging settings of the organisation", errors=[401, 503])
def get_settings():
    return rpc("messaging", "get_settings")


@endpoint(bp, "/messaging/settings", "PUT", summary="Change messaging settings (admin)", body=SettingsBody,
          errors=[400, 401, 403, 404, 503])
def update_settings(body):
    return rpc("messaging", "update_settings", body["guardian_notebook_entries"])


# News.

@endpoint(bp, "/news", "GET", summary="News for the caller, newest first, with read state", errors=[401, 503])
def list_news():
    return rpc("messaging", "list_news")


@endpoint(bp, "/news", "POST", summary="Write a news item, now or scheduled", body=NewsBody, status=201,
          errors=[400, 401, 403, 404, 503])
def create_news(body):
    return rpc("messaging", "create_news", body["title"], body["body"], body["kind"], body["location_ids"],
               body["group_ids"], body["publish_at"]), 201


@endpoint(bp, "/news/<news_id>", "GET", summary="One news item; marks it read for a guardian", errors=[401, 404, 503])
def get_news(news_id):
    return rpc("messaging", "get_news", news_id)


@endpoint(bp, "/news/<news_id>/attachments", "POST", summary="Attach a PDF (multipart field `file` or raw body)",
          status=201, errors=[400, 401, 403, 404, 413, 415, 503])
def add_news_attachment(news_id):
    current_caller().require_staff()
    limit = news_attachment_max_bytes()
    upload = request.files.get("file")
    if upload is not None:
        filename, content = upload.filename or "attachment.pdf", upload.stream.read(limit + 1)
    else:
        filename, content = request.args.get("filename", "attachment.pdf"), request.stream.read(limit + 1)
    filename, key, size = store_pdf(content, filename, limit, not_pdf_code="attachment_not_pdf")
    return register_or_delete(key, "add_news_attachment", news_id, filename, key, size), 201


@endpoint(bp, "/news/<news_id>/attachments/<attachment_id>", "GET", summary="Download a news attachment",
          errors=[401, 404, 503])
def news_attachment(news_id, attachment_id):
    return news_attachment_response(rpc("messaging", "news_attachment", news_id, attachment_id))


def news_attachment_max_bytes() -> int:
    """Return the largest accepted news attachment in bytes; messaging reads the same variable."""
    return env_int("SAMEN_NEWS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)


def news_attachment_response(result: dict) -> Response:
    """Stream a news attachment from storage, or send one kept in the messaging database. The web portal uses this too."""
    if result.get("key"):
        return stream_document(result)
    response = Response(base64.b64decode(result["content_base64"]), mimetype=PDF_MIME)
    response.headers["Content-Disposition"] = content_disposition(result.get("filename") or "attachment.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


# Staff.

@endpoint(bp, "/groups/<group_id>/day", "GET", summary="The group's day: notebook entries and unread messages",
          query=DayQuery, errors=[400, 401, 404, 503])
def group_day(group_id, query):
    return rpc("messaging", "group_day", group_id, query["date"])
