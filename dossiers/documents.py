"""Uploaded documents: the type is read from the content, never from the file name."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_DOCUMENT_MB = 10
MAX_DOCUMENT_BYTES = MAX_DOCUMENT_MB * 1024 * 1024
DOCUMENT_NAME_MAX_LENGTH = 200


def too_large_message() -> str:
    return _("The file is too large (%(mb)d MB at most).") % {"mb": MAX_DOCUMENT_MB}


@dataclass(frozen=True)
class DocumentType:
    mime: str
    extension: str


PDF = DocumentType("application/pdf", "pdf")
PNG = DocumentType("image/png", "png")
JPEG = DocumentType("image/jpeg", "jpg")


# What people read instead of a MIME type.
TYPE_LABELS = {
    PDF.mime: gettext_lazy("PDF document"),
    PNG.mime: gettext_lazy("PNG image"),
    JPEG.mime: gettext_lazy("JPEG image"),
}


def type_label(mime: str) -> str:
    return str(TYPE_LABELS.get(mime, _("Other file")))


def sniff(content: bytes) -> DocumentType | None:
    """PDF, PNG or JPEG from the leading bytes (and, for PDF, its end-of-file marker)."""
    if content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]:
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in content[-32:]:
        return PNG
    if content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return JPEG
    return None
