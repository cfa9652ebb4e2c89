"""Normalisation and validation of patient identifiers (prison number, INS)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# What a form takes as typed, spaces included, before normalising.
PRISON_NUMBER_INPUT_MAX_LENGTH = 20
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s.\-/]+")
# A date typed where a prison number goes: digit groups joined by - / or . ("0001-01-01",
# "12/03/2026"), or three space-separated groups shaped as a day, a month and a year.
_DATE_SEPARATOR = re.compile(r"[0-9]\s*[-/.]\s*[0-9]")
_SPACED_DATE = (
    re.compile(r"^(?P<day>[0-9]{1,2}) +(?P<month>[0-9]{1,2}) +(?:[0-9]{2}|[0-9]{4})$"),
    re.compile(r"^[0-9]{4} +(?P<month>[0-9]{1,2}) +(?P<day>[0-9]{1,2})$"),
)


def prison_number_digits() -> tuple[int, int]:
    """The fewest and most digits of the unit's prison numbers (settings)."""
    return settings.USMP_PRISON_NUMBER_MIN_DIGITS, settings.USMP_PRISON_NUMBER_MAX_DIGITS


def prison_number_format() -> str:
    """The unit's format in words, e.g. "4 to 10 digits"."""
    fewest, most = prison_number_digits()
    if fewest == most:
        return _("%(digits)d digits") % {"digits": most}
    return _("%(min)d to %(max)d digits") % {"min": fewest, "max": most}


def normalise_prison_number(value: str) -> str:
    """VALUE without its spaces (typed to group digits, "555 0002"): what a valid prison
    number is stored and looked up as. Nothing else is removed, so that a date never
    becomes a number."""
    return _SPACES.sub("", value or "")


def looks_like_a_date(value: str) -> bool:
    text = (value or "").strip()
    if _DATE_SEPARATOR.search(text):
        return True
    for shape in _SPACED_DATE:
        match = shape.match(text)
        if match and 1 <= int(match["day"]) <= 31 and 1 <= int(match["month"]) <= 12:
            return True
    return False


def validate_prison_number(value: str) -> str:
    """Return the normalised prison number (digits only, of the unit's length) or raise
    ValidationError; a date typed as one is refused as such."""
    if looks_like_a_date(value):
        raise ValidationError(
            _("This looks like a date, not a prison number: enter its %(format)s only.")
            % {"format": prison_number_format()},
            code="date_like_prison_number",
        )
    normalised = normalise_prison_number(value)
    fewest, most = prison_number_digits()
    if not (normalised.isascii() and normalised.isdigit() and fewest <= len(normalised) <= most):
        raise ValidationError(
            _("A prison number has %(format)s, nothing else.") % {"format": prison_number_format()},
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
