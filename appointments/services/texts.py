"""The agenda's free texts (motive, outcome comment, care-request text): trimmed, bounded,
and stored encrypted with the data key of the patient's dossier in the specialty's
compartment."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from . import messages

TEXT_MAX_LENGTH = 5_000


def clean_text(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise ValidationError({field: messages.too_long(TEXT_MAX_LENGTH)}, code="too_long")
    return value or None
