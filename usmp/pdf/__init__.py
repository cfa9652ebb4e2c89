"""The PDF pipeline every printed document goes through (certificates, record copies, reports).

`render_pdf(template, data)` compiles a Typst file of the repository with the pip-installed
`typst` engine (no system library, no font from the machine: the engine's own embedded fonts,
so a PDF looks the same on every host) into an archival PDF: PDF/A-2b, or PDF/A-3b when files
are attached. The data goes in as JSON through Typst's `sys.inputs` and is decoded by the
template (`json(bytes(...))`): it is never spliced into Typst source, so no escaping is needed
and no value (a name, a note) can inject markup or read a file.

A template starts with::

    #import "/usmp/pdf/typst/letterhead.typ": letterhead, data
    #show: letterhead.with(title: data.title)

and gets the unit's header, the print time, page numbers "Page X / Y" and an optional footer
line (`data["footer"]`, e.g. a verification digest) on every page. `render_pdf` fills
`data["unit"]` (from `unit_header()`) unless given, and the words of the page furniture in the
active language.

The PDF holds clinical data: callers keep it encrypted (a dossier document) or hand it straight
to the user who asked; nothing here writes to disk.
"""

from __future__ import annotations

import datetime
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

ROOT = Path(settings.BASE_DIR)
LETTERHEAD = "usmp/pdf/typst/letterhead.typ"
# PDF/A forbids a character drawn with no glyph; the engine's embedded fonts cover Latin, Greek
# and Cyrillic, not every script a detainee's name may be written in. Such characters are
# printed as this mark, the page says so, and the original stays in the record.
UNDRAWABLE = "?"
_UNDRAWABLE_ERROR = re.compile(r'the text `"(.+?)"` could not be displayed')
_MAX_FONT_RETRIES = 32


class PdfError(RuntimeError):
    """The engine refused a template (a programming error, not a user's input)."""


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF (PDF/A-3 associated file), e.g. a document of the record."""

    name: str
    content: bytes
    mime_type: str = "application/octet-stream"
    description: str = ""


def unit_header() -> dict[str, str]:
    """The unit's letterhead: name, hospital, address and phone, from the settings."""
    return {
        "name": str(settings.USMP_UNIT_NAME),
        "hospital": str(settings.USMP_UNIT_HOSPITAL),
        "address": str(settings.USMP_UNIT_ADDRESS),
        "phone": str(settings.USMP_UNIT_PHONE),
    }


def _template_path(template: str) -> str:
    """The template's path for the engine (rooted at the repository), refused if it leaves it."""
    path = PurePosixPath(template)
    if path.is_absolute() or ".." in path.parts or path.suffix != ".typ":
        raise ValueError(f"a PDF template is a .typ path inside the repository: {template!r}")
    if not (ROOT / path).is_file():
        raise ValueError(f"no such PDF template: {template!r}")
    return str(ROOT / path)


def _chrome(now: datetime.datetime) -> dict[str, Any]:
    when = formats.date_format(timezone.localtime(now), "DATETIME_FORMAT")
    return {
        "lang": (get_language() or settings.LANGUAGE_CODE).split("-")[0],
        "printed": _("Printed on %(when)s") % {"when": when},
        "labels": {
            "page": _("Page"),
            "confidential": _("Confidential: medical secrecy"),
        },
    }


def render_pdf(
    template: str,
    data: Mapping[str, Any],
    *,
    attachments: Sequence[Attachment] = (),
    now: datetime.datetime | None = None,
) -> bytes:
    """The archival PDF of `template` filled with `data` (JSON-serialisable)."""
    now = now or timezone.now()
    payload = dict(data)
    payload.setdefault("unit", unit_header())
    payload["_chrome"] = _chrome(now)
    payload["_attachments"] = [
        {
            "name": a.name,
            "content": list(a.content),
            "mime": a.mime_type,
            "description": a.description,
        }
        for a in attachments
    ]
    import typst  # a compiled extension: imported when a PDF is asked for

    path = _template_path(template)
    encoded = json.dumps(payload, ensure_ascii=False, default=str)
    for _attempt in range(_MAX_FONT_RETRIES):
        try:
            return typst.compile(
                path,
                root=str(ROOT),
                sys_inputs={"data": encoded},
                pdf_standards=["a-3b" if attachments else "a-2b"],
                ignore_system_fonts=True,
                timestamp=int(now.timestamp()),
            )
        except typst.TypstError as exc:  # type: ignore[attr-defined]
            missing = _UNDRAWABLE_ERROR.search(str(exc))
            if missing is None:
                raise PdfError(f"{template}: {exc}") from None
            encoded = _without(encoded, missing.group(1))
    raise PdfError(f"{template}: too many characters the embedded fonts cannot draw")


def _without(encoded: str, cluster: str) -> str:
    """The JSON payload with the characters of `cluster` replaced by UNDRAWABLE, and the
    page furniture told so."""
    payload = json.loads(encoded)
    table = {ord(ch): UNDRAWABLE for ch in cluster if not ch.isascii()}

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.translate(table)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: (v if k == "_attachments" else clean(v)) for k, v in value.items()}
        return value

    payload = clean(payload)
    payload["_chrome"]["undrawable"] = _(
        "Some characters could not be printed with this document's fonts and are shown as"
        " “%(mark)s”; the record holds them."
    ) % {"mark": UNDRAWABLE}
    return json.dumps(payload, ensure_ascii=False)


def pdf_text(pdf: bytes) -> str:
    """The text of every page (pypdf), for tests and checks."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pdf_attachments(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in a PDF, by name."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}
