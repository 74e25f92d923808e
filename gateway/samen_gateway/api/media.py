"""Photo endpoints: uploads, albums, tags, downloads, ZIP archives and signed local files.

Image bytes never travel over RabbitMQ. The gateway checks an upload's size and type from its
bytes, writes it to object storage under a fresh random key and passes only the key to the
media service. Downloads go through short-lived URLs: presigned S3 URLs, or for local storage
HMAC-signed URLs served by `/media/files/<key>` below.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import structlog
from flask import Blueprint, Response, g, request, stream_with_context
from marshmallow import Schema, fields, validate

from samen_common import i18n
from samen_common.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    SamenError,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from samen_common.timeutil import AMSTERDAM, parse_aware
from samen_gateway.context import current_caller, rpc
from samen_gateway.endpoints import endpoint
from samen_media import imaging
from samen_media import messages  # noqa: F401 - registers the photo texts the gateway raises
from samen_media.settings import media_settings, shared_storage
from samen_media.storage import (
    LocalStorage,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    content_disposition,
    new_object_key,
    validate_key,
    variant_key,
)

log = structlog.get_logger(__name__)

i18n.register(
    {
        "media_link_invalid": {
            "nl": "Deze link naar een foto is ongeldig of verlopen. Open de foto opnieuw in de app.",
            "en": "This photo link is invalid or has expired. Open the photo again in the app.",
        },
    }
)

# No url_prefix: the API rules carry "/api/v1" themselves because the signed file routes live
# under "/media/files", outside the API.
bp = Blueprint("media", __name__)
API = "/api/v1"


class ActivityLabelSchema(Schema):
    id = fields.String()
    name = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "nl and en"})
    active = fields.Boolean()


class PhotoSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(metadata={"description": "processing, ready, failed or deleted"})
    group_id = fields.String()
    location_id = fields.String()
    taken_at = fields.String()
    published_at = fields.String(allow_none=True)
    uploaded_at = fields.String(allow_none=True)
    uploaded_by = fields.String()
    child_ids = fields.List(fields.String())
    other_children_count = fields.Integer(metadata={"description": "guardians: tagged children of other families"})
    staff_ids = fields.List(fields.String())
    activity = fields.Nested(ActivityLabelSchema, allow_none=True)
    activity_text = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    thumb_url = fields.String(allow_none=True)
    screen_url = fields.String(allow_none=True)
    blocked = fields.Boolean()
    blocked_child_ids = fields.List(fields.String())
    blocked_reason = fields.Dict(allow_none=True, metadata={"description": "nl and en text for staff"})
    failure = fields.Dict(allow_none=True, metadata={"description": "code and message (nl, en) of a failed photo"})


class PhotoList(Schema):
    items = fields.List(fields.Nested(PhotoSchema))
    next_cursor = fields.String(allow_none=True)


class AlbumQuery(Schema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=30, validate=validate.Range(min=1, max=100))


class GroupDayQuery(Schema):
    date = fields.Date(load_default=None)


class TagsBody(Schema):
    child_ids = fields.List(fields.String(), load_default=None, validate=validate.Length(max=100))
    staff_ids = fields.List(fields.String(), load_default=None, validate=validate.Length(max=50))
    activity_label_id = fields.String(allow_none=True)
    activity_text = fields.String(allow_none=True, validate=validate.Length(max=200))


class UploadRequestBody(Schema):
    content_type = fields.String(required=True, validate=validate.OneOf(
        ["image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"]))


class PresignedUploadSchema(Schema):
    upload_key = fields.String()
    method = fields.String()
    url = fields.String()
    fields_ = fields.Dict(data_key="fields")
    headers = fields.Dict()
    expires_at = fields.Integer(metadata={"description": "Unix seconds"})
    max_bytes = fields.Integer()


class ConfirmBody(Schema):
    upload_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    group_id = fields.String(required=True)
    child_ids = fields.List(fields.String(), load_default=list, validate=validate.Length(max=100))
    staff_ids = fields.List(fields.String(), load_default=list, validate=validate.Length(max=50))
    activity_label_id = fields.String(load_default=None, allow_none=True)
    activity_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    taken_at = fields.String(load_default=None, allow_none=True, metadata={"description": "ISO 8601 with zone"})


class DownloadSchema(Schema):
    url = fields.String()
    expires_in = fields.Integer()
    filename = fields.String()


class LabelBody(Schema):
    name_nl = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=100))


# Uploads.


@endpoint(bp, API + "/photos", "POST", summary="Upload one or more photos (multipart field `files`) with their tags",
          response=PhotoList, status=201, errors=[400, 401, 404, 413, 415, 422, 503])
def upload_photos():
    current_caller().require_staff()
    settings = media_settings()
    uploads = request.files.getlist("files") or request.files.getlist("file")
    if not uploads:
        raise InvalidInput("photo_no_files")
    if len(uploads) > settings.max_files_per_upload:
        raise InvalidInput("photo_too_many_files", limit=settings.max_files_per_upload)
    group_id = request.form.get("group_id")
    if not group_id:
        raise InvalidInput("invalid_input", field="group_id", value="")
    taken_at = request.form.get("taken_at") or None
    if taken_at:
        parse_aware(taken_at, "taken_at")

    checked = [(upload.filename, _checked_upload_bytes(upload.stream, settings)) for upload in uploads]
    keys = _write_uploads([data for _name, data in checked])
    try:
        photos = rpc(
            "media", "register_uploads",
            [{"upload_key": key, "original_filename": name} for key, (name, _data) in zip(keys, checked)],
            group_id,
            child_ids=_form_list("child_ids"),
            staff_ids=_form_list("staff_ids"),
            activity_label_id=request.form.get("activity_label_id") or None,
            activity_text=request.form.get("activity_text") or None,
            taken_at=taken_at,
        )
    except SamenError:
        _delete_quietly(keys)
        raise
    return {"items": photos, "next_cursor": None}


def _form_list(name: str) -> list[str]:
    """Read a list form field, sent repeated or comma-separated."""
    values = []
    for raw in request.form.getlist(name):
        values += [part.strip() for part in raw.split(",") if part.strip()]
    return values


def _checked_upload_bytes(stream, settings) -> bytes:
    """Read one file and reject it when too large (413), not an image (415) or a pixel bomb (422)."""
    data = stream.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(limit=f"{settings.max_upload_bytes // (1024 * 1024)} MB")
    if imaging.sniff_type(data[: imaging.SNIFF_BYTES]) is None:
        raise UnsupportedMediaType(imaging.UnsupportedImage.code, messages=dict(imaging.UnsupportedImage.messages))
    try:
        # Reads the header only; pixels are decoded later by the media service's workers.
        imaging.inspect(io.BytesIO(data), max_pixels=settings.max_pixels)
    except imaging.UnsupportedImage as exc:
        raise UnsupportedMediaType(exc.code, messages=dict(exc.messages)) from exc
    except imaging.ImagingError as exc:
        raise Unprocessable(exc.code, messages=dict(exc.messages)) from exc
    return data


def _write_uploads(blobs: list[bytes]) -> list[str]:
    """Write every upload under a fresh key; on a storage failure remove what was written, then 503."""
    storage = shared_storage()
    keys: list[str] = []
    try:
        for data in blobs:
            key = variant_key(new_object_key("uploads"), "source", "bin")
            storage.put(key, data, "application/octet-stream")
            keys.append(key)
    except StorageError as exc:
        log.warning("upload.storage_failed", error=str(exc)[:200], written=len(keys))
        _delete_quietly(keys)
        raise _storage_unavailable() from exc
    return keys


def _delete_quietly(keys: list[str]) -> None:
    storage = shared_storage()
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as exc:
            log.warning("upload.cleanup_failed", key=key, error=str(exc)[:200])


def _storage_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(StorageUnavailable.code, messages=dict(StorageUnavailable.messages))


@endpoint(bp, API + "/photo-uploads", "POST", summary="Get a presigned upload for one photo", body=UploadRequestBody,
          response=PresignedUploadSchema, status=201, errors=[400, 401, 404, 415, 503])
def create_upload(body):
    current_caller().require_staff()
    return rpc("media", "create_upload", body["content_type"])


@endpoint(bp, API + "/photo-uploads/confirm", "POST", summary="Register a presigned upload as a photo", body=ConfirmBody,
          response=PhotoSchema, status=201, errors=[400, 401, 404, 413, 415, 422, 503])
def confirm_upload(body):
    current_caller().require_staff()
    return rpc("media", "confirm_upload", body["upload_key"], body["group_id"], child_ids=body["child_ids"],
               staff_ids=body["staff_ids"], activity_label_id=body["activity_label_id"],
               activity_text=body["activity_text"], taken_at=body["taken_at"])


# Reading.


@endpoint(bp, API + "/photos/blocked", "GET", summary="Photos in the staff member's groups blocked by missing consent",
          response=PhotoList, errors=[401, 404, 503])
def blocked_photos():
    return {"items": rpc("media", "blocked_photos"), "next_cursor": None}


@endpoint(bp, API + "/photos/<photo_id>", "GET", summary="One photo with tags and short-lived image URLs",
          response=PhotoSchema, errors=[401, 404, 503])
def get_photo(photo_id):
    return rpc("media", "get_photo", photo_id)


@endpoint(bp, API + "/photos/<photo_id>/original", "GET", summary="Short-lived URL of the metadata-free original",
          response=DownloadSchema, errors=[401, 404, 422, 503])
def original(photo_id):
    return rpc("media", "original_url", photo_id)


@endpoint(bp, API + "/children/<child_id>/photos", "GET", summary="A child's album, newest first, keyset-paginated",
          query=AlbumQuery, response=PhotoList, errors=[400, 401, 404, 503])
def album(child_id, query):
    return rpc("media", "album", child_id, cursor=query["cursor"], limit=query["limit"])


@endpoint(bp, API + "/groups/<group_id>/photos", "GET", summary="Photos of a group taken on one day (staff)",
          query=GroupDayQuery, response=PhotoList, errors=[400, 401, 404, 503])
def group_photos(group_id, query):
    day = query["date"].isoformat() if query["date"] else None
    return {"items": rpc("media", "group_photos", group_id, day), "next_cursor": None}


@bp.get(API + "/children/<child_id>/photos.zip")
def album_zip(child_id):
    """Stream a ZIP of a child's originals taken between `from` and `to` (dates or aware timestamps)."""
    current_caller()
    manifest = rpc("media", "zip_manifest", child_id, request.args.get("from"), request.args.get("to"))
    entries = manifest["entries"]
    storage = shared_storage()
    request_id = g.get("request_id")

    def open_entry(entry):
        try:
            return storage.open_stream(entry["key"])
        except ObjectNotFound:
            log.warning("zip.object_missing", photo_id=entry["photo_id"], request_id=request_id)
            return None

    # The first object is opened before the status line goes out. So when storage is down at the
    # start, the response is a 503 in place of a 200 with a broken archive.
    try:
        first = open_entry(entries[0]) if entries else None
    except StorageError as exc:
        log.warning("zip.storage_failed", error=str(exc)[:200], request_id=request_id)
        raise _storage_unavailable() from exc

    def generate():
        sink = _ChunkSink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for index, entry in enumerate(entries):
                chunks = first if index == 0 else open_entry(entry)
                if chunks is None:
                    continue
                info = zipfile.ZipInfo(entry["filename"], date_time=_zip_time(entry["taken_at"]))
                # NOTE: a storage failure after the first object ends the response early, without
                # the archive's last chunk. The client gets a cut-off transfer, because the status
                # line (200) was sent already.
                with archive.open(info, "w") as target:
                    for chunk in chunks:
                        target.write(chunk)
                        yield from sink.drain()
                yield from sink.drain()
        yield from sink.drain()

    name = f"samen-fotos-{request.args.get('from') or 'begin'}-{request.args.get('to') or 'nu'}.zip"
    response = Response(stream_with_context(generate()), mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(name.replace(":", ""))
    response.headers["Cache-Control"] = "no-store"
    return response


class _ChunkSink(io.RawIOBase):
    """A write-only, unseekable file whose written bytes are handed out by `drain`."""

    def __init__(self):
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self):
        chunks, self._chunks = self._chunks, []
        yield from chunks


def _zip_time(taken_at: str) -> tuple:
    local = datetime.fromisoformat(taken_at).astimezone(AMSTERDAM)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


# Tags and staff actions.


@endpoint(bp, API + "/photos/<photo_id>/tags", "PUT", summary="Replace a photo's child, staff and activity tags",
          body=TagsBody, response=PhotoSchema, errors=[400, 401, 404, 503])
def retag(photo_id, body):
    current_caller().require_staff()
    arguments = {name: body[name] for name in ("child_ids", "staff_ids") if body.get(name) is not None}
    for name in ("activity_label_id", "activity_text"):
        if name in body:
            arguments[name] = body[name]
    return rpc("media", "tag_photo", photo_id, **arguments)


@bp.delete(API + "/photos/<photo_id>")
def delete_photo(photo_id):
    current_caller().require_staff()
    rpc("media", "delete_photo", photo_id)
    return Response(status=204)


@endpoint(bp, API + "/activity-labels", "GET", summary="The organisation's activity labels", response=ActivityLabelSchema,
          many=True, errors=[401, 404, 503])
def activity_labels():
    return rpc("media", "activity_labels")


@endpoint(bp, API + "/activity-labels", "POST", summary="Add an activity label (coordinator, unit manager, admin)",
          body=LabelBody, response=ActivityLabelSchema, status=201, errors=[400, 401, 404, 503])
def create_activity_label(body):
    return rpc("media", "create_activity_label", body["name_nl"], body["name_en"])


@bp.delete(API + "/activity-labels/<label_id>")
def archive_activity_label(label_id):
    current_caller()
    rpc("media", "archive_activity_label", label_id)
    return Response(status=204)


# Signed local files.


def _local_storage() -> LocalStorage:
    storage = shared_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound()
    return storage


@bp.get("/media/files/<path:key>")
def serve_file(key):
    """Serve a locally stored object for a request with a valid, unexpired signed URL."""
    storage = _local_storage()
    try:
        validate_key(key)
    except ValueError:
        raise NotFound() from None
    filename = request.args.get("filename")
    if not storage.verify_signed_url(key, request.args.get("expires", ""), request.args.get("sig", ""),
                                     filename=filename):
        raise Forbidden("media_link_invalid")
    try:
        chunks = storage.open_stream(key)
    except ObjectNotFound:
        raise NotFound() from None
    except StorageError as exc:
        raise _storage_unavailable() from exc
    response = Response(chunks, mimetype="image/jpeg" if key.endswith(".jpg") else "application/octet-stream")
    response.headers["Cache-Control"] = "private, max-age=60"
    if filename:
        response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@bp.put("/media/files/<path:key>")
def receive_file(key):
    """Store the body of a signed local upload (the local counterpart of a presigned S3 PUT)."""
    storage = _local_storage()
    content_type = request.headers.get("Content-Type", "")
    max_bytes = request.args.get("max_bytes", "")
    if not storage.verify_signed_upload(key, request.args.get("expires", ""), request.args.get("sig", ""),
                                        content_type, max_bytes):
        raise Forbidden("media_link_invalid")
    data = request.stream.read(int(max_bytes) + 1)
    if len(data) > int(max_bytes):
        raise PayloadTooLarge(limit=f"{int(max_bytes) // (1024 * 1024)} MB")
    try:
        storage.put(key, data, content_type)
    except StorageError as exc:
        raise _storage_unavailable() from exc
    return Response(status=204)

