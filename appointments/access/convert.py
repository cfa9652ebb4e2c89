"""Rows of the agenda into plain frozen data, decrypting what the viewer may read."""

from __future__ import annotations

from typing import Any

from dossiers import keys
from dossiers.keys import Identity
from dossiers.models import Patient

from .. import clock
from ..models import Appointment, CareRequest, VisitTask
from ..selectors.agenda import AppointmentRow, References
from .data import (
    AppointmentView,
    CareRequestView,
    MovementReport,
    PatientRef,
    SeriesView,
    VisitTaskView,
)
from .wall import Wall


def person_name(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


class Converter:
    """Converts the rows of one page, decrypting each patient's identity once."""

    def __init__(self, wall: Wall, *, url_base: str = "") -> None:
        self.wall = wall
        self.url_base = url_base
        self.tz = clock.unit_tz()
        self._patients: dict[Any, PatientRef] = {}

    def patient(self, patient: Patient) -> PatientRef:
        ref = self._patients.get(patient.pk)
        if ref is None:
            ref = self._patients[patient.pk] = PatientRef.of(patient)
        return ref

    def patient_of(self, row: Any) -> PatientRef:
        """ROW's patient, decrypted once per page (and not even loaded when already seen)."""
        ref = self._patients.get(row.patient_id)
        return ref if ref is not None else self.patient(row.patient)

    def appointment(
        self,
        a: Appointment,
        *,
        clinical: bool = False,
        instance: bool = False,
    ) -> AppointmentView:
        """A's view. With CLINICAL, its motive and comment where the wall lets them through
        (never loaded otherwise: grids defer those columns). The prison's report and the
        series are included when the caller loaded them with the row (select_related): a
        list never pays a query per row for them."""
        compartment = a.specialty.compartment
        motive = comment = None
        hidden = False
        readable = self.wall.reads(a.patient_id, compartment)
        if clinical:
            if readable:
                motive, comment = a.motive, a.outcome_comment
            else:
                hidden = a.motive is not None or a.outcome_comment is not None
        loaded = a._state.fields_cache
        outcome = loaded.get("movement_outcome")
        series = loaded.get("series")
        tz = clock.unit_tz()
        return AppointmentView(
            id=a.pk,
            patient=self.patient_of(a),
            start=a.start.astimezone(tz),
            end=a.end.astimezone(tz),
            specialty_id=a.specialty_id,
            specialty_name=a.specialty.name,
            compartment=compartment,
            practitioner_id=a.practitioner_id,
            practitioner_name=person_name(a.practitioner),
            room_id=a.room_id,
            room_name=a.room.name if a.room is not None else "",
            movement_point_label=a.movement_point.label,
            kind=a.kind,
            status=a.status,
            reason=a.reason,
            side=a.side,
            prison_unavailable=bool(getattr(a, "prison_unavailable", False)),
            movement_report=(
                MovementReport(
                    outcome_label=str(outcome.get_outcome_display()),
                    code_label=str(outcome.get_code_display()) if outcome.code else "",
                    received_at=outcome.received_at,
                )
                if outcome is not None
                else None
            ),
            motive=motive,
            outcome_comment=comment,
            clinical_hidden=hidden,
            clinical_readable=readable,
            series=(
                SeriesView(
                    id=series.pk,
                    index=a.series_index,
                    occurrences=series.occurrences,
                    every_n_weeks=series.every_n_weeks,
                )
                if series is not None
                else None
            ),
            url=f"{self.url_base}{a.pk}/" if self.url_base else "",
            _instance=a if instance else None,
        )

    def row(
        self, a: AppointmentRow, refs: References, identities: dict[Any, Identity]
    ) -> AppointmentView:
        """A grid's or a list's row: no model instance, no motive."""
        ref = self._patients.get(a.patient_id)
        if ref is None:
            who = identities[a.patient_id]
            ref = self._patients[a.patient_id] = PatientRef(
                id=a.patient_id,
                prison_number=who.prison_number,
                last_name=who.last_name,
                first_name=who.first_name,
                custody_status=who.custody_status,
            )
        specialty = refs.specialties[a.specialty_id]
        return AppointmentView(
            id=a.id,
            patient=ref,
            start=a.start.astimezone(self.tz),
            end=a.end.astimezone(self.tz),
            specialty_id=a.specialty_id,
            specialty_name=specialty.name,
            compartment=specialty.compartment,
            practitioner_id=a.practitioner_id,
            practitioner_name=(
                person_name(refs.people[a.practitioner_id]) if a.practitioner_id else ""
            ),
            room_id=a.room_id,
            room_name=refs.rooms[a.room_id].name if a.room_id else "",
            movement_point_label=refs.points[a.movement_point_id].label,
            kind=a.kind,
            status=a.status,
            reason=a.reason,
            side=a.side,
            prison_unavailable=a.prison_unavailable,
            clinical_readable=self.wall.reads(a.patient_id, specialty.compartment),
            url=f"{self.url_base}{a.id}/" if self.url_base else "",
        )

    def rows(self, rows: Any, refs: References) -> dict[Any, AppointmentView]:
        """Views of ROWS by id, the patients' identities decrypted in one batch."""
        identities = keys.identities({r.patient_id for r in rows} - set(self._patients))
        return {r.id: self.row(r, refs, identities) for r in rows}

    def care_request(
        self, r: CareRequest, *, today: Any, instance: bool = False
    ) -> CareRequestView:
        compartment = r.specialty.compartment
        readable = self.wall.reads(r.patient_id, compartment)
        return CareRequestView(
            id=r.pk,
            patient=self.patient_of(r),
            specialty_id=r.specialty_id,
            specialty_name=r.specialty.name,
            compartment=compartment,
            priority=r.priority,
            status=r.status,
            received_on=r.received_on,
            waiting_days=(today - r.received_on).days,
            text=r.text if readable else None,
            text_hidden=not readable,
            _instance=r if instance else None,
        )

    def visit_task(self, t: VisitTask, *, overdue: bool, instance: bool = False) -> VisitTaskView:
        return VisitTaskView(
            id=t.pk,
            patient=self.patient_of(t),
            kind=t.kind,
            due_from=t.due_from,
            due_by=t.due_by,
            status=t.status,
            overdue=overdue,
            appointment_id=t.appointment_id,
            appointment_start=(
                t.appointment.start.astimezone(clock.unit_tz())
                if t.appointment is not None
                else None
            ),
            _instance=t if instance else None,
        )
