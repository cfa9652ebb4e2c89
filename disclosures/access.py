"""The one door to the register of requests for the record (docs/architecture.md, 3a)."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dossiers.access.data import PatientView, PersonRef
from dossiers.access.patients import user_of
from dossiers.models import Patient
from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from .clock import LegalClock
from .models import DisclosureRequest
from .permissions import can_manage_disclosures

REGISTER_LIMIT = 200


@dataclass(frozen=True)
class DisclosureView:
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    requester_kind: str
    requester_label: str
    requester_name: str
    requester_address: str
    heir_ground_label: str
    received_at: datetime.datetime
    identity_document_label: str
    identity_checked_by: PersonRef
    identity_checked_at: datetime.datetime
    compartments: tuple[str, ...]
    older_than_five_years: bool
    has_mandate: bool
    status: str
    status_label: str
    clock: LegalClock
    overdue: bool
    due_soon: bool
    may_send: bool
    produced_at: datetime.datetime | None
    produced_by: PersonRef
    sent_at: datetime.datetime | None
    sent_via_label: str
    sent_by: PersonRef
    refusal_ground_label: str
    refusal_reason: str
    refused_at: datetime.datetime | None
    refused_by: PersonRef
    recorded_by: PersonRef
    _instance: DisclosureRequest | None = field(default=None, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.status == DisclosureRequest.Status.OPEN

    def instance(self) -> DisclosureRequest:
        """The row, for the service that closes the request."""
        assert self._instance is not None  # noqa: S101 - only views opened for change
        return self._instance

    @classmethod
    def of(
        cls, row: DisclosureRequest, *, now: datetime.datetime, for_change: bool = False
    ) -> DisclosureView:
        clock = LegalClock.of(row.received_at, older_than_five_years=row.older_than_five_years)
        still_open = row.status == DisclosureRequest.Status.OPEN
        return cls(
            id=row.pk,
            patient_id=row.patient_id,
            patient_name=row.patient.display_name,
            requester_kind=row.requester_kind,
            requester_label=row.get_requester_kind_display(),
            requester_name=row.requester_name or "",
            requester_address=row.requester_address or "",
            heir_ground_label=row.get_heir_ground_display() if row.heir_ground else "",
            received_at=row.received_at,
            identity_document_label=row.get_identity_document_display(),
            identity_checked_by=PersonRef.of(row.identity_checked_by),
            identity_checked_at=row.identity_checked_at,
            compartments=row.compartments,
            older_than_five_years=row.older_than_five_years,
            has_mandate=row.mandate_content_type != "",
            status=row.status,
            status_label=row.get_status_display(),
            clock=clock,
            overdue=still_open and clock.overdue(now),
            due_soon=still_open and clock.due_soon(now),
            may_send=clock.may_send(now),
            produced_at=row.produced_at,
            produced_by=PersonRef.of(row.produced_by),
            sent_at=row.sent_at,
            sent_via_label=row.get_sent_via_display() if row.sent_via else "",
            sent_by=PersonRef.of(row.sent_by),
            refusal_ground_label=row.get_refusal_ground_display() if row.refusal_ground else "",
            refusal_reason=row.refusal_reason or "",
            refused_at=row.refused_at,
            refused_by=PersonRef.of(row.refused_by),
            recorded_by=PersonRef.of(row.recorded_by),
            _instance=row if for_change else None,
        )


_RELATED = (
    "patient__identity_key",
    "identity_key",
    "identity_checked_by",
    "produced_by",
    "sent_by",
    "refused_by",
    "recorded_by",
)


def _rows() -> QuerySet[DisclosureRequest]:
    return DisclosureRequest.objects.select_related(*_RELATED).defer("mandate_content")


@dataclass(frozen=True)
class PatientRequests:
    patient: PatientView
    requests: tuple[DisclosureView, ...]
    _patient: Patient

    def patient_instance(self) -> Patient:
        return self._patient


def _refuse_unless_allowed(viewer: Viewer, target: Target, *, purpose: str, hide: bool) -> None:
    if not can_manage_disclosures(user_of(viewer)):
        record.refuse(viewer, target, purpose=purpose, hide=hide)


def access_register(*, viewer: Viewer, open_only: bool = True) -> tuple[DisclosureView, ...]:
    """The unit's requests (open ones, or the latest 200 of all), oldest deadline first.
    One list event, naming the list, not the patients."""
    target = Target(Action.LIST_VIEW, object_type="disclosures", object_id="register")
    _refuse_unless_allowed(viewer, target, purpose=Purpose.DISPLAY, hide=False)
    now = timezone.now()
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        rows = _rows().order_by("-received_at")
        if open_only:
            rows = rows.filter(status=DisclosureRequest.Status.OPEN)
        views = [DisclosureView.of(r, now=now) for r in rows[:REGISTER_LIMIT]]
    if open_only:
        views.sort(key=lambda v: v.clock.deadline)
    return tuple(views)


def access_due_requests(*, viewer: Viewer) -> tuple[DisclosureView, ...]:
    """For the home page of the unit's physicians: open requests overdue or due within two
    days, most urgent first. One list event when there is any; nothing for anyone else."""
    if not can_manage_disclosures(user_of(viewer)):
        return ()
    now = timezone.now()
    with transaction.atomic():
        rows = _rows().filter(status=DisclosureRequest.Status.OPEN)
        # The longest deadline is two months: older requests are overdue whatever they ask.
        views = [DisclosureView.of(r, now=now) for r in rows]
        due = sorted((v for v in views if v.overdue or v.due_soon), key=lambda v: v.clock.deadline)
        if due:
            record.allowed(
                viewer,
                Target(Action.LIST_VIEW, object_type="disclosures", object_id="home"),
                purpose=Purpose.DISPLAY,
            )
    return tuple(due)


def access_patient_requests(
    *, viewer: Viewer, patient_id: uuid.UUID, purpose: str
) -> PatientRequests:
    """One patient's requests, newest first (WRITE: the patient only, to record one)."""
    target = Target(Action.DISCLOSURE_VIEW, patient_id=patient_id)
    _refuse_unless_allowed(viewer, target, purpose=purpose, hide=True)
    now = timezone.now()
    with transaction.atomic():
        patient = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
        if patient is None:
            record.refuse(viewer, target, purpose=purpose)
        if purpose == Purpose.WRITE:
            return PatientRequests(PatientView.of(patient), (), patient)
        record.allowed(viewer, target, purpose=purpose)
        rows = _rows().filter(patient=patient).order_by("-received_at")
        return PatientRequests(
            PatientView.of(patient), tuple(DisclosureView.of(r, now=now) for r in rows), patient
        )


def access_request(
    *,
    viewer: Viewer,
    patient_id: uuid.UUID,
    request_id: uuid.UUID,
    purpose: str,
    for_change: bool = False,
) -> DisclosureView:
    """One request of the patient's, or NotFound (recorded)."""
    target = Target(
        Action.DISCLOSURE_VIEW,
        patient_id=patient_id,
        object_type="disclosure",
        object_id=str(request_id),
    )
    _refuse_unless_allowed(viewer, target, purpose=purpose, hide=True)
    with transaction.atomic():
        rows = _rows()
        if for_change:
            rows = rows.select_for_update(of=("self",))
        row = rows.filter(pk=request_id, patient_id=patient_id).first()
        if row is None:
            record.refuse(viewer, target, purpose=purpose)
        if purpose != Purpose.WRITE:
            record.allowed(viewer, target, purpose=purpose)
        return DisclosureView.of(row, now=timezone.now(), for_change=for_change)


@dataclass(frozen=True)
class MandateContent:
    filename: str
    content_type: str
    content: bytes


def access_mandate(
    *, viewer: Viewer, patient_id: uuid.UUID, request_id: uuid.UUID
) -> MandateContent:
    """The signed mandate of a third party, decrypted for download."""
    target = Target(
        Action.DISCLOSURE_VIEW,
        patient_id=patient_id,
        object_type="mandate",
        object_id=str(request_id),
    )
    _refuse_unless_allowed(viewer, target, purpose=Purpose.EXPORT, hide=True)
    with transaction.atomic():
        row = (
            DisclosureRequest.objects.select_related("identity_key")
            .filter(pk=request_id, patient_id=patient_id)
            .exclude(mandate_content_type="")
            .first()
        )
        if row is None:
            record.refuse(viewer, target, purpose=Purpose.EXPORT)
        record.allowed(viewer, target, purpose=Purpose.EXPORT)
        return MandateContent(
            row.mandate_filename or "mandate", row.mandate_content_type, bytes(row.mandate_content)
        )
