"""System checks of the dossiers' settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from .identifiers import PRISON_NUMBER_INPUT_MAX_LENGTH, prison_number_digits


def register_format_check() -> None:
    register(check_prison_number_format)


def check_prison_number_format(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    fewest, most = prison_number_digits()
    if 1 <= fewest <= most <= PRISON_NUMBER_INPUT_MAX_LENGTH:
        return []
    return [
        Error(
            f"The prison number's length ({fewest} to {most} digits) is not a range of 1 to "
            f"{PRISON_NUMBER_INPUT_MAX_LENGTH} digits.",
            hint="Set USMP_PRISON_NUMBER_MIN_DIGITS at most USMP_PRISON_NUMBER_MAX_DIGITS.",
            id="dossiers.E001",
        )
    ]
