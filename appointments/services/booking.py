"""Booking one appointment or a series, from a care request or a mandatory visit if any.
Each write runs in one transaction with its audit rows (django-auditlog), attributed to
``acting_user``; a refusal raises ValidationError with a French message and writes nothing."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers.keys import compartment_key
from dossiers.models import Patient
from usmp.core.audit import acting_as
from usmp.core.errors import field_error

from .. import clock
from ..models import (
    EVERY_N_WEEKS_MAX,
    Appointment,
    CareRequest,
    Kind,
    MovementPoint,
    Room,
    Series,
    Specialty,
    VisitTask,
)
from . import availability, messages
from .texts import clean_text

if TYPE_CHECKING:
    from usmp.accounts.models import User

SERIES_MIN_OCCURRENCES = 2
SERIES_MAX_OCCURRENCES = 52


def _build(
    *,
    acting_user: User,
    patient: Patient,
    specialty: Specialty,
    kind: str,
    start: datetime.datetime,
    end: datetime.datetime,
    practitioner: User | None,
    room: Room | None,
    movement_point: MovementPoint | None,
    motive: str | None,
    now: datetime.datetime,
) -> Appointment:
    if kind not in Kind.values:
        raise field_error("kind", _("Unknown kind of appointment."), "invalid")
    if not specialty.active:
        raise field_error("specialty", _("This specialty is no longer offered."), "inactive")
    availability.check_practitioner(kind=kind, practitioner=practitioner)
    availability.check_patient(patient)
    availability.check_times(start, end, now=now)
    room, point = availability.place(kind=kind, room=room, movement_point=movement_point)
    availability.check_availability(
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
        data_key=compartment_key(patient, specialty.compartment),
        motive=clean_text(motive, "motive"),
        created_by=acting_user,
    )


@transaction.atomic
def appointment_book(
    *,
    acting_user: User,
    patient: Patient,
    specialty: Specialty,
    kind: str,
    start: datetime.datetime,
    end: datetime.datetime,
    practitioner: User | None = None,
    room: Room | None = None,
    movement_point: MovementPoint | None = None,
    motive: str | None = None,
    care_request: CareRequest | None = None,
    visit_task: VisitTask | None = None,
    treating_override: str = "",
) -> Appointment:
    """Book one appointment; refused with a clear message when the time is skipped, outside
    opening hours, taken, or the patient has left. A prevention visit with the patient's
    treating doctor needs TREATING_OVERRIDE, a reason from the list, kept on the visit."""
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
    override = check_prevention_practitioner(
        visit_task=visit_task, practitioner=practitioner, override=treating_override, now=now
    )
    availability.check_overlaps(appointment)
    appointment.care_request = care_request
    with acting_as(acting_user):
        availability.save_guarded(appointment, force_insert=True)
        _link(appointment, care_request=care_request, visit_task=visit_task, now=now)
        if override:
            assert visit_task is not None  # noqa: S101 - an override needs a prevention visit
            visit_task.treating_override = override
            visit_task.save(update_fields=["treating_override"])
    return appointment


def is_treating_doctor(
    *, visit_task: VisitTask | None, practitioner: User | None, now: datetime.datetime
) -> bool:
    """Whether PRACTITIONER would hold a prevention visit of their own patient: the one who
    saw the patient most in the last twelve months (seed 004, art. 100)."""
    if visit_task is None or practitioner is None or visit_task.kind != VisitTask.Kind.PREVENTION:
        return False
    from ..selectors.agenda import treating_practitioner_id

    return treating_practitioner_id(patient_id=visit_task.patient_id, at=now) == practitioner.pk


def check_prevention_practitioner(
    *,
    visit_task: VisitTask | None,
    practitioner: User | None,
    override: str,
    now: datetime.datetime,
) -> str:
    """The override to record ("" when none is needed), or the refusal."""
    if not is_treating_doctor(visit_task=visit_task, practitioner=practitioner, now=now):
        return ""
    if override not in VisitTask.TreatingOverride.values:
        raise ValidationError(
            _(
                "This practitioner is the patient's treating doctor: the prevention visit should "
                "be held by another doctor. Choose another practitioner, or give the reason."
            ),
            code="treating_doctor",
        )
    return override


@transaction.atomic
def appointment_series_book(
    *,
    acting_user: User,
    patient: Patient,
    specialty: Specialty,
    kind: str,
    start: datetime.datetime,
    end: datetime.datetime,
    every_n_weeks: int,
    occurrences: int,
    practitioner: User | None = None,
    room: Room | None = None,
    movement_point: MovementPoint | None = None,
    motive: str | None = None,
    care_request: CareRequest | None = None,
) -> list[Appointment]:
    """Book every N weeks for K occurrences, all or nothing: when one date is refused, the
    message names it and nothing is written. Each occurrence keeps the local wall-clock time,
    across daylight-saving changes."""
    if not 1 <= every_n_weeks <= EVERY_N_WEEKS_MAX:
        raise field_error(
            "every_n_weeks",
            _("Between every week and every %(max)d weeks.") % {"max": EVERY_N_WEEKS_MAX},
            "invalid",
        )
    if not SERIES_MIN_OCCURRENCES <= occurrences <= SERIES_MAX_OCCURRENCES:
        raise field_error(
            "occurrences",
            _("Between %(min)d and %(max)d occurrences.")
            % {"min": SERIES_MIN_OCCURRENCES, "max": SERIES_MAX_OCCURRENCES},
            "invalid",
        )
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
            availability.check_overlaps(appointment)
        except ValidationError as exc:
            for message in exc.messages:
                errors.append(
                    ValidationError(
                        messages.series_occurrence(day, message), code="series_occurrence"
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
            availability.save_guarded(appointment, force_insert=True)
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
