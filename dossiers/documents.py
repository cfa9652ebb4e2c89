"""Uploaded documents: the type is read from the content, never from the file name."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class DocumentType:
    mime: str
    extension: str


PDF = DocumentType("application/pdf", "pdf")
PNG = DocumentType("image/png", "png")
JPEG = DocumentType("image/jpeg", "jpg")


def sniff(content: bytes) -> DocumentType | None:
    """PDF, PNG or JPEG from the leading bytes (and, for PDF, its end-of-file marker)."""
    if content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]:
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in content[-32:]:
        return PNG
    if content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return JPEG
    return None
