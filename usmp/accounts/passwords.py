"""The CNIL's password recommendation (délibération n° 2022-100 of 21 July 2022).

It measures a password's strength as its entropy, log2(N ** L) for a password of L
characters drawn from an alphabet of N (the sizes of the character kinds it uses), and asks
for 80 bits for a password alone, 50 bits when an access restriction (temporisation or
blocking after failures) completes it, 13 bits with a device the person holds. Cloison has
the lockout and a second factor, but until an account has enrolled its factor (its first
login) the password alone guards it, and whoever knows it enrols the factor: the password
is held to the 80 bits of a password alone, beside the 12-character minimum and the
common-password list."""

from __future__ import annotations

import math
import string
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_KINDS = (
    (set(string.ascii_lowercase), 26),
    (set(string.ascii_uppercase), 26),
    (set(string.digits), 10),
    (set(string.punctuation) | {" "}, 33),
)
# Accented letters and any other character: counted as one more kind (French keyboards).
_OTHER = 40


def entropy_bits(password: str) -> float:
    alphabet = 0
    seen_other = False
    for chars, size in _KINDS:
        if any(c in chars for c in password):
            alphabet += size
    for c in password:
        if not any(c in chars for chars, _size in _KINDS):
            seen_other = True
            break
    alphabet += _OTHER if seen_other else 0
    return len(password) * math.log2(alphabet) if alphabet else 0.0


class CnilEntropyValidator:
    def __init__(self, min_bits: int = 80) -> None:
        self.min_bits = min_bits

    def validate(self, password: str, user: Any = None) -> None:
        if entropy_bits(password) < self.min_bits:
            raise ValidationError(
                _(
                    "This password is too predictable: make it longer, or mix lower and upper "
                    "case letters, digits and symbols."
                ),
                code="password_entropy",
            )

    def get_help_text(self) -> str:
        return _(
            "Long enough for its kinds of characters: for instance 17 lower-case letters, 14 "
            "letters and digits mixing upper and lower case, or 13 characters mixing letters, "
            "digits and symbols."
        )
