"""The one door from the agenda to the bridge: movement facts, and nothing else.

A movement fact says that a detainee (prison number) must be at a movement point between two
times, and whether that still holds. The query selects exactly those columns, and the prison
numbers come decrypted from the dossiers (``dossiers.keys.prison_numbers``), so no specialty,
practitioner, room or motive can be reached from the return value: there is no model
instance to follow, only strings, datetimes and a boolean.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from dossiers.identifiers import validate_prison_number
from dossiers.keys import prison_numbers
from dossiers.models import Patient
from dossiers.selectors import patient_by_prison_number

from . import clock
from .models import (
    ACTIVE_STATUSES,
    CLIENT_LABEL_MAX_LENGTH,
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
from .models import CLIENT_REF_MAX_LENGTH as CLIENT_REF_MAX_LENGTH  # the bridge's schemas
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


# -- The version of the facts ---------------------------------------------------------------------
# appointments/migrations/0007_facts_version: a trigger adds the writing transaction's id to
# appointments_factchange whenever a fact changes.

FOLD_ABOVE = 500
# The version, the number of changes not folded yet and whether this transaction made one, as
# select-list items (also in the bridge's one statement per pull, bridge.auth).
VERSION_COLUMNS = """
(SELECT version FROM appointments_factbase WHERE id = 1)
    + (SELECT count(*) FROM appointments_factchange) AS version,
(SELECT count(*) FROM appointments_factchange) AS pending,
EXISTS (SELECT 1 FROM appointments_factchange WHERE xid = pg_current_xact_id_if_assigned()) AS own
"""
_VERSION_SQL = f"SELECT {VERSION_COLUMNS}"
_FOLD_SQL = """
WITH gone AS (
    DELETE FROM appointments_factchange WHERE xid IN (
        SELECT xid FROM appointments_factchange
        WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
        FOR UPDATE SKIP LOCKED  -- two folds at once never wait for each other
    )
    RETURNING 1
)
UPDATE appointments_factbase SET version = version + (SELECT count(*) FROM gone) WHERE id = 1
"""


def facts_version() -> tuple[int, bool]:
    """(version, own): the version of the movement facts as this transaction sees them, and
    whether this transaction itself changed a fact (its changes are not committed: a cache
    must not keep what it sees). One statement; every FOLD_ABOVE changes, one more that folds
    the changes of finished transactions into the base (the version stays the same)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        version, pending, own = cursor.fetchone()
    fold_if_due(pending)
    return int(version), bool(own)


def fold_if_due(pending: int) -> None:
    """Every FOLD_ABOVE changes, fold those of finished transactions into the base."""
    if pending > FOLD_ABOVE:
        with connection.cursor() as cursor:
            cursor.execute(_FOLD_SQL)


# -- Pushes from the prison side ----------------------------------------------------------------
# Refusals are ValidationErrors with one of these codes. Their messages are for logs and tests:
# the prison side reads the bridge's own generic message for each code (bridge/api.py).

UNKNOWN_PRISON_NUMBER = "unknown_prison_number"
INVALID_PRISON_NUMBER = "invalid_prison_number"
CUSTODY_INCONSISTENT = "custody_inconsistent"
UNAVAILABILITY_INVALID = "unavailability_invalid"
UNKNOWN_REFERENCE = "unknown_reference"
OUTCOME_INVALID = "outcome_invalid"
OUTCOME_CONFLICT = "outcome_conflict"
MOVEMENT_CANCELLED = "movement_cancelled"
PUSH_ID_REUSED = "push_id_reused"


def _seen(model: type[models.Model], client_ref: str, push_digest: str) -> bool:
    """Whether CLIENT_REF was pushed already (a retry changes nothing); the same reference
    with another body is refused (PUSH_ID_REUSED): the client has two things under one id."""
    earlier = model._default_manager.filter(client_ref=client_ref).values_list(
        "push_digest", flat=True
    )
    for digest in earlier:
        if digest and push_digest and digest != push_digest:
            raise ValidationError(
                "This reference was already used for another push.", code=PUSH_ID_REUSED
            )
        return True
    return False


def checked_prison_number(prison_number: str) -> str:
    """PRISON_NUMBER in the unit's format (digits only, never a date), before anything is
    looked up with it."""
    try:
        return validate_prison_number(prison_number)
    except ValidationError:
        raise ValidationError(
            "Not a prison number in the unit's format.", code=INVALID_PRISON_NUMBER
        ) from None


# -- Custody events pushed by the prison side ---------------------------------------------------

CUSTODY_KINDS = tuple(CustodyEvent.Kind.values)
CUSTODY_MAX_DAYS = 366


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
    push_digest: str = "",
) -> CustodyResult:
    """Apply an arrival, release or transfer pushed by the prison side, once per CLIENT_REF.

    An arrival brings the patient back into custody (the entry visit follows); a release or
    transfer dated today or earlier ends custody, cancels the planned appointments after that
    day (reason "released or transferred", attributed to the prison) and counts those of that
    day as flagged; one dated later sets the expected release date (the pre-release visit
    follows). Writes are attributed to no user: the access event names the client."""
    if kind not in CUSTODY_KINDS:
        raise ValidationError("Unknown kind of custody event.", code=CUSTODY_INCONSISTENT)
    prison_number = checked_prison_number(prison_number)
    if _seen(CustodyEvent, client_ref, push_digest):
        return _NOTHING
    patient = patient_by_prison_number(prison_number)
    if patient is None:
        raise ValidationError("No patient has this prison number.", code=UNKNOWN_PRISON_NUMBER)
    patient = Patient.objects.select_for_update().select_related("identity_key").get(pk=patient.pk)
    # The same event pushed twice at once: the second waited for the lock, and sees the first.
    if _seen(CustodyEvent, client_ref, push_digest):
        return _NOTHING
    today = clock.today()
    if abs((date - today).days) > CUSTODY_MAX_DAYS:
        raise ValidationError(
            "The date is more than a year away from today.", code=CUSTODY_INCONSISTENT
        )
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
            raise ValidationError(
                "The departure is dated before the arrival.", code=CUSTODY_INCONSISTENT
            )
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
        push_digest=push_digest,
        patient=patient,
        kind=kind,
        date=date,
        created_by=acting_client_label[:CLIENT_LABEL_MAX_LENGTH],
    )
    return CustodyResult(created=True, cancelled=change.cancelled, flagged=change.flagged)


def _locked_patient(prison_number: str) -> Patient:
    patient = patient_by_prison_number(prison_number)
    if patient is None:
        raise ValidationError("No patient has this prison number.", code=UNKNOWN_PRISON_NUMBER)
    return Patient.objects.select_for_update().select_related("identity_key").get(pk=patient.pk)


# -- Unavailability windows pushed by the prison side -------------------------------------------

UNAVAILABILITY_MAX_AHEAD = datetime.timedelta(days=366)


@transaction.atomic
def unavailability_record(
    *,
    prison_number: str,
    start: datetime.datetime,
    end: datetime.datetime,
    client_ref: str,
    acting_client_label: str,
    push_digest: str = "",
) -> bool:
    """Record that the patient cannot be brought in [START, END), once per CLIENT_REF (False:
    already recorded). No reason is taken. Appointments already booked in the window are kept
    and shown as conflicting on the agenda: the unit decides what to move."""
    prison_number = checked_prison_number(prison_number)
    if _seen(Unavailability, client_ref, push_digest):
        return False
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("The times carry no UTC offset.", code=UNAVAILABILITY_INVALID)
    if end <= start or end - start > MAX_UNAVAILABILITY:
        raise ValidationError(
            "The end is not after the start, or too far.", code=UNAVAILABILITY_INVALID
        )
    now = timezone.now()
    if end <= now or start - now > UNAVAILABILITY_MAX_AHEAD:
        raise ValidationError(
            "The window is over or more than a year ahead.", code=UNAVAILABILITY_INVALID
        )
    patient = _locked_patient(prison_number)
    if _seen(Unavailability, client_ref, push_digest):
        return False
    Unavailability.objects.create(
        client_ref=client_ref,
        push_digest=push_digest,
        patient=patient,
        start=start,
        end=end,
        created_by=acting_client_label[:CLIENT_LABEL_MAX_LENGTH],
    )
    return True


@transaction.atomic
def unavailability_withdraw(*, client_ref: str, acting_client_label: str) -> bool:
    """Withdraw the window pushed as CLIENT_REF by the same client (False: withdrawn already).
    The row is kept. An unknown reference, or another client's, is refused (UNKNOWN_REFERENCE)."""
    window = (
        Unavailability.objects.select_for_update()
        .filter(client_ref=client_ref, created_by=acting_client_label[:CLIENT_LABEL_MAX_LENGTH])
        .first()
    )
    if window is None:
        raise ValidationError(
            "This client pushed no window with this reference.", code=UNKNOWN_REFERENCE
        )
    if window.withdrawn_at is not None:
        return False
    window.withdrawn_at = timezone.now()
    window.save(update_fields=["withdrawn_at"])
    return True


# -- Movement outcomes pushed by the prison side ------------------------------------------------

OUTCOMES = tuple(MovementOutcome.Outcome.values)
OUTCOME_CODES = tuple(MovementOutcome.Code.values)


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    created: bool
    appointments: int


def movement_outcome_known(client_ref: str, push_digest: str = "") -> bool:
    """Whether CLIENT_REF was reported already (PUSH_ID_REUSED with another body)."""
    return _seen(MovementOutcome, client_ref, push_digest)


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
    push_digest: str = "",
) -> OutcomeResult:
    """Record what the prison side reports about the movement of PRISON_NUMBER to
    MOVEMENT_POINT in [WINDOW_START, WINDOW_END), once per CLIENT_REF, on the appointments it
    was made of. "not_performed" takes a CODE and makes the planned ones "not done", with the
    reason and side that code stands for; "done" takes none and changes no status (whether the
    consultation was held is the unit's to say)."""
    if outcome not in OUTCOMES:
        raise ValidationError("Unknown outcome.", code=OUTCOME_INVALID)
    if (outcome == MovementOutcome.Outcome.DONE) != (code == ""):
        raise ValidationError(
            "A code goes with a movement not performed, only.", code=OUTCOME_INVALID
        )
    if code and code not in OUTCOME_CODES:
        raise ValidationError("Unknown code.", code=OUTCOME_INVALID)
    if _seen(MovementOutcome, client_ref, push_digest):
        return OutcomeResult(created=False, appointments=0)
    if window_end <= window_start or window_start > timezone.now():
        raise ValidationError("The window is empty or has not begun.", code=OUTCOME_INVALID)
    patient = _locked_patient(prison_number)
    if _seen(MovementOutcome, client_ref, push_digest):
        return OutcomeResult(created=False, appointments=0)
    point = MovementPoint.objects.filter(code=movement_point).first()
    if point is None:
        raise ValidationError("Unknown movement point.", code=OUTCOME_INVALID)
    if MovementOutcome.objects.filter(
        patient=patient, movement_point=point, window_start=window_start
    ).exists():
        raise ValidationError(
            "An outcome is already recorded for this movement.", code=OUTCOME_CONFLICT
        )
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
        raise ValidationError(
            "Every appointment of this movement was cancelled.", code=MOVEMENT_CANCELLED
        )
    report = MovementOutcome.objects.create(
        client_ref=client_ref,
        push_digest=push_digest,
        patient=patient,
        movement_point=point,
        window_start=window_start,
        window_end=window_end,
        outcome=outcome,
        code=code,
        created_by=acting_client_label[:CLIENT_LABEL_MAX_LENGTH],
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


def specialties_at(point_id: int, *, excluding: uuid.UUID | None = None) -> set[int]:
    """The specialties a movement point serves, as ``point_specialty_counts`` counts them
    (current opening hours of its rooms, appointments of the last 30 days and to come, not
    cancelled), leaving out the appointment EXCLUDING (the one being moved)."""
    since = timezone.now() - datetime.timedelta(days=30)
    served = set(
        OpeningHours.objects.filter(room__movement_point_id=point_id)
        .filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=since.date()))
        .values_list("specialty_id", flat=True)
    )
    appointments = Appointment.objects.filter(movement_point_id=point_id, start__gte=since).exclude(
        status=Status.CANCELLED
    )
    if excluding is not None:
        appointments = appointments.exclude(pk=excluding)
    served |= set(appointments.values_list("specialty_id", flat=True).distinct())
    return served


def _named(point_id: int, *, excluding: uuid.UUID | None = None) -> set[int]:
    generic = set(
        Specialty.objects.filter(code__in=GENERIC_SPECIALTIES).values_list("pk", flat=True)
    )
    return specialties_at(point_id, excluding=excluding) - generic


def specialty_named_by(
    *,
    point: MovementPoint | None,
    specialty: Specialty,
    moving: Appointment | None = None,
) -> tuple[MovementPoint, Specialty] | None:
    """The (point, specialty) that a booking of SPECIALTY at POINT, or the move of MOVING
    there, would leave served by one specialty while it was not before (bridge.W002 at the
    moment it starts): the guards who bring a detainee there would know which service they
    see. A move away from a point can do it to the point left behind, too. None when the
    change names nothing new (a point already served by that one specialty is the
    coordinator's warning, not this person's doing)."""
    excluding = moving.pk if moving is not None else None
    if (
        point is not None
        and point.active
        and specialty.code not in GENERIC_SPECIALTIES
        and not _named(point.pk, excluding=excluding)  # it names none yet: it would name this
    ):
        return point, specialty
    left = moving.movement_point if moving is not None else None
    if left is not None and left.active and (point is None or left.pk != point.pk):
        before, after = _named(left.pk), _named(left.pk, excluding=excluding)
        if len(after) == 1 and len(before) > 1:
            return left, Specialty.objects.get(pk=next(iter(after)))
    return None


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
