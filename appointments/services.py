"""Writes of the agenda. Each runs in one transaction with its audit rows (django-auditlog),
attributed to ``acting_user``. Bad input raises ValidationError with a French message and
writes nothing; overlaps are refused by the database's exclusion constraints, whose violation
becomes the same kind of message."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from dossiers.models import Dossier, Patient
from usmp.core.audit import acting_as

from . import clock
from .models import (
    ACTIVE_STATUSES,
    DEFAULT_SIDE,
    KINDS_IN_A_ROOM,
    MAX_DURATION,
    Absence,
    Appointment,
    CareRequest,
    Kind,
    MovementOutcome,
    MovementPoint,
    OpeningHours,
    Reason,
    Room,
    RoomClosure,
    Series,
    Side,
    Specialty,
    Status,
    Unavailability,
    VisitTask,
)

MIN_DURATION = datetime.timedelta(minutes=5)
TEXT_MAX_LENGTH = 5_000
# The entry visit is due "as soon as possible" after an arrival; the unit's protocol says
# within two days. Arrivals registered more than 30 days late are taken as already seen.
ENTRY_VISIT_DAYS = 2
ENTRY_VISIT_LOOKBACK_DAYS = 30

CONFLICT_MESSAGES = {
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


class BookingConflict(ValidationError):
    """The database refused an overlap (another clerk was faster): the view offers fresh
    free slots."""


def _hm(value: datetime.datetime) -> str:
    return clock.local(value).strftime("%H:%M")


def _day(value: datetime.datetime | datetime.date) -> str:
    if isinstance(value, datetime.datetime):
        value = clock.local(value).date()
    return date_format(value, "d/m/Y")


def _practitioner_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def _save_guarded(instance: models.Model, **save_kwargs: Any) -> None:
    """Save inside a savepoint; an exclusion-constraint violation becomes BookingConflict."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        message = CONFLICT_MESSAGES.get(constraint or "")
        if message is None:
            raise
        raise BookingConflict(message(), code="conflict") from None


# -- Checks ------------------------------------------------------------------------------------


def _check_times(
    start: datetime.datetime, end: datetime.datetime, *, now: datetime.datetime
) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise TypeError("Appointment times must be aware datetimes.")
    if end <= start:
        raise ValidationError(_("The end is before the start."), code="end_before_start")
    if end - start < MIN_DURATION:
        raise ValidationError(_("An appointment lasts at least 5 minutes."), code="too_short")
    if end - start > MAX_DURATION:
        raise ValidationError(_("An appointment lasts at most 12 hours."), code="too_long")
    if start < now:
        raise ValidationError(_("This time is in the past."), code="past")


def _check_patient(patient: Patient) -> None:
    if patient.custody_status != Patient.CustodyStatus.PRESENT:
        raise ValidationError(
            _("This patient is no longer in the establishment (%(status)s): no booking.")
            % {"status": patient.get_custody_status_display().lower()},
            code="patient_not_present",
        )


def _opening_windows(
    practitioner: Any, day: datetime.date, specialty: Specialty | None = None
) -> list[OpeningHours]:
    qs = OpeningHours.objects.filter(
        practitioner=practitioner, weekday=day.weekday(), valid_from__lte=day
    ).filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=day))
    if specialty is not None:
        qs = qs.filter(specialty=specialty)
    return [w for w in qs.order_by("start_time") if w.applies_on(day)]


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


def _check_availability(
    *,
    patient: Patient,
    practitioner: Any,
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
                _(
                    "The prison administration has said that the patient cannot be brought "
                    "from %(start)s to %(end)s."
                )
                % {
                    "start": f"{_day(unavailable.start)} {_hm(unavailable.start)}",
                    "end": f"{_day(unavailable.end)} {_hm(unavailable.end)}",
                },
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
            hours = ", ".join(
                f"{w.start_time:%H:%M}\u2013{w.end_time:%H:%M}"
                for w in windows or _opening_windows(practitioner, day)
            )
            message = _("%(name)s does not consult in %(specialty)s at this time on %(day)s.") % {
                "name": _practitioner_name(practitioner),
                "specialty": specialty,
                "day": _day(day),
            }
            if hours:
                message += " " + _("Opening hours that day: %(hours)s.") % {"hours": hours}
            errors.append(ValidationError(message, code="outside_opening_hours"))
        absence = (
            Absence.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start)
            .order_by("start")
            .first()
        )
        if absence is not None:
            errors.append(
                ValidationError(
                    _("%(name)s is absent from %(start)s to %(end)s.")
                    % {
                        "name": _practitioner_name(practitioner),
                        "start": f"{_day(absence.start)} {_hm(absence.start)}",
                        "end": f"{_day(absence.end)} {_hm(absence.end)}",
                    },
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
                    _("The room %(room)s is closed from %(start)s to %(end)s.")
                    % {
                        "room": room.name,
                        "start": f"{_day(closure.start)} {_hm(closure.start)}",
                        "end": f"{_day(closure.end)} {_hm(closure.end)}",
                    },
                    code="room_closed",
                )
            )
    if errors:
        raise ValidationError(errors)


def _check_overlaps(appointment: Appointment) -> None:
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
        if other is not None:
            where = other.room.name if other.room else other.movement_point.label
            errors.append(
                ValidationError(
                    _("%(name)s is already booked from %(start)s to %(end)s in %(where)s.")
                    % {
                        "name": _practitioner_name(appointment.practitioner),
                        "start": _hm(other.start),
                        "end": _hm(other.end),
                        "where": where,
                    },
                    code="practitioner_busy",
                )
            )
    if appointment.room_id is not None:
        other = base.filter(room_id=appointment.room_id).first()
        if other is not None:
            errors.append(
                ValidationError(
                    _("The room %(room)s is already occupied from %(start)s to %(end)s.")
                    % {
                        "room": appointment.room.name if appointment.room else "",
                        "start": _hm(other.start),
                        "end": _hm(other.end),
                    },
                    code="room_busy",
                )
            )
    other = base.filter(patient_id=appointment.patient_id).first()
    if other is not None:
        errors.append(
            ValidationError(
                _("The patient already has an appointment from %(start)s to %(end)s.")
                % {"start": _hm(other.start), "end": _hm(other.end)},
                code="patient_busy",
            )
        )
    if errors:
        raise BookingConflict(errors)


def _place(
    *, kind: str, room: Room | None, movement_point: MovementPoint | None
) -> tuple[Room | None, MovementPoint]:
    """Where the appointment happens: a room of the unit (and its movement point), or a
    movement point alone for extractions and visits in a wing."""
    if kind in KINDS_IN_A_ROOM:
        if room is None:
            raise ValidationError(
                {"room": _("Choose a room for this kind of appointment.")}, code="room_required"
            )
        if not room.active:
            raise ValidationError({"room": _("This room is no longer in use.")}, code="inactive")
        return room, room.movement_point
    if room is not None:
        raise ValidationError(
            {"room": _("An extraction or a visit in a wing takes no room of the unit.")},
            code="room_not_allowed",
        )
    if movement_point is None:
        raise ValidationError(
            {"movement_point": _("Choose where the patient must be taken.")},
            code="movement_point_required",
        )
    if not movement_point.active:
        raise ValidationError(
            {"movement_point": _("This movement point is no longer in use.")}, code="inactive"
        )
    return None, movement_point


def _clean_text(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise ValidationError(
            {field: _("At most %(max)d characters.") % {"max": TEXT_MAX_LENGTH}},
            code="too_long",
        )
    return value or None


def dossier_key(patient: Patient, specialty: Specialty) -> Any:
    """The data key of the patient's dossier in the specialty's compartment."""
    return (
        Dossier.objects.select_related("data_key")
        .get(patient=patient, compartment=specialty.compartment)
        .data_key
    )


# -- Booking -----------------------------------------------------------------------------------


def _build(
    *,
    acting_user: Any,
    patient: Patient,
    specialty: Specialty,
    kind: str,
    start: datetime.datetime,
    end: datetime.datetime,
    practitioner: Any,
    room: Room | None,
    movement_point: MovementPoint | None,
    motive: str | None,
    now: datetime.datetime,
) -> Appointment:
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Unknown kind of appointment.")}, code="invalid")
    if not specialty.active:
        raise ValidationError(
            {"specialty": _("This specialty is no longer offered.")}, code="inactive"
        )
    if practitioner is None and kind != Kind.EXTRACTION:
        raise ValidationError(
            {"practitioner": _("Choose the practitioner.")}, code="practitioner_required"
        )
    if practitioner is not None and not practitioner.is_active:
        raise ValidationError({"practitioner": _("This account is deactivated.")}, code="inactive")
    _check_patient(patient)
    _check_times(start, end, now=now)
    room, point = _place(kind=kind, room=room, movement_point=movement_point)
    _check_availability(
        patient=patient,
        practitioner=practitioner,
        specialty=specialty,
        room=room,
        start=start,
        end=end,
    )
    return Appointment(
        patient=patient,
        specialty=specialty,
        kind=kind,
        practitioner=practitioner,
        room=room,
        movement_point=point,
        start=start,
        end=end,
        data_key=dossier_key(patient, specialty),
        motive=_clean_text(motive, "motive"),
        created_by=acting_user,
    )


@transaction.atomic
def appointment_book(
    *,
    acting_user: Any,
    patient: Patient,
    specialty: Specialty,
    kind: str,
    start: datetime.datetime,
    end: datetime.datetime,
    practitioner: Any = None,
    room: Room | None = None,
    movement_point: MovementPoint | None = None,
    motive: str | None = None,
    care_request: CareRequest | None = None,
    visit_task: VisitTask | None = None,
) -> Appointment:
    """Book one appointment; refused with a clear message when the time is skipped, outside
    opening hours, taken, or the patient has left."""
    now = timezone.now()
    appointment = _build(
        acting_user=acting_user,
        patient=patient,
        specialty=specialty,
        kind=kind,
        start=start,
        end=end,
        practitioner=practitioner,
        room=room,
        movement_point=movement_point,
        motive=motive,
        now=now,
    )
    _check_links(patient=patient, care_request=care_request, visit_task=visit_task)
    _check_overlaps(appointment)
    appointment.care_request = care_request
    with acting_as(acting_user):
        _save_guarded(appointment, force_insert=True)
        _link(appointment, care_request=care_request, visit_task=visit_task, now=now)
    return appointment


@transaction.atomic
def appointment_series_book(
    *,
    acting_user: Any,
    patient: Patient,
    specialty: Specialty,
    kind: str,
    start: datetime.datetime,
    end: datetime.datetime,
    every_n_weeks: int,
    occurrences: int,
    practitioner: Any = None,
    room: Room | None = None,
    movement_point: MovementPoint | None = None,
    motive: str | None = None,
    care_request: CareRequest | None = None,
) -> list[Appointment]:
    """Book every N weeks for K occurrences, all or nothing: when one date is refused, the
    message names it and nothing is written. Each occurrence keeps the local wall-clock time,
    across daylight-saving changes."""
    if not 1 <= every_n_weeks <= 8:
        raise ValidationError(
            {"every_n_weeks": _("Between every week and every 8 weeks.")}, code="invalid"
        )
    if not 2 <= occurrences <= 52:
        raise ValidationError({"occurrences": _("Between 2 and 52 occurrences.")}, code="invalid")
    now = timezone.now()
    local_start, local_end = clock.local(start), clock.local(end)
    _check_links(patient=patient, care_request=care_request, visit_task=None)
    built: list[Appointment] = []
    errors: list[ValidationError] = []
    for index in range(occurrences):
        day = local_start.date() + datetime.timedelta(weeks=every_n_weeks * index)
        try:
            occurrence_start = clock.wall_clock(day, local_start.time())
            occurrence_end = clock.wall_clock(
                day + (local_end.date() - local_start.date()), local_end.time()
            )
            appointment = _build(
                acting_user=acting_user,
                patient=patient,
                specialty=specialty,
                kind=kind,
                start=occurrence_start,
                end=occurrence_end,
                practitioner=practitioner,
                room=room,
                movement_point=movement_point,
                motive=motive,
                now=now,
            )
            _check_overlaps(appointment)
        except ValidationError as exc:
            for message in exc.messages:
                errors.append(
                    ValidationError(
                        _("%(day)s: %(message)s") % {"day": _day(day), "message": message},
                        code="series_occurrence",
                    )
                )
            continue
        appointment.series_index = index + 1
        appointment.care_request = care_request if index == 0 else None
        built.append(appointment)
    if errors:
        raise ValidationError(errors)
    with acting_as(acting_user):
        series = Series.objects.create(
            every_n_weeks=every_n_weeks, occurrences=occurrences, created_by=acting_user
        )
        for appointment in built:
            appointment.series = series
            _save_guarded(appointment, force_insert=True)
        _link(built[0], care_request=care_request, visit_task=None, now=now)
    return built


def _check_links(
    *, patient: Patient, care_request: CareRequest | None, visit_task: VisitTask | None
) -> None:
    if care_request is not None and (
        care_request.patient_id != patient.pk or care_request.status != CareRequest.Status.WAITING
    ):
        raise ValidationError(
            _("This care request is not waiting for this patient."), code="care_request_state"
        )
    if visit_task is not None and (
        visit_task.patient_id != patient.pk or visit_task.status != VisitTask.Status.OPEN
    ):
        raise ValidationError(
            _("This mandatory visit is not waiting to be booked for this patient."),
            code="visit_task_state",
        )


def _link(
    appointment: Appointment,
    *,
    care_request: CareRequest | None,
    visit_task: VisitTask | None,
    now: datetime.datetime,
) -> None:
    if care_request is not None:
        care_request.status = CareRequest.Status.BOOKED
        fields = ["status"]
        if care_request.first_booked_at is None:
            care_request.first_booked_at = now
            fields.append("first_booked_at")
        care_request.save(update_fields=fields)
    if visit_task is not None:
        visit_task.appointment = appointment
        visit_task.status = VisitTask.Status.BOOKED
        visit_task.save(update_fields=["appointment", "status"])


@transaction.atomic
def appointment_move(
    *,
    acting_user: Any,
    appointment: Appointment,
    start: datetime.datetime,
    end: datetime.datetime,
    practitioner: Any = None,
    room: Room | None = None,
) -> Appointment:
    """Move one planned appointment (one occurrence of a series leaves the others intact)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Status.PLANNED:
        raise ValidationError(_("Only a planned appointment can be moved."), code="not_planned")
    _check_times(start, end, now=timezone.now())
    if practitioner is None and appointment.kind != Kind.EXTRACTION:
        practitioner = appointment.practitioner
    if appointment.kind in KINDS_IN_A_ROOM:
        room, point = _place(
            kind=appointment.kind, room=room or appointment.room, movement_point=None
        )
    else:
        room, point = None, appointment.movement_point
    _check_patient(appointment.patient)
    _check_availability(
        patient=appointment.patient,
        practitioner=practitioner,
        specialty=appointment.specialty,
        room=room,
        start=start,
        end=end,
    )
    appointment.start, appointment.end = start, end
    appointment.practitioner, appointment.room, appointment.movement_point = (
        practitioner,
        room,
        point,
    )
    _check_overlaps(appointment)
    with acting_as(acting_user):
        _save_guarded(
            appointment,
            update_fields=["start", "end", "practitioner", "room", "movement_point", "updated_at"],
        )
    return appointment


# -- Cancellations and outcomes ------------------------------------------------------------------


def _reason_and_side(reason: str, side: str) -> tuple[str, str]:
    if reason not in Reason.values:
        raise ValidationError({"reason": _("Choose a reason.")}, code="reason_required")
    if not side:
        side = DEFAULT_SIDE.get(Reason(reason), "")
    if side not in Side.values:
        raise ValidationError(
            {"side": _("Say who this is attributed to: health unit, patient or prison.")},
            code="side_required",
        )
    return reason, side


def _release_links(appointment: Appointment) -> None:
    """The appointment will not take place: its care request and mandatory visit wait again."""
    request = appointment.care_request
    if request is not None and request.status == CareRequest.Status.BOOKED:
        still_booked = request.appointments.filter(status=Status.PLANNED).exclude(pk=appointment.pk)
        if not still_booked.exists():
            request.status = CareRequest.Status.WAITING
            request.save(update_fields=["status"])
    for task in appointment.visit_tasks.filter(status=VisitTask.Status.BOOKED):
        task.status = VisitTask.Status.OPEN
        task.appointment = None
        task.save(update_fields=["status", "appointment"])


@transaction.atomic
def appointment_cancel(
    *,
    acting_user: Any,
    appointment: Appointment,
    reason: str,
    side: str = "",
    comment: str | None = None,
    following: bool = False,
) -> list[Appointment]:
    """Cancel a planned appointment, or with FOLLOWING this one and the later planned
    occurrences of its series. The reason and its attribution feed the activity reports."""
    reason, side = _reason_and_side(reason, side)
    comment = _clean_text(comment, "comment")
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Status.PLANNED:
        raise ValidationError(_("Only a planned appointment can be cancelled."), code="not_planned")
    targets = [appointment]
    if following and appointment.series_id is not None:
        targets = list(
            Appointment.objects.select_for_update(of=("self",))
            .filter(
                series_id=appointment.series_id,
                status=Status.PLANNED,
                start__gte=appointment.start,
            )
            .select_related("data_key", "care_request")
            .order_by("start")
        )
    now = timezone.now()
    with acting_as(acting_user):
        for target in targets:
            target.status = Status.CANCELLED
            target.reason, target.side = reason, side
            target.outcome_comment = comment
            target.outcome_at, target.outcome_by = now, acting_user
            target.save(
                update_fields=[
                    "status",
                    "reason",
                    "side",
                    "outcome_comment",
                    "outcome_at",
                    "outcome_by",
                    "updated_at",
                ]
            )
            _release_links(target)
    return targets


@transaction.atomic
def appointment_record_outcome(
    *,
    acting_user: Any,
    appointment: Appointment,
    done: bool,
    reason: str = "",
    side: str = "",
    comment: str | None = None,
) -> Appointment:
    """Record that an appointment whose time has come took place, or why it did not."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status not in {Status.PLANNED, Status.DONE, Status.NOT_DONE}:
        raise ValidationError(_("A cancelled appointment has no outcome."), code="cancelled")
    now = timezone.now()
    if appointment.start > now:
        raise ValidationError(
            _("This appointment has not started yet: cancel it instead."), code="future"
        )
    if done:
        appointment.status, appointment.reason, appointment.side = Status.DONE, "", ""
    else:
        reason, side = _reason_and_side(reason, side)
        appointment.status, appointment.reason, appointment.side = Status.NOT_DONE, reason, side
    appointment.outcome_comment = _clean_text(comment, "comment")
    appointment.outcome_at, appointment.outcome_by = now, acting_user
    with acting_as(acting_user):
        _save_guarded(
            appointment,
            update_fields=[
                "status",
                "reason",
                "side",
                "outcome_comment",
                "outcome_at",
                "outcome_by",
                "updated_at",
            ],
        )
        if done:
            request = appointment.care_request
            if request is not None and request.status != CareRequest.Status.CLOSED:
                request.status = CareRequest.Status.DONE
                request.consulted_at = appointment.start
                request.save(update_fields=["status", "consulted_at"])
            for task in appointment.visit_tasks.exclude(status=VisitTask.Status.CANCELLED):
                task.status, task.closed_at = VisitTask.Status.DONE, now
                task.save(update_fields=["status", "closed_at"])
        else:
            _release_links(appointment)
            for task in appointment.visit_tasks.filter(status=VisitTask.Status.DONE):
                task.status, task.closed_at, task.appointment = VisitTask.Status.OPEN, None, None
                task.save(update_fields=["status", "closed_at", "appointment"])
    return appointment


@transaction.atomic
def appointment_movement_outcome(
    *, appointment: Appointment, report: MovementOutcome, reason: str, side: str
) -> Appointment:
    """Record on APPOINTMENT what the prison side reported about the movement that was to
    bring the patient. A movement not performed makes a still planned appointment "not done"
    (REASON, attributed to SIDE), attributed to no user; an outcome the unit has recorded
    already is kept, so that a disagreement stays visible rather than overwritten."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    appointment.movement_outcome = report
    fields = ["movement_outcome", "updated_at"]
    if report.outcome == MovementOutcome.Outcome.NOT_PERFORMED and (
        appointment.status == Status.PLANNED
    ):
        appointment.status, appointment.reason, appointment.side = Status.NOT_DONE, reason, side
        appointment.outcome_at, appointment.outcome_by = timezone.now(), None
        fields += ["status", "reason", "side", "outcome_at", "outcome_by"]
    _save_guarded(appointment, update_fields=fields)
    if appointment.status == Status.NOT_DONE and "status" in fields:
        _release_links(appointment)
    return appointment


# -- Care requests -------------------------------------------------------------------------------


@transaction.atomic
def care_request_create(
    *,
    acting_user: Any,
    patient: Patient,
    specialty: Specialty,
    received_on: datetime.date,
    priority: str,
    text: str,
) -> CareRequest:
    """Record a written care request from the letter box; its text is encrypted with the
    patient's dossier key of the requested specialty's compartment."""
    _check_patient(patient)
    if received_on > clock.today():
        raise ValidationError(
            {"received_on": _("The date received cannot be in the future.")}, code="future"
        )
    if not specialty.active:
        raise ValidationError(
            {"specialty": _("This specialty is no longer offered.")}, code="inactive"
        )
    cleaned = _clean_text(text, "text")
    if cleaned is None:
        raise ValidationError({"text": _("Copy the request's text.")}, code="required")
    request = CareRequest(
        patient=patient,
        specialty=specialty,
        data_key=dossier_key(patient, specialty),
        text=cleaned,
        received_on=received_on,
        priority=priority,
        recorded_by=acting_user,
    )
    with acting_as(acting_user):
        request.save(force_insert=True)
    return request


@transaction.atomic
def care_request_close(*, acting_user: Any, care_request: CareRequest, reason: str) -> CareRequest:
    """Close a waiting request without an appointment (duplicate, no longer needed...)."""
    care_request = CareRequest.objects.select_for_update().get(pk=care_request.pk)
    if care_request.status != CareRequest.Status.WAITING:
        raise ValidationError(_("Only a waiting request can be closed."), code="not_waiting")
    if reason not in CareRequest.CloseReason.values:
        raise ValidationError({"reason": _("Choose a reason.")}, code="reason_required")
    care_request.status = CareRequest.Status.CLOSED
    care_request.close_reason = reason
    care_request.closed_at = timezone.now()
    with acting_as(acting_user):
        care_request.save(update_fields=["status", "close_reason", "closed_at"])
    return care_request


# -- Mandatory visits ---------------------------------------------------------------------------


def _pending(patient: Patient, kind: str) -> VisitTask | None:
    return VisitTask.objects.filter(
        patient=patient, kind=kind, status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED]
    ).first()


def _cancel_tasks(tasks: Iterable[VisitTask], now: datetime.datetime) -> None:
    for task in tasks:
        task.status, task.closed_at = VisitTask.Status.CANCELLED, now
        task.save(update_fields=["status", "closed_at"])


def _task_sync(
    patient: Patient,
    kind: str,
    due_from: datetime.date,
    due_by: datetime.date,
    *,
    move_booked: bool,
    done_since: dict[str, datetime.date],
) -> None:
    """Keep the pending visit of KIND due from DUE_FROM to DUE_BY: move the pending one's
    window (a booked one's only if MOVE_BOOKED), or create one unless a visit of KIND
    matching DONE_SINCE was done already."""
    task = _pending(patient, kind)
    if task is not None:
        movable = move_booked or task.status == VisitTask.Status.OPEN
        if movable and (task.due_from, task.due_by) != (due_from, due_by):
            task.due_from, task.due_by = due_from, due_by
            task.save(update_fields=["due_from", "due_by"])
        return
    done = VisitTask.objects.filter(
        patient=patient, kind=kind, status=VisitTask.Status.DONE, **done_since
    ).exists()
    if not done:
        VisitTask.objects.create(patient=patient, kind=kind, due_from=due_from, due_by=due_by)


@transaction.atomic
def visit_tasks_sync(
    *, acting_user: Any, patient: Patient, created: bool = False, arrived: bool = False
) -> None:
    """Derive the mandatory visits from the patient's custody facts: an entry visit after a
    new arrival, a pre-release visit in the month before a known release date; none once the
    patient has left. ARRIVED (a readmission, or a changed arrival date) opens an entry visit
    unless one is pending (an open one follows the new date) or was done since that date."""
    now = timezone.now()
    today = clock.today()
    pending = VisitTask.objects.filter(
        patient=patient, status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED]
    )
    with acting_as(acting_user):
        if patient.custody_status != Patient.CustodyStatus.PRESENT:
            _cancel_tasks(pending, now)
            return
        if (created or arrived) and patient.arrival_date >= today - datetime.timedelta(
            days=ENTRY_VISIT_LOOKBACK_DAYS
        ):
            _task_sync(
                patient,
                VisitTask.Kind.ENTRY,
                patient.arrival_date,
                patient.arrival_date + datetime.timedelta(days=ENTRY_VISIT_DAYS),
                # A booked entry visit keeps its window: it is being taken care of.
                move_booked=False,
                done_since={"due_from__gte": patient.arrival_date},
            )
        release = patient.expected_release_date
        if release is None or release < today:
            _cancel_tasks(pending.filter(kind=VisitTask.Kind.PRE_RELEASE), now)
            return
        due_from = clock.minus_one_month(release)
        _task_sync(
            patient,
            VisitTask.Kind.PRE_RELEASE,
            due_from,
            release,
            move_booked=True,
            done_since={"due_by__gte": due_from},
        )


# -- Reference data ------------------------------------------------------------------------------


@transaction.atomic
def reference_save(*, acting_user: Any, instance: models.Model) -> models.Model:
    """Create or change a specialty, room, movement point, opening hours, absence or room
    closure (the coordinator's settings)."""
    instance.full_clean()
    try:
        with transaction.atomic(), acting_as(acting_user):
            instance.save()
    except IntegrityError:
        raise ValidationError(
            _("This conflicts with an existing entry (same code or name)."), code="duplicate"
        ) from None
    return instance
