"""The agenda's free texts (motive, outcome comment, care-request text): trimmed, bounded,
and stored encrypted with the data key of the patient's dossier in the specialty's
compartment."""

from __future__ import annotations

from usmp.core.errors import field_error

from . import messages

TEXT_MAX_LENGTH = 5_000


def clean_text(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise field_error(field, messages.too_long(TEXT_MAX_LENGTH), "too_long")
    return value or None
