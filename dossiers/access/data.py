"""Plain frozen data returned by the access functions: what templates render.

Views of an object opened for a change (``for_change=True``) also carry the row for the
service that writes it (``instance``). Templates cannot reach an attribute whose name starts
with an underscore, so ``_instance`` never reaches a page."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..models import Compartment, Consent, EntryKind, Patient

if TYPE_CHECKING:
    from ..models import BreakGlassAccess
    from ..permissions import DossierAccess


@dataclass(frozen=True)
class PersonRef:
    """A member of staff as pages name them."""

    id: int | None
    name: str

    @classmethod
    def of(cls, user: Any) -> PersonRef:
        if user is None:
            return cls(None, "")
        return cls(user.pk, str(user.get_full_name() or user.get_username()))


def received_author(row: Any, local_user: Any) -> PersonRef:
    """Who wrote a record: its author there, by name, when it was received from another
    unit; else the local user."""
    if getattr(row, "received_from", ""):
        return PersonRef(None, row.original_author)
    return PersonRef.of(local_user)


@dataclass(frozen=True)
class MergeView:
    """A registration merged into this patient's, as the patient's page shows it."""

    absorbed_id: uuid.UUID
    absorbed_prison_number: str
    merged_at: datetime.datetime
    merged_by: PersonRef
    reason: str


@dataclass(frozen=True)
class PatientView:
    id: uuid.UUID
    prison_number: str
    last_name: str
    first_name: str
    birth_date: datetime.date
    sex: str
    ins: str | None
    arrival_date: datetime.date
    custody_status: str
    expected_release_date: datetime.date | None
    _instance: Patient | None = field(default=None, repr=False, compare=False)
    # A registration merged into another (a tombstone): the survivor's id.
    merged_into: uuid.UUID | None = None
    # The registrations merged into this one (for its page).
    merges: tuple[MergeView, ...] = ()

    @classmethod
    def of(cls, patient: Patient, *, for_change: bool = False) -> PatientView:
        return cls(
            id=patient.pk,
            prison_number=patient.prison_number,
            last_name=patient.last_name,
            first_name=patient.first_name,
            birth_date=patient.birth_date,
            sex=patient.sex,
            ins=patient.ins,
            arrival_date=patient.arrival_date,
            custody_status=patient.custody_status,
            expected_release_date=patient.expected_release_date,
            _instance=patient if for_change else None,
            merged_into=patient.merged_into_id,
        )

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def display_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"

    @property
    def sex_label(self) -> str:
        return str(Patient.Sex(self.sex).label) if self.sex in Patient.Sex.values else self.sex

    @property
    def custody_status_label(self) -> str:
        return str(Patient.CustodyStatus(self.custody_status).label)

    @property
    def is_present(self) -> bool:
        return self.custody_status == Patient.CustodyStatus.PRESENT

    def instance(self) -> Patient:
        """The row, for the service that changes it (only when opened for a change)."""
        if self._instance is None:
            raise PermissionError("This patient was not opened for a change.")
        return self._instance


@dataclass(frozen=True)
class DossierLink:
    """A dossier the viewer may open, for the links of a patient page."""

    compartment: str
    via: str
    is_break_glass: bool

    @property
    def title(self) -> str:
        return Compartment(self.compartment).dossier_title


@dataclass(frozen=True)
class AddendumRef:
    """The note an addendum adds to: its version's id, clinical time and author."""

    id: uuid.UUID
    occurred_at: datetime.datetime
    author: PersonRef


@dataclass(frozen=True)
class EntryView:
    id: uuid.UUID
    kind: str
    text: str
    author: PersonRef
    created_at: datetime.datetime
    occurred_at: datetime.datetime
    break_glass: bool
    has_versions: bool
    # Why this version corrects the previous one ("" for a first version).
    correction_reason: str = ""
    # The note this entry adds to (another clinician's addendum), if any.
    addendum_of: AddendumRef | None = None
    # The unit it was received from in a transfer package; ``author`` is then its author
    # there (by name).
    received_from: str = ""

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def kind_label(self) -> str:
        return str(EntryKind(self.kind).label) if self.kind in EntryKind.values else self.kind


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    title: str
    content_type: str
    size: int
    uploaded_at: datetime.datetime
    uploaded_by: PersonRef
    received_from: str = ""

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def type_label(self) -> str:
        from ..documents import type_label

        return type_label(self.content_type)


@dataclass(frozen=True)
class DocumentContent:
    """A document's bytes, for the download response."""

    id: uuid.UUID
    content_type: str
    content: bytes

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[
            self.content_type
        ]


@dataclass(frozen=True)
class ConsentView:
    id: uuid.UUID
    kind: str
    decision: str
    recipient: str | None
    scope: str | None
    given_on: datetime.date
    recorded_by: PersonRef
    withdrawn_on: datetime.date | None
    received_from: str = ""
    _instance: Consent | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, consent: Consent, *, for_change: bool = False) -> ConsentView:
        return cls(
            id=consent.pk,
            kind=consent.kind,
            decision=consent.decision,
            recipient=consent.recipient,
            scope=consent.scope,
            given_on=consent.given_on,
            recorded_by=received_author(consent, consent.recorded_by),
            withdrawn_on=consent.withdrawn_on,
            received_from=consent.received_from,
            _instance=consent if for_change else None,
        )

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def kind_label(self) -> str:
        return str(Consent.Kind(self.kind).label)

    @property
    def decision_label(self) -> str:
        return str(Consent.Decision(self.decision).label)

    @property
    def is_current(self) -> bool:
        return self.withdrawn_on is None

    def instance(self) -> Consent:
        if self._instance is None:
            raise PermissionError("This decision was not opened for a change.")
        return self._instance


@dataclass(frozen=True)
class PageInfo:
    number: int
    num_pages: int
    count: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


@dataclass(frozen=True)
class DossierView:
    """A dossier as one page shows it: the patient, how the viewer reaches it, a page of
    its timeline, its documents and the patient's current consents."""

    patient: PatientView
    compartment: str
    via: str  # "team", "grant" or "break_glass"
    can_write: bool
    is_team: bool
    break_glass_until: datetime.datetime | None
    entries: tuple[EntryView, ...] = ()
    page: PageInfo = PageInfo(1, 1, 0)
    documents: tuple[DocumentView, ...] = ()
    consents: tuple[ConsentView, ...] = ()
    authors: tuple[PersonRef, ...] = ()
    # The summary at the top: allergies and the latest treatment summaries, newest first.
    allergies: tuple[EntryView, ...] = ()
    allergies_count: int = 0
    treatments: tuple[EntryView, ...] = ()
    treatments_count: int = 0
    _access: DossierAccess | None = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        return Compartment(self.compartment).dossier_title

    @property
    def is_break_glass(self) -> bool:
        return self.via == "break_glass"

    def access(self) -> DossierAccess:
        """The write capability, for the service that writes in the dossier."""
        if self._access is None:
            raise PermissionError("This dossier was not opened for a change.")
        return self._access


@dataclass(frozen=True)
class EntryHistoryView:
    dossier: DossierView
    versions: tuple[EntryView, ...]


@dataclass(frozen=True)
class BreakGlassView:
    """An emergency access as the coordinator reviews it (the reason decrypted)."""

    id: uuid.UUID
    user: PersonRef
    patient_id: uuid.UUID
    compartment: str
    reason: str
    started_at: datetime.datetime
    expires_at: datetime.datetime
    reviewed_at: datetime.datetime | None
    review_comment: str | None
    _instance: BreakGlassAccess | None = field(default=None, repr=False, compare=False)

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def compartment_label(self) -> str:
        return str(Compartment(self.compartment).label)

    def instance(self) -> BreakGlassAccess:
        if self._instance is None:
            raise PermissionError("This emergency access was not opened for a change.")
        return self._instance
