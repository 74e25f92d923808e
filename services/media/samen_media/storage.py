"""Object storage for photo bytes: S3-compatible services, or a local directory on one machine.

Keys are opaque and random (`new_object_key`), so a key or URL reveals no name or id of a child,
parent or staff member. Download and upload URLs are short-lived: S3 signs them with the access
key, and `LocalStorage` signs them with HMAC-SHA256 for the gateway route that serves the files.

All calls block. Under eventlet, boto3's sockets cooperate only when the process is
monkey-patched, as nameko services are; `LocalStorage` file I/O blocks the hub briefly.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Iterator, Mapping, Protocol, runtime_checkable
from urllib.parse import quote, urlencode

import boto3
import botocore.exceptions
from botocore.config import Config

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
MAX_URL_LIFETIME_SECONDS = 7 * 24 * 3600
"""Maximum signed-URL lifetime, because S3 rejects SigV4 URLs valid for over 7 days."""

MAX_KEY_LENGTH = 1024
"""S3's limit on key length in bytes; keys here are ASCII, so also in characters."""

_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")

# S3 error codes that mean "try again later" even when the status is not 5xx.
_TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed"}
)
_MISSING_S3_CODES = frozenset({"NoSuchKey", "NotFound", "404"})


class StorageError(Exception):
    """Failed storage operation, with a stable `code` and a staff message per language."""

    code = "storage_error"
    http_status = 500
    messages: Mapping[str, str] = {
        "nl": "De opslag van foto's gaf een fout. Probeer het later opnieuw.",
        "en": "Photo storage returned an error. Try again later.",
    }


class StorageUnavailable(StorageError):
    """Storage could not be reached, timed out or returned a server error."""

    code = "storage_unavailable"
    http_status = 503
    messages = {
        "nl": "De opslag van foto's is tijdelijk niet bereikbaar. Probeer het over een paar minuten opnieuw.",
        "en": "Photo storage is temporarily unavailable. Try again in a few minutes.",
    }


class ObjectNotFound(StorageError):
    code = "object_not_found"
    http_status = 404
    messages = {
        "nl": "Deze foto bestaat niet (meer).",
        "en": "This photo does not exist (any more).",
    }


class InvalidObjectKey(StorageError, ValueError):
    code = "invalid_object_key"
    http_status = 400
    messages = {
        "nl": "Ongeldige verwijzing naar een bestand.",
        "en": "Invalid file reference.",
    }


@dataclass(frozen=True)
class PresignedUpload:
    """Request a client sends to upload one object directly to storage.

    For "POST", send a multipart form with `fields` followed by the file field named "file".
    For "PUT", send the bytes as the body with `headers`.
    """

    method: str
    url: str
    expires_at: int
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class ObjectStorage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def open_stream(self, key: str) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def url_for(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str: ...

    def presigned_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedUpload: ...


def new_object_key(kind: str) -> str:
    """Return a fresh key prefix such as "photos/3f/3f9c...e1" with 128 random bits.

    Variants of one upload share the prefix: see `variant_key`. The two-character directory
    spreads keys over 256 folders for `LocalStorage`.
    """
    if not _KIND.fullmatch(kind):
        raise InvalidObjectKey(f"invalid kind {kind!r}: use lowercase letters, digits, - or _")
    token = secrets.token_hex(16)
    return f"{kind}/{token[:2]}/{token}"


def variant_key(prefix: str, variant: str, extension: str = "jpg") -> str:
    """Return the key of one variant under a prefix from `new_object_key`, e.g. ".../thumb.jpg"."""
    return validate_key(f"{prefix}/{variant}.{extension}")


def validate_key(key: str) -> str:
    """Return `key` unchanged, or raise InvalidObjectKey for anything but safe relative segments.

    Each "/"-separated segment starts with a letter, digit, "-" or "_" and contains only those
    and ".", which excludes "..", absolute paths, backslashes and control characters.
    """
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidObjectKey(f"invalid object key {key!r}: empty or too long")
    for segment in key.split("/"):
        if not _KEY_SEGMENT.fullmatch(segment):
            raise InvalidObjectKey(f"invalid object key {key!r}: bad segment {segment!r}")
    return key


def content_disposition(filename: str) -> str:
    """Return an attachment Content-Disposition with an ASCII fallback and RFC 5987 UTF-8 name."""
    ascii_name = "".join(
        char if 32 <= ord(char) < 127 and char not in '"\\' else "_" for char in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _check_lifetime(seconds: int) -> int:
    if not 0 < seconds <= MAX_URL_LIFETIME_SECONDS:
        raise ValueError(
            f"invalid URL lifetime {seconds} s: use 1 to {MAX_URL_LIFETIME_SECONDS} seconds"
        )
    return int(seconds)


class S3Storage:
    """Objects in one bucket of Amazon S3 or an S3-compatible server (MinIO, Garage, moto)."""

    def __init__(
        self,
        *,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        path_style: bool = False,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
    ) -> None:
        """Create the client. No request is sent until the first operation.

        `max_attempts` counts the first try, so 3 means up to two retries with botocore's
        "standard" backoff on throttling, timeouts and 5xx responses.
        """
        self.bucket = bucket
        self.region = region
        config = Config(
            region_name=region,
            signature_version="s3v4",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path" if path_style else "auto"},
        )
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists already."""
        with self._errors_translated("head_bucket", self.bucket, missing_ok=True) as state:
            self._client.head_bucket(Bucket=self.bucket)
        if not state.missing:
            return

        arguments = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with self._errors_translated("create_bucket", self.bucket):
            try:
                self._client.create_bucket(**arguments)
            except botocore.exceptions.ClientError as exc:
                # Another process may have created it between head_bucket and create_bucket.
                if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
                return
        log.info("created bucket %s", self.bucket)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        with self._errors_translated("put_object", key):
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )

    def get(self, key: str) -> bytes:
        validate_key(key)
        with self._errors_translated("get_object", key):
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            with response["Body"] as body:
                return body.read()

    def open_stream(self, key: str) -> Iterator[bytes]:
        """Return an iterator of chunks of at most CHUNK_SIZE bytes.

        The object is requested at once, so a missing key raises here. An error while reading
        later chunks raises StorageUnavailable from the iterator.
        """
        validate_key(key)
        with self._errors_translated("get_object", key):
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        return self._iter_body(key, response["Body"])

    def _iter_body(self, key: str, body) -> Iterator[bytes]:
        try:
            with self._errors_translated("read_body", key):
                yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        """Delete `key`; deleting a missing key succeeds, as in S3 itself."""
        validate_key(key)
        with self._errors_translated("delete_object", key):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        validate_key(key)
        with self._errors_translated("head_object", key, missing_ok=True) as state:
            self._client.head_object(Bucket=self.bucket, Key=key)
        return not state.missing

    def size(self, key: str) -> int:
        validate_key(key)
        with self._errors_translated("head_object", key):
            return int(self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def url_for(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str:
        """Return a presigned GET URL; with `filename`, browsers save the file under that name."""
        validate_key(key)
        params = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=_check_lifetime(expires_in_seconds)
        )

    def presigned_upload(
        self,
        key: str,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        *,
        method: str = "POST",
    ) -> PresignedUpload:
        """Return a presigned upload request for exactly `key` and `content_type`.

        "POST" (the default) makes S3 reject bodies larger than `max_bytes` through the policy's
        content-length-range. S3 cannot limit the size of a presigned "PUT", so after a PUT the
        caller must check `size(key)` before trusting the object.
        """
        validate_key(key)
        lifetime = _check_lifetime(expires_in)
        expires_at = int(time.time()) + lifetime

        if method == "POST":
            post = self._client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, int(max_bytes)],
                ],
                ExpiresIn=lifetime,
            )
            return PresignedUpload("POST", post["url"], expires_at, fields=dict(post["fields"]))

        if method == "PUT":
            url = self._client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=lifetime,
            )
            return PresignedUpload("PUT", url, expires_at, headers={"Content-Type": content_type})

        raise ValueError(f"invalid upload method {method!r}: use 'POST' or 'PUT'")

    @contextmanager
    def _errors_translated(self, operation: str, key: str, *, missing_ok: bool = False):
        """Map botocore errors to StorageError types; with `missing_ok`, record a 404 instead."""
        state = _CallState()
        try:
            yield state
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if status == 404 or code in _MISSING_S3_CODES:
                if missing_ok:
                    state.missing = True
                    return
                raise ObjectNotFound(f"{operation} {key}: not found in {self.bucket}") from exc
            if status >= 500 or code in _TRANSIENT_S3_CODES:
                log.warning("S3 %s failed for %s: %s %s", operation, key, status, code)
                raise StorageUnavailable(f"{operation} {key}: S3 responded {status} {code}") from exc
            log.error("S3 %s rejected for %s: %s %s", operation, key, status, code)
            raise StorageError(f"{operation} {key}: S3 responded {status} {code}") from exc
        except (
            botocore.exceptions.ConnectionError,
            botocore.exceptions.HTTPClientError,
            botocore.exceptions.IncompleteReadError,
        ) as exc:
            log.warning("S3 %s failed for %s: %s", operation, key, exc)
            raise StorageUnavailable(f"{operation} {key}: {exc}") from exc
        except botocore.exceptions.NoCredentialsError as exc:
            log.error("S3 %s failed for %s: no credentials configured", operation, key)
            raise StorageError(f"{operation} {key}: no S3 credentials configured") from exc


@dataclass
class _CallState:
    missing: bool = False


class LocalStorage:
    """Objects as files under `root_dir`, with HMAC-signed URLs served by the gateway.

    URLs have the form `{base_url}/{key}?expires=<unix seconds>&sig=<hex HMAC-SHA256>`; the
    gateway route checks them with `verify_signed_url` or `verify_signed_upload`.
    """

    def __init__(self, root_dir: str | os.PathLike, signing_key: bytes, base_url: str) -> None:
        if len(signing_key) < 32:
            raise ValueError("signing_key must be at least 32 random bytes")
        self.root = Path(root_dir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._signing_key = bytes(signing_key)
        self.base_url = base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        # validate_key already excludes "..", so this only guards against symlinks in root_dir.
        if not path.is_relative_to(self.root):
            raise InvalidObjectKey(f"invalid object key {key!r}: resolves outside the root")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write `data` atomically: readers see the old file or the new one, never a part.

        NOTE: `content_type` is not stored; the serving route derives it from the key's
        extension (keys from `variant_key` end in ".jpg").
        """
        path = self._path(key)
        with _os_errors_translated("put", key):
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(data)
                os.replace(temporary_name, path)
            except BaseException:
                Path(temporary_name).unlink(missing_ok=True)
                raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        with _os_errors_translated("get", key):
            return path.read_bytes()

    def open_stream(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        with _os_errors_translated("open", key):
            file = path.open("rb")
        return self._iter_file(key, file)

    @staticmethod
    def _iter_file(key: str, file) -> Iterator[bytes]:
        with file, _os_errors_translated("read", key):
            while chunk := file.read(CHUNK_SIZE):
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path(key)
        with _os_errors_translated("delete", key):
            path.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        with _os_errors_translated("stat", key):
            return path.stat().st_size

    def url_for(
        self,
        key: str,
        expires_in_seconds: int,
        filename: str | None = None,
        *,
        now: float | None = None,
    ) -> str:
        validate_key(key)
        expires = int(time.time() if now is None else now) + _check_lifetime(expires_in_seconds)
        query = {"expires": str(expires)}
        if filename:
            query["filename"] = filename
        query["sig"] = self._sign("GET", key, expires, filename or "")
        return f"{self.base_url}/{quote(key)}?{urlencode(query)}"

    def verify_signed_url(
        self,
        key: str,
        expires: int | str,
        sig: str,
        now: float | None = None,
        filename: str | None = None,
    ) -> bool:
        """Return True when `sig` signs this GET of `key` (and `filename`) and has not expired."""
        return self._verify(sig, expires, now, "GET", key, filename or "")

    def presigned_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedUpload:
        """Return a signed PUT request; the gateway route enforces `max_bytes` on the body."""
        validate_key(key)
        expires = int(time.time()) + _check_lifetime(expires_in)
        sig = self._sign("PUT", key, expires, content_type, int(max_bytes))
        query = urlencode({"expires": expires, "max_bytes": int(max_bytes), "sig": sig})
        return PresignedUpload(
            "PUT",
            f"{self.base_url}/{quote(key)}?{query}",
            expires,
            headers={"Content-Type": content_type},
        )

    def verify_signed_upload(
        self,
        key: str,
        expires: int | str,
        sig: str,
        content_type: str,
        max_bytes: int | str,
        now: float | None = None,
    ) -> bool:
        """Return True when `sig` signs this PUT with this content type and size limit."""
        try:
            max_bytes = int(max_bytes)
        except (TypeError, ValueError):
            return False
        return self._verify(sig, expires, now, "PUT", key, content_type, max_bytes)

    def _sign(self, method: str, key: str, expires: int, *extra) -> str:
        # JSON keeps the fields unambiguous: no value can shift bytes into its neighbour.
        message = json.dumps([method, key, expires, *extra], separators=(",", ":"))
        return hmac.new(self._signing_key, message.encode(), sha256).hexdigest()

    def _verify(
        self, sig: str, expires: int | str, now: float | None, method: str, key: str, *extra
    ) -> bool:
        try:
            expires = int(expires)
            validate_key(key)
        except (TypeError, ValueError):
            return False
        if not isinstance(sig, str):
            return False

        expected = self._sign(method, key, expires, *extra)
        signature_valid = hmac.compare_digest(expected.encode(), sig.encode())
        current = time.time() if now is None else now
        return signature_valid and current <= expires


@contextmanager
def _os_errors_translated(operation: str, key: str):
    try:
        yield
    except FileNotFoundError as exc:
        raise ObjectNotFound(f"{operation} {key}: no such file") from exc
    except OSError as exc:
        # A full disk, a lost mount or missing permissions: the request may succeed later.
        log.warning("local storage %s failed for %s: %s", operation, key, exc)
        raise StorageUnavailable(f"{operation} {key}: {exc}") from exc
