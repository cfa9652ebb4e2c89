"""Normalisation and validation of patient identifiers (prison number, INS)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A numéro d'écrou: 4 to 10 digits, optionally one trailing letter. Spaces, dots and dashes
# typed by the user are ignored.
PRISON_NUMBER_RE = re.compile(r"^[0-9]{4,10}[A-Z]?$")
# What a form takes as typed, separators included, before normalising.
PRISON_NUMBER_INPUT_MAX_LENGTH = 20
_SEPARATORS = re.compile(r"[\s.\-/]+")


def normalise_prison_number(value: str) -> str:
    return _SEPARATORS.sub("", value or "").upper()


def validate_prison_number(value: str) -> str:
    """Return the normalised prison number or raise ValidationError."""
    normalised = normalise_prison_number(value)
    if not PRISON_NUMBER_RE.match(normalised):
        raise ValidationError(
            _("A prison number has 4 to 10 digits, optionally followed by one letter."),
            code="invalid_prison_number",
        )
    return normalised


def validate_ins(value: str) -> str:
    """INS (NIR-based): 13 characters and a 2-digit key equal to 97 - (NIR mod 97)."""
    normalised = _SEPARATORS.sub("", value or "").upper()
    if not re.match(r"^[12378][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}[0-9]{2}$", normalised):
        raise ValidationError(
            _(
                "An INS has 15 characters: 13 for the number (starting with 1, 2, 3, 7 or 8) and 2 for the key."
            ),
            code="invalid_ins",
        )
    body = normalised[:13].replace("2A", "19", 1).replace("2B", "18", 1)
    if 97 - (int(body) % 97) != int(normalised[13:]):
        raise ValidationError(
            _("The INS control key does not match: check the number."), code="invalid_ins_key"
        )
    return normalised
