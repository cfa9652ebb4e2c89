"""Whether an appointment may take place: a plausible time, a patient still in custody, a
practitioner consulting and not absent, a room open, a patient the prison can bring, and
nobody booked twice. The exclusion constraints stay the guarantee for the last rule:
``save_guarded`` turns their violation into the same kind of refusal."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers.models import Patient
from usmp.core.errors import field_error

from .. import clock
from ..models import (
    ACTIVE_STATUSES,
    KINDS_IN_A_ROOM,
    MAX_DURATION,
    Absence,
    Appointment,
    Kind,
    MovementPoint,
    OpeningHours,
    Room,
    RoomClosure,
    Specialty,
    Unavailability,
)
from . import messages

if TYPE_CHECKING:
    from usmp.accounts.models import User

MIN_DURATION = datetime.timedelta(minutes=5)


class BookingConflict(ValidationError):
    """The database refused an overlap (another clerk was faster): the view offers fresh
    free slots."""


def save_guarded(instance: models.Model, **save_kwargs: Any) -> None:
    """Save inside a savepoint; an exclusion-constraint violation becomes BookingConflict."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        message = messages.CONFLICT_MESSAGES.get(constraint or "")
        if message is None:
            raise
        raise BookingConflict(message(), code="conflict") from None


def check_times(
    start: datetime.datetime, end: datetime.datetime, *, now: datetime.datetime
) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise TypeError("Appointment times must be aware datetimes.")
    if end <= start:
        raise ValidationError(_("The end is before the start."), code="end_before_start")
    if end - start < MIN_DURATION:
        raise ValidationError(
            _("An appointment lasts at least %(minutes)d minutes.")
            % {"minutes": MIN_DURATION // datetime.timedelta(minutes=1)},
            code="too_short",
        )
    if end - start > MAX_DURATION:
        raise ValidationError(
            _("An appointment lasts at most %(hours)d hours.")
            % {"hours": MAX_DURATION // datetime.timedelta(hours=1)},
            code="too_long",
        )
    if start < now:
        raise ValidationError(_("This time is in the past."), code="past")


def check_practitioner(*, kind: str, practitioner: User | None) -> None:
    """Every kind but an extraction has a practitioner, and an active one."""
    if practitioner is None and kind != Kind.EXTRACTION:
        raise field_error("practitioner", _("Choose the practitioner."), "practitioner_required")
    if practitioner is not None and not practitioner.is_active:
        raise field_error("practitioner", _("This account is deactivated."), "inactive")


def check_patient(patient: Patient) -> None:
    if patient.custody_status != Patient.CustodyStatus.PRESENT:
        raise ValidationError(
            messages.patient_not_present(patient.get_custody_status_display()),
            code="patient_not_present",
        )


def _opening_windows(
    practitioner: User, day: datetime.date, specialty: Specialty | None = None
) -> list[OpeningHours]:
    qs = OpeningHours.objects.filter(
        practitioner=practitioner, weekday=day.weekday(), valid_from__lte=day
    ).filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=day))
    if specialty is not None:
        qs = qs.filter(specialty=specialty)
    return [w for w in qs.select_related("specialty").order_by("start_time") if w.applies_on(day)]


def unavailability_overlapping(
    patient: Patient, start: datetime.datetime, end: datetime.datetime
) -> Unavailability | None:
    """The first window, not withdrawn, in which the prison side cannot bring the patient."""
    return (
        Unavailability.objects.filter(
            patient=patient, withdrawn_at__isnull=True, start__lt=end, end__gt=start
        )
        .order_by("start")
        .first()
    )


def check_availability(
    *,
    patient: Patient,
    practitioner: User | None,
    specialty: Specialty,
    room: Room | None,
    start: datetime.datetime,
    end: datetime.datetime,
) -> None:
    errors: list[ValidationError] = []
    unavailable = unavailability_overlapping(patient, start, end)
    if unavailable is not None:
        errors.append(
            ValidationError(
                messages.patient_unavailable(unavailable.start, unavailable.end),
                code="patient_unavailable",
            )
        )
    if practitioner is not None:
        local_start, local_end = clock.local(start), clock.local(end)
        day = local_start.date()
        windows = _opening_windows(practitioner, day, specialty)
        inside = local_end.date() == day and any(
            w.start_time <= local_start.time() and local_end.time() <= w.end_time for w in windows
        )
        if not inside:
            errors.append(
                ValidationError(
                    messages.outside_opening_hours(
                        practitioner,
                        specialty,
                        day,
                        windows,
                        () if windows else _opening_windows(practitioner, day),
                    ),
                    code="outside_opening_hours",
                )
            )
        absence = (
            Absence.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start)
            .order_by("start")
            .first()
        )
        if absence is not None:
            errors.append(
                ValidationError(
                    messages.practitioner_absent(practitioner, absence.start, absence.end),
                    code="practitioner_absent",
                )
            )
    if room is not None:
        closure = (
            RoomClosure.objects.filter(room=room, start__lt=end, end__gt=start)
            .order_by("start")
            .first()
        )
        if closure is not None:
            errors.append(
                ValidationError(
                    messages.room_closed(room.name, closure.start, closure.end),
                    code="room_closed",
                )
            )
    if errors:
        raise ValidationError(errors)


def check_overlaps(appointment: Appointment) -> None:
    """The same rules as the exclusion constraints, checked first to name the conflict. The
    constraints stay the guarantee: two clerks may both pass this check."""
    base = Appointment.objects.filter(
        status__in=ACTIVE_STATUSES,
        start__lt=appointment.end,
        start__gt=appointment.start - MAX_DURATION,
        end__gt=appointment.start,
    ).exclude(pk=appointment.pk)
    errors: list[ValidationError] = []
    if appointment.practitioner_id is not None:
        other = (
            base.filter(practitioner_id=appointment.practitioner_id)
            .select_related("room", "movement_point")
            .first()
        )
        # The practitioner is loaded already (the booking or the move set it).
        if other is not None and appointment.practitioner is not None:
            where = other.room.name if other.room else other.movement_point.label
            errors.append(
                ValidationError(
                    messages.practitioner_busy(
                        appointment.practitioner, other.start, other.end, where
                    ),
                    code="practitioner_busy",
                )
            )
    if appointment.room_id is not None:
        other = base.filter(room_id=appointment.room_id).first()
        if other is not None:
            errors.append(
                ValidationError(
                    messages.room_busy(
                        appointment.room.name if appointment.room else "", other.start, other.end
                    ),
                    code="room_busy",
                )
            )
    other = base.filter(patient_id=appointment.patient_id).first()
    if other is not None:
        errors.append(
            ValidationError(messages.patient_busy(other.start, other.end), code="patient_busy")
        )
    if errors:
        raise BookingConflict(errors)


def place(
    *, kind: str, room: Room | None, movement_point: MovementPoint | None
) -> tuple[Room | None, MovementPoint]:
    """Where the appointment happens: a room of the unit (and its movement point), or a
    movement point alone for extractions and visits in a wing."""
    if kind in KINDS_IN_A_ROOM:
        if room is None:
            raise field_error(
                "room", _("Choose a room for this kind of appointment."), "room_required"
            )
        if not room.active:
            raise field_error("room", _("This room is no longer in use."), "inactive")
        return room, room.movement_point
    if room is not None:
        raise field_error(
            "room",
            _("An extraction or a visit in a wing takes no room of the unit."),
            "room_not_allowed",
        )
    if movement_point is None:
        raise field_error(
            "movement_point",
            _("Choose where the patient must be taken."),
            "movement_point_required",
        )
    if not movement_point.active:
        raise field_error(
            "movement_point", _("This movement point is no longer in use."), "inactive"
        )
    return None, movement_point
