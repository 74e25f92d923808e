"""Object storage as the gateway fills it for document and news attachment uploads."""

from __future__ import annotations

PDF = b"%PDF-1.4\n% test\n"


def stored_pdf(content: bytes = PDF) -> tuple[str, int]:
    """Write a PDF to object storage as the gateway does and return its key and size."""
    from samen_media.settings import shared_storage
    from samen_media.storage import new_object_key, variant_key

    key = variant_key(new_object_key("documents"), "document", "pdf")
    shared_storage().put(key, content, "application/pdf")
    return key, len(content)
