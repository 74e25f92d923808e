"""Settings of photo storage and upload limits, read from the environment in one place.

The media service and the gateway both read these: the gateway writes uploads to storage and
serves signed local URLs, the service processes photos and signs download URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from samen_common.settings import (
    SettingsError,
    common_settings,
    env_bool,
    env_int,
    env_str,
)
from samen_media.imaging import DEFAULT_MAX_PIXELS
from samen_media.storage import LocalStorage, ObjectStorage, S3Storage

# Only for development and tests; production refuses to start without SAMEN_STORAGE_SIGNING_KEY.
DEVELOPMENT_SIGNING_KEY = "development-only-storage-signing-key-not-secret"


@dataclass(frozen=True)
class MediaSettings:
    backend: str
    storage_dir: Path
    signing_key: bytes
    files_base_url: str
    s3_endpoint_url: str | None
    s3_bucket: str
    s3_region: str
    s3_access_key_id: str | None
    s3_secret_access_key: str | None
    s3_path_style: bool
    max_upload_bytes: int
    max_pixels: int
    max_files_per_upload: int
    url_ttl_seconds: int
    upload_url_ttl_seconds: int
    zip_max_photos: int
    processing_retry_seconds: int
    processing_max_attempts: int


def media_settings() -> MediaSettings:
    common = common_settings()
    backend = env_str("SAMEN_STORAGE_BACKEND", "local")
    if backend not in ("local", "s3"):
        raise SettingsError(f"SAMEN_STORAGE_BACKEND must be local or s3, got {backend!r}")

    signing_key = env_str(
        "SAMEN_STORAGE_SIGNING_KEY", DEVELOPMENT_SIGNING_KEY if common.is_development else None
    ).encode()
    if len(signing_key) < 32:
        raise SettingsError("SAMEN_STORAGE_SIGNING_KEY must be at least 32 characters long")

    public_url = env_str("SAMEN_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")
    url_ttl = env_int("SAMEN_MEDIA_URL_TTL_SECONDS", 300)
    if not 1 <= url_ttl <= 3600:
        raise SettingsError("SAMEN_MEDIA_URL_TTL_SECONDS must be between 1 and 3600 seconds")

    return MediaSettings(
        backend=backend,
        storage_dir=Path(env_str("SAMEN_STORAGE_DIR", str(common.data_dir / "storage"))),
        signing_key=signing_key,
        files_base_url=env_str("SAMEN_STORAGE_FILES_URL", f"{public_url}/media/files"),
        s3_endpoint_url=env_str("SAMEN_S3_ENDPOINT_URL", "-") if backend == "s3" else None,
        s3_bucket=env_str("SAMEN_S3_BUCKET", "samen-media"),
        s3_region=env_str("SAMEN_S3_REGION", "eu-central-1"),
        s3_access_key_id=env_str("SAMEN_S3_ACCESS_KEY_ID", "-"),
        s3_secret_access_key=env_str("SAMEN_S3_SECRET_ACCESS_KEY", "-"),
        s3_path_style=env_bool("SAMEN_S3_PATH_STYLE", False),
        max_upload_bytes=env_int("SAMEN_MEDIA_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        max_pixels=env_int("SAMEN_MEDIA_MAX_PIXELS", DEFAULT_MAX_PIXELS),
        max_files_per_upload=env_int("SAMEN_MEDIA_MAX_FILES_PER_UPLOAD", 20),
        url_ttl_seconds=url_ttl,
        upload_url_ttl_seconds=env_int("SAMEN_MEDIA_UPLOAD_URL_TTL_SECONDS", 900),
        zip_max_photos=env_int("SAMEN_MEDIA_ZIP_MAX_PHOTOS", 1000),
        processing_retry_seconds=env_int("SAMEN_MEDIA_PROCESSING_RETRY_SECONDS", 120),
        processing_max_attempts=env_int("SAMEN_MEDIA_PROCESSING_MAX_ATTEMPTS", 5),
    )


def _optional(value: str | None) -> str | None:
    # "-" stands for "not set", because env_str treats an empty value as missing.
    return None if value in (None, "-") else value


def build_storage(settings: MediaSettings) -> ObjectStorage:
    """Create the configured storage; S3 buckets are created when missing."""
    if settings.backend == "local":
        return LocalStorage(settings.storage_dir, settings.signing_key, settings.files_base_url)
    storage = S3Storage(
        bucket=settings.s3_bucket,
        region=settings.s3_region,
        endpoint_url=_optional(settings.s3_endpoint_url),
        access_key_id=_optional(settings.s3_access_key_id),
        secret_access_key=_optional(settings.s3_secret_access_key),
        path_style=settings.s3_path_style,
    )
    return storage


@lru_cache(maxsize=1)
def shared_storage() -> ObjectStorage:
    """Return one storage per process, built from the environment on first use."""
    return build_storage(media_settings())
