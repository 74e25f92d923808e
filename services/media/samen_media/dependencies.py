"""nameko dependency that gives each worker the configured object storage."""

from __future__ import annotations

import structlog
from nameko.extensions import DependencyProvider

from samen_media.settings import MediaSettings, build_storage, media_settings
from samen_media.storage import S3Storage, StorageError

log = structlog.get_logger(__name__)


class PhotoStorage(DependencyProvider):
    """`self.storage` is an ObjectStorage (LocalStorage or S3Storage) built once per process."""

    def __init__(self):
        self.settings: MediaSettings | None = None
        self.storage = None

    def setup(self):
        self.settings = media_settings()
        self.storage = build_storage(self.settings)
        if isinstance(self.storage, S3Storage):
            try:
                self.storage.ensure_bucket()
            except StorageError as exc:
                # The service still starts; uploads answer 503 until the bucket is reachable.
                log.warning("storage.bucket_check_failed", bucket=self.settings.s3_bucket, error=str(exc)[:300])
        log.info("storage.configured", backend=self.settings.backend)

    def get_dependency(self, worker_ctx):
        return self.storage


class Settings(DependencyProvider):
    """`self.settings` is the process's MediaSettings."""

    def setup(self):
        self.settings = media_settings()

    def get_dependency(self, worker_ctx):
        return self.settings
