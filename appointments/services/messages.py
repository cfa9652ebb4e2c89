"""The agenda's refusals in words: times, days and names formatted for the unit, in French
(or the user's language). The rules that raise them, and their codes, are in the other
modules of this package."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .. import clock
from ..models import OpeningHours, Specialty
from ..selectors.reference import hours_note, practitioner_name

if TYPE_CHECKING:
    from usmp.accounts.models import User

# The exclusion constraints, by name: what another clerk's faster booking means.
CONFLICT_MESSAGES: dict[str, Callable[[], str]] = {
    "appointment_no_practitioner_overlap": lambda: _(
        "This slot has just been taken: the practitioner already has an appointment at this "
        "time. Choose another slot."
    ),
    "appointment_no_room_overlap": lambda: _(
        "This slot has just been taken: the room is already occupied at this time. Choose "
        "another slot."
    ),
    "appointment_no_patient_overlap": lambda: _(
        "The patient already has another appointment at this time. Choose another slot."
    ),
}


def hm(value: datetime.datetime) -> str:
    return clock.local(value).strftime("%H:%M")


def day(value: datetime.datetime | datetime.date) -> str:
    if isinstance(value, datetime.datetime):
        value = clock.local(value).date()
    return date_format(value, "d/m/Y")


def _moment(value: datetime.datetime) -> str:
    return f"{day(value)} {hm(value)}"


def patient_not_present(status_display: str) -> str:
    return _("This patient is no longer in the establishment (%(status)s): no booking.") % {
        "status": status_display.lower()
    }


def patient_unavailable(start: datetime.datetime, end: datetime.datetime) -> str:
    return _(
        "The prison administration has said that the patient cannot be brought "
        "from %(start)s to %(end)s."
    ) % {"start": _moment(start), "end": _moment(end)}


def outside_opening_hours(
    practitioner: User,
    specialty: Specialty,
    on: datetime.date,
    windows: Iterable[OpeningHours],
    elsewhere: Iterable[OpeningHours] = (),
) -> str:
    """The booking is outside the practitioner's hours in SPECIALTY on day ON (WINDOWS);
    when there are none that day, the hours they do keep in other specialties (ELSEWHERE),
    named as such (they were given as the specialty's own)."""
    names = {"name": practitioner_name(practitioner), "specialty": specialty, "day": day(on)}
    hours = hours_note(windows)
    if hours:
        return (
            _("%(name)s does not consult in %(specialty)s at this time on %(day)s.") % names
            + " "
            + _("Hours in %(specialty)s that day: %(hours)s.")
            % {"specialty": specialty, "hours": hours}
        )
    message = _("%(name)s does not consult in %(specialty)s on %(day)s.") % names
    others: dict[int, list[OpeningHours]] = {}
    for window in elsewhere:
        others.setdefault(window.specialty_id, []).append(window)
    if others:
        message += " " + _("That day: %(hours)s.") % {
            "hours": "; ".join(
                _("%(specialty)s (%(hours)s)")
                % {"specialty": w[0].specialty, "hours": hours_note(w)}
                for w in others.values()
            )
        }
    return message


def practitioner_absent(
    practitioner: User, start: datetime.datetime, end: datetime.datetime
) -> str:
    return _("%(name)s is absent from %(start)s to %(end)s.") % {
        "name": practitioner_name(practitioner),
        "start": _moment(start),
        "end": _moment(end),
    }


def room_closed(room_name: str, start: datetime.datetime, end: datetime.datetime) -> str:
    return _("The room %(room)s is closed from %(start)s to %(end)s.") % {
        "room": room_name,
        "start": _moment(start),
        "end": _moment(end),
    }


def practitioner_busy(
    practitioner: User, start: datetime.datetime, end: datetime.datetime, where: str
) -> str:
    return _("%(name)s is already booked from %(start)s to %(end)s in %(where)s.") % {
        "name": practitioner_name(practitioner),
        "start": hm(start),
        "end": hm(end),
        "where": where,
    }


def room_busy(room_name: str, start: datetime.datetime, end: datetime.datetime) -> str:
    return _("The room %(room)s is already occupied from %(start)s to %(end)s.") % {
        "room": room_name,
        "start": hm(start),
        "end": hm(end),
    }


def patient_busy(start: datetime.datetime, end: datetime.datetime) -> str:
    return _("The patient already has an appointment from %(start)s to %(end)s.") % {
        "start": hm(start),
        "end": hm(end),
    }


def series_occurrence(on: datetime.date, message: str) -> str:
    return _("%(day)s: %(message)s") % {"day": day(on), "message": message}


def too_long(max_length: int) -> str:
    return _("At most %(max)d characters.") % {"max": max_length}
