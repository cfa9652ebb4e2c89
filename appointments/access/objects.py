"""One appointment (with its series), one patient's agenda, care requests and their queue,
mandatory visits, and what a booking starts from."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from dossiers.models import Patient
from dossiers.permissions import is_clinician
from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from .. import clock, permissions
from ..models import Appointment, CareRequest, HandoverItem, VisitTask
from ..selectors import agenda, care_requests, visit_tasks
from ..services import availability
from .convert import Converter
from .data import (
    AppointmentView,
    CareRequestView,
    PatientRef,
    UnavailabilityView,
    VisitTaskView,
)
from .lists import list_target, require, user_of
from .wall import NOBODY, Wall, dossier_access, wall_for

_APPOINTMENT_RELATED = (
    "patient__identity_key",
    "specialty",
    "practitioner",
    "room",
    "movement_point",
    "data_key",
    "series",
    "movement_outcome",
)


def _object_target(action: str, object_type: str, object_id: Any) -> Target:
    return Target(action, object_type=object_type, object_id=str(object_id))


def access_appointment(
    *,
    viewer: Viewer,
    appointment_id: uuid.UUID,
    purpose: str,
    for_change: bool = False,
) -> AppointmentView:
    """One appointment with its motive and comment where the wall lets them through, or
    NotFound (recorded) whether it does not exist or the viewer may not see the agenda."""
    user = user_of(viewer)
    target = _object_target(Action.APPOINTMENT_VIEW, "appointment", appointment_id)
    allowed = (
        permissions.can_change_appointments(user)
        if for_change
        else permissions.can_view_agenda(user)
    )
    appointment = None
    if allowed:
        appointment = (
            Appointment.objects.select_related(*_APPOINTMENT_RELATED)
            .prefetch_related("patient__dossiers")
            .annotate(prison_unavailable=agenda.prison_unavailable())
            .filter(pk=appointment_id)
            .first()
        )
    if appointment is None:
        record.refuse(viewer, target, purpose=purpose)
    compartment = appointment.specialty.compartment
    reach = dossier_access(user, appointment.patient, compartment)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(
                viewer,
                Target(
                    Action.APPOINTMENT_VIEW,
                    patient_id=appointment.patient_id,
                    compartment=compartment,
                    object_type="appointment",
                    object_id=str(appointment.pk),
                    break_glass=reach is not None and reach.is_break_glass,
                ),
                purpose=purpose,
            )
        wall = NOBODY if reach is None else Wall(frozenset({(appointment.patient_id, compartment)}))
        view = Converter(wall).appointment(appointment, clinical=True, instance=for_change)
        window = None
        if view.is_planned and view.prison_unavailable:
            found = availability.unavailability_overlapping(
                appointment.patient, appointment.start, appointment.end
            )
            if found is not None:
                tz = clock.unit_tz()
                window = UnavailabilityView(found.start.astimezone(tz), found.end.astimezone(tz))
        return replace(view, unavailable_window=window)


@dataclass(frozen=True)
class PatientAgenda:
    patient: PatientRef
    upcoming: tuple[AppointmentView, ...]
    past: tuple[AppointmentView, ...]
    unavailabilities: tuple[UnavailabilityView, ...]
    care_requests: tuple[CareRequestView, ...] | None


def unavailabilities_of(patient: Patient) -> tuple[UnavailabilityView, ...]:
    tz = clock.unit_tz()
    return tuple(
        UnavailabilityView(start=u.start.astimezone(tz), end=u.end.astimezone(tz))
        for u in agenda.patient_unavailabilities(patient=patient)
    )


def access_patient_agenda(*, viewer: Viewer, patient_id: uuid.UUID) -> PatientAgenda:
    """A patient's upcoming and past appointments, the windows in which the prison cannot
    bring them, and (for clinicians) their care requests; motives and request texts where
    the wall lets them through."""
    user = user_of(viewer)
    target = Target(Action.AGENDA_VIEW, patient_id=patient_id)
    patient = None
    if permissions.can_view_agenda(user):
        patient = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
    if patient is None:
        record.refuse(viewer, target, purpose=Purpose.DISPLAY)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        convert = Converter(wall_for(user, [patient.pk]))
        ref = convert.patient(patient)
        rows = agenda.patient_appointments(patient=patient)
        requests = None
        if permissions.can_view_care_requests(user):
            today = clock.today()
            requests = tuple(
                convert.care_request(r, today=today)
                for r in care_requests.patient_care_requests(patient=patient)
            )
        return PatientAgenda(
            patient=ref,
            upcoming=tuple(convert.appointment(a, clinical=True) for a in rows.upcoming),
            past=tuple(convert.appointment(a, clinical=True) for a in rows.past),
            unavailabilities=unavailabilities_of(patient),
            care_requests=requests,
        )


@dataclass(frozen=True)
class PatientOverview:
    """What the patient's page shows of the agenda: the next appointments, the waiting care
    requests and the mandatory visits (the last two for those whose roles see them)."""

    upcoming: tuple[AppointmentView, ...]
    more_upcoming: bool
    care_requests: tuple[CareRequestView, ...] | None
    tasks: tuple[VisitTaskView, ...] | None


NEXT_APPOINTMENTS = 5


def access_patient_overview(*, viewer: Viewer, patient_id: uuid.UUID) -> PatientOverview | None:
    """The agenda's part of the patient's page (one agenda event for the patient), or None,
    with nothing read, for a viewer without the agenda. Dossier links follow the wall."""
    user = user_of(viewer)
    if not permissions.can_view_agenda(user):
        return None
    with transaction.atomic():
        record.allowed(
            viewer, Target(Action.AGENDA_VIEW, patient_id=patient_id), purpose=Purpose.DISPLAY
        )
        convert = Converter(wall_for(user, [patient_id]))
        rows = agenda.patient_next_appointments(patient_id=patient_id, limit=NEXT_APPOINTMENTS + 1)
        requests = None
        if permissions.can_view_care_requests(user):
            today = clock.today()
            requests = tuple(
                convert.care_request(r, today=today)
                for r in care_requests.patient_waiting_requests(patient_id=patient_id)
            )
        tasks = None
        if permissions.can_view_visit_tasks(user):
            tasks = tuple(
                convert.visit_task(row.task, overdue=row.overdue)
                for row in visit_tasks.patient_open_visits(patient_id=patient_id)
            )
        return PatientOverview(
            upcoming=tuple(convert.appointment(a) for a in rows[:NEXT_APPOINTMENTS]),
            more_upcoming=len(rows) > NEXT_APPOINTMENTS,
            care_requests=requests,
            tasks=tasks,
        )


def access_care_request(
    *, viewer: Viewer, care_request_id: uuid.UUID, purpose: str, for_change: bool = False
) -> CareRequestView:
    """One care request, its text where the wall lets it through."""
    user = user_of(viewer)
    target = _object_target(Action.CARE_REQUEST_VIEW, "care_request", care_request_id)
    allowed = (
        permissions.can_change_care_requests(user)
        if for_change
        else permissions.can_view_care_requests(user)
    )
    care_request = None
    if allowed:
        care_request = (
            CareRequest.objects.select_related("patient__identity_key", "specialty", "data_key")
            .filter(pk=care_request_id)
            .first()
        )
    if care_request is None:
        record.refuse(viewer, target, purpose=purpose)
    compartment = care_request.specialty.compartment
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(
                viewer,
                Target(
                    Action.CARE_REQUEST_VIEW,
                    patient_id=care_request.patient_id,
                    compartment=compartment,
                    object_type="care_request",
                    object_id=str(care_request.pk),
                ),
                purpose=purpose,
            )
        return Converter(wall_for(user, [care_request.patient_id])).care_request(
            care_request, today=clock.today(), instance=for_change
        )


def access_likely_duplicate_requests(
    *, viewer: Viewer, patient_id: uuid.UUID, specialty_id: int
) -> tuple[CareRequestView, ...]:
    """The patient's requests for the same specialty of the last two weeks, shown before a
    new one is saved (one agenda event for the patient, a check); texts through the wall."""
    user = user_of(viewer)
    target = Target(Action.AGENDA_VIEW, patient_id=patient_id, object_type="care_request")
    require(viewer, permissions.can_add_care_requests(user), target, purpose=Purpose.CHECK)
    with transaction.atomic():
        found = care_requests.recent_care_requests(patient_id=patient_id, specialty_id=specialty_id)
        if not found:
            return ()
        record.allowed(viewer, target, purpose=Purpose.CHECK)
        convert = Converter(wall_for(user, [patient_id]))
        today = clock.today()
        return tuple(convert.care_request(r, today=today) for r in found)


def access_care_request_queue(*, viewer: Viewer) -> tuple[CareRequestView, ...]:
    """Waiting requests, most urgent then oldest first; texts where the wall lets them
    through."""
    user = user_of(viewer)
    target = list_target("care_request_queue")
    require(viewer, permissions.can_view_care_requests(user), target, purpose=Purpose.DISPLAY)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        queue = care_requests.care_request_queue()
        convert = Converter(wall_for(user, {r.patient_id for r in queue}))
        today = clock.today()
        return tuple(convert.care_request(r, today=today) for r in queue)


def access_visit_tasks(*, viewer: Viewer, horizon_days: int = 31) -> tuple[VisitTaskView, ...]:
    """Mandatory visits to book or hold, overdue first."""
    target = list_target("visit_tasks")
    require(
        viewer, permissions.can_view_visit_tasks(user_of(viewer)), target, purpose=Purpose.DISPLAY
    )
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        convert = Converter(NOBODY)
        return tuple(
            convert.visit_task(row.task, overdue=row.overdue)
            for row in visit_tasks.visit_tasks_pending(horizon_days=horizon_days)
        )


def access_visit_task(*, viewer: Viewer, task_id: uuid.UUID, purpose: str) -> VisitTaskView:
    """One mandatory visit, for booking it."""
    user = user_of(viewer)
    target = _object_target(Action.VISIT_TASK_VIEW, "visit_task", task_id)
    task = None
    if permissions.can_view_visit_tasks(user) and permissions.can_book(user):
        task = (
            VisitTask.objects.select_related("patient__identity_key", "appointment")
            .filter(pk=task_id)
            .first()
        )
    if task is None:
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(
                viewer,
                Target(
                    Action.VISIT_TASK_VIEW,
                    patient_id=task.patient_id,
                    object_type="visit_task",
                    object_id=str(task.pk),
                ),
                purpose=purpose,
            )
        overdue = task.due_by < clock.today()
        return Converter(NOBODY).visit_task(task, overdue=overdue, instance=True)


@dataclass(frozen=True)
class BookingContext:
    """What a booking starts from (a care request, a mandatory visit or a patient), as the
    booking page shows it, with the patient's row for the booking service."""

    patient: PatientRef | None = None
    care_request: CareRequestView | None = None
    visit_task: VisitTaskView | None = None
    unavailabilities: tuple[UnavailabilityView, ...] = ()
    _patient: Patient | None = None

    def patient_instance(self) -> Patient | None:
        return self._patient

    def query(self) -> dict[str, str]:
        """The query string that carries this context from page to page."""
        if self.care_request is not None:
            return {"care_request": str(self.care_request.id)}
        if self.visit_task is not None:
            return {"visit_task": str(self.visit_task.id)}
        if self.patient is not None:
            return {"patient": str(self.patient.id)}
        return {}


def access_booking(
    *,
    viewer: Viewer,
    purpose: str,
    care_request_id: uuid.UUID | None = None,
    visit_task_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> BookingContext:
    """The context of a booking, from the first of CARE_REQUEST_ID, VISIT_TASK_ID and
    PATIENT_ID given (one access event; NotFound, recorded, for a forged or foreign id)."""
    if care_request_id is not None:
        request = access_care_request(
            viewer=viewer, care_request_id=care_request_id, purpose=purpose, for_change=True
        )
        patient = request.instance().patient
        return BookingContext(
            patient=request.patient,
            care_request=request,
            unavailabilities=unavailabilities_of(patient),
            _patient=patient,
        )
    if visit_task_id is not None:
        task = access_visit_task(viewer=viewer, task_id=visit_task_id, purpose=purpose)
        patient = task.instance().patient
        return BookingContext(
            patient=task.patient,
            visit_task=task,
            unavailabilities=unavailabilities_of(patient),
            _patient=patient,
        )
    if patient_id is not None:
        user = user_of(viewer)
        target = Target(Action.PATIENT_VIEW, patient_id=patient_id, object_type="booking")
        found = None
        if permissions.can_book(user):
            found = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
        if found is None:
            record.refuse(viewer, target, purpose=purpose)
        with transaction.atomic():
            if purpose != Purpose.WRITE:
                record.allowed(viewer, target, purpose=purpose)
            return BookingContext(
                patient=PatientRef.of(found),
                unavailabilities=unavailabilities_of(found),
                _patient=found,
            )
    return BookingContext()


@dataclass(frozen=True)
class AgendaPatient:
    """A patient for the agenda's forms, with the row for the service that writes."""

    patient: PatientRef
    _instance: Patient

    def instance(self) -> Patient:
        return self._instance


def access_agenda_patient(*, viewer: Viewer, patient_id: uuid.UUID, purpose: str) -> AgendaPatient:
    """A patient an agenda form acts for (NotFound, recorded, without agenda access)."""
    target = Target(Action.PATIENT_VIEW, patient_id=patient_id, object_type="agenda")
    found = None
    if permissions.can_view_agenda(user_of(viewer)):
        found = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
    if found is None:
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(viewer, target, purpose=purpose)
        return AgendaPatient(patient=PatientRef.of(found), _instance=found)


@dataclass(frozen=True)
class SeriesOccurrences:
    """The appointments of one series, in order (times, places and statuses: no motive)."""

    occurrences: tuple[AppointmentView, ...]


def access_series(*, viewer: Viewer, series_id: uuid.UUID) -> SeriesOccurrences:
    """Every occurrence of a series, for a page that acts on "this one and the following"."""
    user = user_of(viewer)
    target = _object_target(Action.SERIES_VIEW, "series", series_id)
    rows: list[Appointment] = []
    if permissions.can_view_agenda(user):
        rows = list(
            Appointment.objects.select_related(
                "patient__identity_key", "specialty", "practitioner", "room", "movement_point"
            )
            .defer("motive", "outcome_comment")
            .filter(series_id=series_id)
            .order_by("series_index")
        )
    if not rows:
        record.refuse(viewer, target, purpose=Purpose.DISPLAY)
    with transaction.atomic():
        record.allowed(
            viewer,
            Target(
                Action.SERIES_VIEW,
                patient_id=rows[0].patient_id,
                compartment=rows[0].specialty.compartment,
                object_type="series",
                object_id=str(series_id),
            ),
            purpose=Purpose.DISPLAY,
        )
        convert = Converter(NOBODY)
        return SeriesOccurrences(occurrences=tuple(convert.appointment(a) for a in rows))


@dataclass(frozen=True)
class HandoverLine:
    item: str
    item_label: str
    outcome_label: str = ""
    description: str = ""
    handed_over_at: datetime.datetime | None = None
    handed_over_by: str = ""

    @property
    def done(self) -> bool:
        return self.handed_over_at is not None


@dataclass(frozen=True)
class HandoverView:
    task: VisitTaskView
    lines: tuple[HandoverLine, ...]

    @property
    def complete(self) -> bool:
        return all(line.done for line in self.lines)


def access_handover(*, viewer: Viewer, task_id: uuid.UUID, purpose: str) -> HandoverView:
    """The release handover checklist of a pre-release visit (clinicians), every item with
    what was recorded of it."""
    user = user_of(viewer)
    target = _object_target(Action.VISIT_TASK_VIEW, "handover", task_id)
    task = None
    if permissions.can_view_visit_tasks(user) and is_clinician(user):
        task = (
            VisitTask.objects.select_related("patient__identity_key", "appointment")
            .filter(pk=task_id, kind=VisitTask.Kind.PRE_RELEASE)
            .first()
        )
    if task is None:
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(
                viewer,
                Target(
                    Action.VISIT_TASK_VIEW,
                    patient_id=task.patient_id,
                    object_type="handover",
                    object_id=str(task.pk),
                ),
                purpose=purpose,
            )
        recorded = {
            h.item: h
            for h in HandoverItem.objects.filter(task=task).select_related(
                "identity_key", "handed_over_by"
            )
        }
        lines = []
        for value, label in HandoverItem.Item.choices:
            h = recorded.get(value)
            lines.append(
                HandoverLine(value, str(label))
                if h is None
                else HandoverLine(
                    value,
                    str(label),
                    outcome_label=h.get_outcome_display(),
                    description=h.description or "",
                    handed_over_at=h.handed_over_at,
                    handed_over_by=str(
                        h.handed_over_by.get_full_name() or h.handed_over_by.get_username()
                    ),
                )
            )
        overdue = task.due_by < clock.today()
        return HandoverView(
            task=Converter(NOBODY).visit_task(task, overdue=overdue, instance=True),
            lines=tuple(lines),
        )


@dataclass(frozen=True)
class AttendanceView:
    """What the agenda can attest of a patient in one compartment: no specialty, no motive."""

    count: int
    first: Any
    last: Any


def access_attendance(
    *,
    viewer: Viewer,
    patient_id: uuid.UUID,
    compartment: str,
    first_day: Any,
    last_day: Any,
) -> AttendanceView:
    """The patient's consultations attended in COMPARTMENT over a period, for an attestation
    signed in that compartment: only those who reach its dossier count them (the wall)."""
    user = user_of(viewer)
    target = Target(
        Action.AGENDA_VIEW,
        patient_id=patient_id,
        compartment=compartment,
        object_type="attendance",
    )
    patient = (
        Patient.objects.prefetch_related("dossiers").filter(pk=patient_id).first()
        if permissions.can_view_agenda(user)
        else None
    )
    reach = dossier_access(user, patient, compartment) if patient is not None else None
    if reach is None:
        record.refuse(viewer, target, purpose=Purpose.PRINT)
    with transaction.atomic():
        record.allowed(
            viewer, replace(target, break_glass=reach.is_break_glass), purpose=Purpose.PRINT
        )
        found = agenda.attendance(
            patient_id=patient_id, compartment=compartment, first_day=first_day, last_day=last_day
        )
    return AttendanceView(count=found.consultations, first=found.first, last=found.last)
