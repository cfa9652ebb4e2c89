"""The one door from the agenda to the bridge: movement facts, and nothing else.

A movement fact says that a detainee (prison number) must be at a movement point between two
times, and whether that still holds. The query selects exactly those columns, and the prison
numbers come decrypted from the dossiers (``dossiers.keys.prison_numbers``), so no specialty,
practitioner, room or motive can be reached from the return value: there is no model
instance to follow, only strings, datetimes and a boolean.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from dossiers.keys import prison_numbers
from dossiers.models import Patient
from dossiers.selectors import patient_by_prison_number

from . import clock
from .models import (
    ACTIVE_STATUSES,
    MAX_DURATION,
    MAX_UNAVAILABILITY,
    MOVEMENT_CODE_REASON,
    Appointment,
    CustodyEvent,
    MovementOutcome,
    MovementPoint,
    OpeningHours,
    Specialty,
    Status,
    Unavailability,
)
from .services.changes import appointment_movement_outcome
from .services.custody import CustodyChange, custody_change


@dataclass(frozen=True, slots=True)
class MovementFact:
    prison_number: str
    start: datetime.datetime
    end: datetime.datetime
    movement_point: str
    active: bool


def movement_facts(
    start: datetime.datetime, end: datetime.datetime, *, prison_number: str | None = None
) -> tuple[MovementFact, ...]:
    """Movement facts of the appointments overlapping [START, END), sorted by start, of every
    patient or of the one with PRISON_NUMBER. Planned and done appointments are active;
    cancelled and not-done ones are not. Two queries (three for one patient)."""
    if end <= start:
        return ()
    appointments = Appointment.objects.filter(
        start__lt=end, start__gt=start - MAX_DURATION, end__gt=start
    )
    if prison_number is not None:
        patient = patient_by_prison_number(prison_number)
        if patient is None:
            return ()
        appointments = appointments.filter(patient=patient)
    rows = list(
        appointments.order_by("start", "end", "pk").values_list(
            "patient_id", "start", "end", "movement_point__code", "status"
        )
    )
    numbers = prison_numbers({row[0] for row in rows})
    return tuple(
        MovementFact(
            prison_number=numbers[patient_id],
            start=row_start,
            end=row_end,
            movement_point=point,
            active=status in ACTIVE_STATUSES,
        )
        for patient_id, row_start, row_end, point, status in rows
    )


# -- Custody events pushed by the prison side ---------------------------------------------------

CUSTODY_KINDS = tuple(CustodyEvent.Kind.values)
CUSTODY_MAX_DAYS = 366


class UnknownPrisonNumber(ValueError):
    pass


class CustodyInconsistent(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CustodyResult:
    created: bool
    cancelled: int
    flagged: int


_NOTHING = CustodyResult(created=False, cancelled=0, flagged=0)


@transaction.atomic
def custody_event_record(
    *,
    prison_number: str,
    kind: str,
    date: datetime.date,
    client_ref: str,
    acting_client_label: str,
) -> CustodyResult:
    """Apply an arrival, release or transfer pushed by the prison side, once per CLIENT_REF.

    An arrival brings the patient back into custody (the entry visit follows); a release or
    transfer dated today or earlier ends custody, cancels the planned appointments after that
    day (reason "released or transferred", attributed to the prison) and counts those of that
    day as flagged; one dated later sets the expected release date (the pre-release visit
    follows). Writes are attributed to no user: the access event names the client."""
    if kind not in CUSTODY_KINDS:
        raise CustodyInconsistent("kind")
    if CustodyEvent.objects.filter(client_ref=client_ref).exists():
        return _NOTHING
    patient = patient_by_prison_number(prison_number)
    if patient is None:
        raise UnknownPrisonNumber("prison number")
    patient = Patient.objects.select_for_update().select_related("identity_key").get(pk=patient.pk)
    # The same event pushed twice at once: the second waited for the lock, and sees the first.
    if CustodyEvent.objects.filter(client_ref=client_ref).exists():
        return _NOTHING
    today = clock.today()
    if abs((date - today).days) > CUSTODY_MAX_DAYS:
        raise CustodyInconsistent("date")
    change = CustodyChange()
    if kind == CustodyEvent.Kind.ARRIVAL:
        custody_change(
            acting_user=None,
            patient=patient,
            custody_status=Patient.CustodyStatus.PRESENT,
            arrival_date=date,
        )
    else:
        if date < patient.arrival_date:
            raise CustodyInconsistent("date")
        if date > today:
            custody_change(acting_user=None, patient=patient, expected_release_date=date)
        else:
            status = (
                Patient.CustodyStatus.RELEASED
                if kind == CustodyEvent.Kind.RELEASE
                else Patient.CustodyStatus.TRANSFERRED
            )
            change = custody_change(
                acting_user=None, patient=patient, custody_status=status, left_on=date
            )
    CustodyEvent.objects.create(
        client_ref=client_ref,
        patient=patient,
        kind=kind,
        date=date,
        created_by=acting_client_label[:160],
    )
    return CustodyResult(created=True, cancelled=change.cancelled, flagged=change.flagged)


def _locked_patient(prison_number: str) -> Patient:
    patient = patient_by_prison_number(prison_number)
    if patient is None:
        raise UnknownPrisonNumber("prison number")
    return Patient.objects.select_for_update().select_related("identity_key").get(pk=patient.pk)


# -- Unavailability windows pushed by the prison side -------------------------------------------

UNAVAILABILITY_MAX_AHEAD = datetime.timedelta(days=366)


class UnavailabilityInvalid(ValueError):
    pass


class UnknownReference(LookupError):
    pass


@transaction.atomic
def unavailability_record(
    *,
    prison_number: str,
    start: datetime.datetime,
    end: datetime.datetime,
    client_ref: str,
    acting_client_label: str,
) -> bool:
    """Record that the patient cannot be brought in [START, END), once per CLIENT_REF (False:
    already recorded). No reason is taken. Appointments already booked in the window are kept
    and shown as conflicting on the agenda: the unit decides what to move."""
    if Unavailability.objects.filter(client_ref=client_ref).exists():
        return False
    if start.tzinfo is None or end.tzinfo is None:
        raise UnavailabilityInvalid("naive datetime")
    if end <= start or end - start > MAX_UNAVAILABILITY:
        raise UnavailabilityInvalid("length")
    now = timezone.now()
    if end <= now or start - now > UNAVAILABILITY_MAX_AHEAD:
        raise UnavailabilityInvalid("dates")
    patient = _locked_patient(prison_number)
    if Unavailability.objects.filter(client_ref=client_ref).exists():
        return False
    Unavailability.objects.create(
        client_ref=client_ref,
        patient=patient,
        start=start,
        end=end,
        created_by=acting_client_label[:160],
    )
    return True


@transaction.atomic
def unavailability_withdraw(*, client_ref: str, acting_client_label: str) -> bool:
    """Withdraw the window pushed as CLIENT_REF by the same client (False: withdrawn already).
    The row is kept. An unknown reference, or another client's, raises UnknownReference."""
    window = (
        Unavailability.objects.select_for_update()
        .filter(client_ref=client_ref, created_by=acting_client_label[:160])
        .first()
    )
    if window is None:
        raise UnknownReference("unavailability")
    if window.withdrawn_at is not None:
        return False
    window.withdrawn_at = timezone.now()
    window.save(update_fields=["withdrawn_at"])
    return True


# -- Movement outcomes pushed by the prison side ------------------------------------------------

OUTCOMES = tuple(MovementOutcome.Outcome.values)
OUTCOME_CODES = tuple(MovementOutcome.Code.values)


class OutcomeInvalid(ValueError):
    pass


class OutcomeConflict(ValueError):
    """Another outcome was already recorded for this movement."""


class MovementCancelled(OutcomeInvalid):
    """Every appointment of the movement was cancelled before its time."""


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    created: bool
    appointments: int


def movement_outcome_known(client_ref: str) -> bool:
    return MovementOutcome.objects.filter(client_ref=client_ref).exists()


@transaction.atomic
def movement_outcome_record(
    *,
    prison_number: str,
    movement_point: str,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    outcome: str,
    code: str,
    client_ref: str,
    acting_client_label: str,
) -> OutcomeResult:
    """Record what the prison side reports about the movement of PRISON_NUMBER to
    MOVEMENT_POINT in [WINDOW_START, WINDOW_END), once per CLIENT_REF, on the appointments it
    was made of. "not_performed" takes a CODE and makes the planned ones "not done", with the
    reason and side that code stands for; "done" takes none and changes no status (whether the
    consultation was held is the unit's to say)."""
    if outcome not in OUTCOMES:
        raise OutcomeInvalid("outcome")
    if (outcome == MovementOutcome.Outcome.DONE) != (code == ""):
        raise OutcomeInvalid("code")
    if code and code not in OUTCOME_CODES:
        raise OutcomeInvalid("code")
    if MovementOutcome.objects.filter(client_ref=client_ref).exists():
        return OutcomeResult(created=False, appointments=0)
    if window_end <= window_start or window_start > timezone.now():
        raise OutcomeInvalid("window")
    patient = _locked_patient(prison_number)
    if MovementOutcome.objects.filter(client_ref=client_ref).exists():
        return OutcomeResult(created=False, appointments=0)
    point = MovementPoint.objects.filter(code=movement_point).first()
    if point is None:
        raise OutcomeInvalid("movement point")
    if MovementOutcome.objects.filter(
        patient=patient, movement_point=point, window_start=window_start
    ).exists():
        raise OutcomeConflict("movement")
    appointments = list(
        Appointment.objects.filter(
            patient=patient,
            movement_point=point,
            start__gte=window_start,
            end__lte=window_end,
            status__in=(Status.PLANNED, Status.DONE, Status.NOT_DONE),
        ).order_by("start")
    )
    if not appointments:
        raise MovementCancelled("movement")
    report = MovementOutcome.objects.create(
        client_ref=client_ref,
        patient=patient,
        movement_point=point,
        window_start=window_start,
        window_end=window_end,
        outcome=outcome,
        code=code,
        created_by=acting_client_label[:160],
    )
    reason, side = MOVEMENT_CODE_REASON.get(code, ("", ""))  # type: ignore[call-overload]
    for appointment in appointments:
        appointment_movement_outcome(
            appointment=appointment, report=report, reason=reason, side=side
        )
    return OutcomeResult(created=True, appointments=len(appointments))


# -- What the leakage lint needs -------------------------------------------------------------


# Specialties that name no service: a hospital consultation's service is in its (encrypted)
# motive, not in the agenda. A point served by it alone tells the prison "hospital", which
# the escort knows anyway.
GENERIC_SPECIALTIES = frozenset({"external-hospital"})


def point_specialty_counts() -> dict[str, int]:
    """For each active movement point, how many specialties it serves: those of the current
    opening hours of its rooms, and of its appointments of the last 30 days and to come
    (extractions and visits in a wing have no room). 1 means the point names the specialty
    to the prison side. Points with no consultation at all, or served only by a generic
    specialty (GENERIC_SPECIALTIES), are left out."""
    since = timezone.now() - datetime.timedelta(days=30)
    pairs = set(
        OpeningHours.objects.filter(room__movement_point__active=True)
        .filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=since.date()))
        .values_list("room__movement_point__code", "specialty_id")
        .distinct()
    )
    pairs |= set(
        Appointment.objects.filter(movement_point__active=True, start__gte=since)
        .exclude(status=Status.CANCELLED)
        .values_list("movement_point__code", "specialty_id")
        .distinct()
    )
    generic = set(
        Specialty.objects.filter(code__in=GENERIC_SPECIALTIES).values_list("pk", flat=True)
    )
    counts: dict[str, int] = {}
    for point, specialty in pairs:
        counts[point] = counts.get(point, 0) + (specialty not in generic)
    return {point: count for point, count in counts.items() if count}


def earliest_opening() -> datetime.time | None:
    """The earliest time of day at which a consultation window opens (current hours)."""
    return (
        OpeningHours.objects.filter(
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=clock.today())
        )
        .order_by("start_time")
        .values_list("start_time", flat=True)
        .first()
    )
