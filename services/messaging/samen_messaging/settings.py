"""Settings of the messaging service, read from the environment once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from samen_common.settings import env_bool, env_float, env_int


@dataclass(frozen=True)
class MessagingSettings:
    message_max_chars: int
    message_max_photos: int
    notebook_text_max_chars: int
    notebook_item_max_chars: int
    notebook_max_photos: int
    notebook_bulk_max_children: int
    guardian_notebook_entries_default: bool
    news_title_max_chars: int
    news_body_max_chars: int
    attachment_max_bytes: int
    attachments_per_news: int
    news_scheduler_interval: float
    keepsake_max_days: int
    notebook_max_period_days: int
    notebook_max_backdate_days: int
    keepsake_max_photos: int
    keepsake_max_bytes: int
    photo_download_timeout: float
    timeline_page_size: int
    timeline_max_page_size: int
    timeline_cache_seconds: float
    document_max_bytes: int


@lru_cache(maxsize=1)
def messaging_settings() -> MessagingSettings:
    return MessagingSettings(
        message_max_chars=env_int("SAMEN_MESSAGE_MAX_CHARS", 2000),
        message_max_photos=env_int("SAMEN_MESSAGE_MAX_PHOTOS", 10),
        notebook_text_max_chars=env_int("SAMEN_NOTEBOOK_TEXT_MAX_CHARS", 5000),
        notebook_item_max_chars=env_int("SAMEN_NOTEBOOK_ITEM_MAX_CHARS", 500),
        notebook_max_photos=env_int("SAMEN_NOTEBOOK_MAX_PHOTOS", 20),
        notebook_bulk_max_children=env_int("SAMEN_NOTEBOOK_BULK_MAX_CHILDREN", 40),
        guardian_notebook_entries_default=env_bool("SAMEN_GUARDIAN_NOTEBOOK_ENTRIES", False),
        news_title_max_chars=env_int("SAMEN_NEWS_TITLE_MAX_CHARS", 200),
        news_body_max_chars=env_int("SAMEN_NEWS_BODY_MAX_CHARS", 20000),
        attachment_max_bytes=env_int("SAMEN_NEWS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        attachments_per_news=env_int("SAMEN_NEWS_ATTACHMENTS_PER_ITEM", 5),
        news_scheduler_interval=env_float("SAMEN_NEWS_SCHEDULER_INTERVAL", 30.0),
        keepsake_max_days=env_int("SAMEN_KEEPSAKE_MAX_DAYS", 366),
        notebook_max_period_days=env_int("SAMEN_NOTEBOOK_MAX_PERIOD_DAYS", 731),
        notebook_max_backdate_days=env_int("SAMEN_NOTEBOOK_MAX_BACKDATE_DAYS", 90),
        keepsake_max_photos=env_int("SAMEN_KEEPSAKE_MAX_PHOTOS", 150),
        keepsake_max_bytes=env_int("SAMEN_KEEPSAKE_MAX_BYTES", 25 * 1024 * 1024),
        photo_download_timeout=env_float("SAMEN_KEEPSAKE_PHOTO_TIMEOUT", 10.0),
        timeline_page_size=env_int("SAMEN_TIMELINE_PAGE_SIZE", 20),
        timeline_max_page_size=env_int("SAMEN_TIMELINE_MAX_PAGE_SIZE", 100),
        timeline_cache_seconds=env_float("SAMEN_TIMELINE_CACHE_SECONDS", 5.0),
        document_max_bytes=env_int("SAMEN_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024),
    )
