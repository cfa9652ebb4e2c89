"""The words of certificates that are not the type's own: reminders of what the recipient
learns, the signer's function, and the facts counted from the agenda."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from usmp.accounts.roles import Role

from .models import Recipient

REMINDERS = {
    Recipient.PATIENT: gettext_lazy(
        "The patient receives this certificate: they read all of it and may hand it to "
        "whom they choose. Write only what the request needs."
    ),
    Recipient.FAMILY_COUNSEL: gettext_lazy(
        "Handed to the family or counsel with the patient's express consent: they will read "
        "everything written here. Write only what the patient agreed to share."
    ),
    Recipient.ADMINISTRATION: gettext_lazy(
        "For the penitentiary administration: no free text. It learns only the fixed wording "
        "and the facts counted from the agenda, never a diagnosis nor a specialty."
    ),
    Recipient.JAP: gettext_lazy(
        "For the sentence-enforcement judge: no free text. The judge learns only the fixed "
        "wording and the facts counted from the agenda, never a diagnosis nor a specialty."
    ),
    Recipient.OTHER: gettext_lazy(
        "The recipient will read everything written here. Write only what the patient agreed "
        "to share and what the request needs; no more."
    ),
}

FUNCTIONS = {
    Role.PHYSICIAN: gettext_lazy("Physician of the health unit"),
    Role.DENTIST: gettext_lazy("Dentist of the health unit"),
    Role.PSYCHIATRIST: gettext_lazy("Psychiatrist of the health unit"),
}
# On what goes to the administration or the judge the function would name the specialty.
NEUTRAL_FUNCTION = gettext_lazy("Practitioner of the health unit")


def reminder(recipient: str) -> str:
    if recipient not in Recipient.values:
        return str(REMINDERS[Recipient.OTHER])
    return str(REMINDERS[Recipient(recipient)])


def signer_function(role: str, *, strict: bool) -> str:
    if strict or role not in Role.values:
        return str(NEUTRAL_FUNCTION)
    return str(FUNCTIONS.get(Role(role), NEUTRAL_FUNCTION))


def _day(value: datetime.date) -> str:
    return value.strftime("%d/%m/%Y")


def followed_fact() -> str:
    return _("The patient is followed by the health unit.")


def attendance_fact(attendance: Any, first_day: datetime.date, last_day: datetime.date) -> str:
    """ "has attended N consultations between D1 and D2": the count only."""
    values = {"count": attendance.count, "first": _day(first_day), "last": _day(last_day)}
    if attendance.count == 0:
        return (
            _("The patient attended no consultation of the unit between %(first)s and %(last)s.")
            % values
        )
    return (
        ngettext(
            "The patient attended %(count)d consultation of the unit between %(first)s and "
            "%(last)s.",
            "The patient attended %(count)d consultations of the unit between %(first)s and "
            "%(last)s.",
            attendance.count,
        )
        % values
    )
