"""Plain frozen data returned by the agenda's access functions: what templates render.

Views of an object opened for a change carry the row for the service that writes it
(``instance()``); templates cannot reach an attribute whose name starts with an
underscore."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from dossiers.models import Compartment, Patient

from ..models import Appointment, CareRequest, Kind, Priority, Reason, Side, Status, VisitTask


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


@dataclass(frozen=True)
class PatientRef:
    """A patient as an agenda line names them."""

    id: uuid.UUID
    prison_number: str
    last_name: str
    first_name: str
    custody_status: str
    # Computed once: a day grid names the same patient on many lines.
    display_name: str = ""

    def __post_init__(self) -> None:
        if not self.display_name:
            object.__setattr__(self, "display_name", f"{self.last_name.upper()} {self.first_name}")

    @classmethod
    def of(cls, patient: Patient) -> PatientRef:
        return cls(
            id=patient.pk,
            prison_number=patient.prison_number,
            last_name=patient.last_name,
            first_name=patient.first_name,
            custody_status=patient.custody_status,
        )

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def is_present(self) -> bool:
        return self.custody_status == Patient.CustodyStatus.PRESENT

    @property
    def custody_status_label(self) -> str:
        return _label(Patient.CustodyStatus, self.custody_status)


@dataclass(frozen=True)
class MovementReport:
    """What the prison side reported about the movement that brought the patient."""

    outcome_label: str
    code_label: str
    received_at: datetime.datetime


@dataclass(frozen=True)
class UnavailabilityView:
    start: datetime.datetime
    end: datetime.datetime


@dataclass(frozen=True)
class SeriesView:
    id: uuid.UUID
    index: int | None
    occurrences: int
    every_n_weeks: int


@dataclass(frozen=True)
class AppointmentView:
    """An appointment as agenda pages show it. ``motive`` and ``outcome_comment`` are None
    for a viewer outside their compartment (``clinical_hidden`` then says there was text)."""

    id: uuid.UUID
    patient: PatientRef
    start: datetime.datetime  # in the unit's time zone
    end: datetime.datetime
    specialty_id: int
    specialty_name: str
    compartment: str
    practitioner_id: int | None
    practitioner_name: str
    room_id: int | None
    room_name: str
    movement_point_label: str
    kind: str
    status: str
    reason: str
    side: str
    prison_unavailable: bool = False
    movement_report: MovementReport | None = None
    motive: str | None = None
    outcome_comment: str | None = None
    clinical_hidden: bool = False
    # Whether the viewer reads (and so may write) this compartment's clinical text.
    clinical_readable: bool = False
    series: SeriesView | None = None
    # On one appointment's page: the prison's window that keeps the patient from it.
    unavailable_window: UnavailabilityView | None = None
    late: bool = False
    url: str = ""
    _instance: Appointment | None = field(default=None, repr=False, compare=False)

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def place(self) -> str:
        return self.room_name or self.movement_point_label

    @property
    def time_range(self) -> str:
        return f"{self.start:%H:%M}\u2013{self.end:%H:%M}"

    @property
    def meta_with_place(self) -> str:
        """A grid line's detail where columns are practitioners."""
        return f"{self.patient.prison_number} · {self.specialty_name} · {self.place}"

    @property
    def meta_with_practitioner(self) -> str:
        """A grid line's detail where columns are rooms."""
        meta = f"{self.patient.prison_number} · {self.specialty_name}"
        return f"{meta} · {self.practitioner_name}" if self.practitioner_name else meta

    @property
    def badges(self) -> tuple[tuple[str, str], ...]:
        """(CSS modifier, label) of what a grid line flags: not planned, not on site, the
        patient gone or not available when booked."""
        found = []
        if self.status != Status.PLANNED:
            found.append(("", self.status_label))
        if self.kind != Kind.ON_SITE:
            found.append(("", self.kind_label))
        if self.status == Status.PLANNED:
            if not self.patient.is_present:
                found.append((" badge-absent", self.patient.custody_status_label))
            elif self.prison_unavailable:
                found.append((" badge-absent", str(_("Cannot be brought"))))
        return tuple(found)

    @property
    def kind_label(self) -> str:
        return _label(Kind, self.kind)

    @property
    def status_label(self) -> str:
        return _label(Status, self.status)

    @property
    def reason_label(self) -> str:
        return _label(Reason, self.reason) if self.reason else ""

    @property
    def side_label(self) -> str:
        return _label(Side, self.side) if self.side else ""

    @property
    def compartment_label(self) -> str:
        return _label(Compartment, self.compartment)

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def is_planned(self) -> bool:
        return self.status == Status.PLANNED

    @property
    def is_late(self) -> bool:
        """Still planned though its time had come when the page was read (the patient has
        not been seen, or the outcome is not recorded yet); lists of the day set it."""
        return self.late

    @property
    def opens_dossier(self) -> bool:
        """Whether the viewer reaches the patient's dossier of this appointment's
        compartment (the wall's answer: team, grant or open emergency access)."""
        return self.clinical_readable

    @property
    def dossier_title(self) -> str:
        return Compartment(self.compartment).dossier_title

    @property
    def cannot_take_place(self) -> str:
        """Why a planned appointment cannot be held as booked: the patient has left, or the
        prison cannot bring them then ("" when it can)."""
        if self.status != Status.PLANNED:
            return ""
        if not self.patient.is_present:
            return self.patient.custody_status_label
        return "unavailable" if self.prison_unavailable else ""

    def instance(self) -> Appointment:
        """The row, for the service that changes it (only when opened for a change)."""
        if self._instance is None:
            raise PermissionError("This appointment was not opened for a change.")
        return self._instance


@dataclass(frozen=True)
class CareRequestView:
    """A care request; ``text`` is None for a viewer outside its compartment."""

    id: uuid.UUID
    patient: PatientRef
    specialty_id: int
    specialty_name: str
    compartment: str
    priority: str
    status: str
    received_on: datetime.date
    waiting_days: int
    text: str | None
    text_hidden: bool
    _instance: CareRequest | None = field(default=None, repr=False, compare=False)

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def priority_label(self) -> str:
        return _label(Priority, self.priority)

    @property
    def opens_dossier(self) -> bool:
        """Whether the viewer reaches the dossier of this request's compartment."""
        return not self.text_hidden

    @property
    def dossier_title(self) -> str:
        return Compartment(self.compartment).dossier_title

    @property
    def status_label(self) -> str:
        return _label(CareRequest.Status, self.status)

    @property
    def compartment_label(self) -> str:
        return _label(Compartment, self.compartment)

    def instance(self) -> CareRequest:
        if self._instance is None:
            raise PermissionError("This care request was not opened for a change.")
        return self._instance


@dataclass(frozen=True)
class VisitTaskView:
    id: uuid.UUID
    patient: PatientRef
    kind: str
    due_from: datetime.date
    due_by: datetime.date
    status: str
    overdue: bool
    appointment_id: uuid.UUID | None
    appointment_start: datetime.datetime | None
    _instance: VisitTask | None = field(default=None, repr=False, compare=False)

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def kind_label(self) -> str:
        return _label(VisitTask.Kind, self.kind)

    @property
    def status_label(self) -> str:
        return _label(VisitTask.Status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status == VisitTask.Status.OPEN

    def instance(self) -> VisitTask:
        if self._instance is None:
            raise PermissionError("This visit was not opened for a change.")
        return self._instance


@dataclass(frozen=True)
class Column:
    key: Any
    label: str
    note: str
    absent: bool
    appointments: tuple[AppointmentView, ...]


@dataclass(frozen=True)
class Grid:
    """Appointments in columns (practitioners, rooms or days) and hour rows."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[int, tuple[tuple[AppointmentView, ...], ...]], ...]
    count: int
