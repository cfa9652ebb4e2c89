"""The certificates' doors (§3a): a patient's requests, one request opened by a signer,
an issued PDF (through the dossier's document door), and the register without names."""

from __future__ import annotations

import datetime
import uuid
from collections import Counter as Tally
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from dossiers.access.data import DocumentContent, PatientView, PersonRef
from dossiers.access.dossier import access_document
from dossiers.models import Patient
from dossiers.permissions import reachable_compartments
from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from . import permissions, texts
from .models import (
    CertificateRequest,
    CertificateType,
    Recipient,
    RefusalReason,
    Requester,
)
from .services import missing_consent


def _user(viewer: Viewer) -> Any:
    return viewer.user if viewer.user is not None else AnonymousUser()


@dataclass(frozen=True)
class TypeView:
    id: int
    code: str
    name: str
    recipient: str
    recipient_label: str
    required_consent: str
    signers: tuple[str, ...]
    wording: str
    facts: str
    free_text: bool
    active: bool
    reminder: str

    @classmethod
    def of(cls, t: CertificateType) -> TypeView:
        return cls(
            id=t.pk,
            code=t.code,
            name=t.name,
            recipient=t.recipient,
            recipient_label=str(Recipient(t.recipient).label),
            required_consent=t.get_required_consent_display() if t.required_consent else "",
            signers=tuple(t.signers),
            wording=t.wording,
            facts=t.facts,
            free_text=t.free_text,
            active=t.active,
            reminder=texts.reminder(t.recipient),
        )

    @property
    def signer_labels(self) -> str:
        from usmp.accounts.roles import Role

        return ", ".join(str(Role(r).label) for r in self.signers)

    @property
    def counts_attendance(self) -> bool:
        return self.facts == "attendance"


@dataclass(frozen=True)
class RequestView:
    id: uuid.UUID
    patient_id: uuid.UUID
    type: TypeView
    requester_label: str
    requester_name: str
    received_on: datetime.date
    recorded_by: PersonRef
    status: str
    status_label: str
    refusal_label: str
    number: str
    digest: str
    decided_by: PersonRef
    decided_at: datetime.datetime | None
    compartment: str
    # Whether the viewer reaches the dossier that keeps the PDF.
    opens_pdf: bool
    _instance: CertificateRequest | None = None

    @classmethod
    def of(cls, r: CertificateRequest, *, opens_pdf: bool, for_change: bool = False) -> RequestView:
        return cls(
            id=r.pk,
            patient_id=r.patient_id,
            type=TypeView.of(r.type),
            requester_label=str(Requester(r.requester).label),
            requester_name=r.requester_name or "",
            received_on=r.received_on,
            recorded_by=PersonRef.of(r.recorded_by),
            status=r.status,
            status_label=str(CertificateRequest.Status(r.status).label),
            refusal_label=str(RefusalReason(r.refusal_reason).label) if r.refusal_reason else "",
            number=r.number,
            digest=r.digest,
            decided_by=PersonRef.of(r.decided_by),
            decided_at=r.decided_at,
            compartment=r.compartment,
            opens_pdf=opens_pdf,
            _instance=r if for_change else None,
        )

    @property
    def is_pending(self) -> bool:
        return self.status == CertificateRequest.Status.PENDING

    @property
    def is_issued(self) -> bool:
        return self.status == CertificateRequest.Status.ISSUED

    def instance(self) -> CertificateRequest:
        assert self._instance is not None  # noqa: S101 - opened for_change
        return self._instance


@dataclass(frozen=True)
class PatientCertificates:
    patient: PatientView
    requests: tuple[RequestView, ...]
    types: tuple[TypeView, ...]
    _patient: Patient

    def patient_instance(self) -> Patient:
        return self._patient


def _requests() -> Any:
    return CertificateRequest.objects.select_related(
        "type", "identity_key", "recorded_by", "decided_by"
    )


def access_patient_certificates(
    *, viewer: Viewer, patient_id: uuid.UUID, purpose: str
) -> PatientCertificates:
    """The patient's requests and their outcomes (no content: the PDF is behind its dossier),
    and the types a request may name."""
    user = _user(viewer)
    target = Target(Action.CERTIFICATE_VIEW, patient_id=patient_id)
    allowed = (
        permissions.can_add_requests(user)
        if purpose == Purpose.WRITE
        else permissions.can_view_requests(user)
    )
    patient = (
        Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
        if allowed
        else None
    )
    if patient is None:
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(viewer, target, purpose=purpose)
        reached = reachable_compartments(user, [patient_id])
        rows = _requests().filter(patient_id=patient_id).order_by("-received_on", "-recorded_at")
        return PatientCertificates(
            patient=PatientView.of(patient),
            requests=tuple(
                RequestView.of(r, opens_pdf=(patient_id, r.compartment) in reached) for r in rows
            ),
            types=tuple(TypeView.of(t) for t in CertificateType.objects.filter(active=True)),
            _patient=patient,
        )


@dataclass(frozen=True)
class PendingLine:
    """A request waiting for a decision, on its signer's home page."""

    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    type_name: str
    requester_label: str
    received_on: datetime.date


PENDING_ON_HOME = 30


def access_pending_requests(*, viewer: Viewer) -> tuple[PendingLine, ...]:
    """For a signer's home page: the requests waiting for a decision that one of their
    roles may sign, oldest first (at most PENDING_ON_HOME). One list event when there is
    any; nothing for anyone who signs nothing."""
    user = _user(viewer)
    roles = permissions.signing_roles(user)
    if not (roles and permissions.can_view_requests(user)):
        return ()
    with transaction.atomic():
        rows = (
            CertificateRequest.objects.filter(
                status=CertificateRequest.Status.PENDING, type__signers__overlap=roles
            )
            .select_related("type", "patient__identity_key")
            .order_by("received_on", "recorded_at")[:PENDING_ON_HOME]
        )
        lines = [
            PendingLine(
                id=r.pk,
                patient_id=r.patient_id,
                patient_name=PatientView.of(r.patient).display_name,
                type_name=r.type.name,
                requester_label=str(Requester(r.requester).label),
                received_on=r.received_on,
            )
            for r in rows
        ]
        if lines:
            record.allowed(
                viewer,
                Target(Action.LIST_VIEW, object_type="certificates", object_id="home"),
                purpose=Purpose.DISPLAY,
            )
    return tuple(lines)


@dataclass(frozen=True)
class SigningView:
    patient: PatientView
    request: RequestView
    # The compartment the viewer signs this type in, or "" when they may not sign it.
    compartment: str
    consent_missing: str | None


def access_certificate_request(
    *, viewer: Viewer, patient_id: uuid.UUID, request_id: uuid.UUID, purpose: str
) -> SigningView:
    """One request, opened by a signer to decide it."""
    user = _user(viewer)
    target = Target(
        Action.CERTIFICATE_VIEW,
        patient_id=patient_id,
        object_type="certificate_request",
        object_id=str(request_id),
    )
    found = None
    if permissions.can_sign(user) and permissions.can_view_requests(user):
        found = (
            _requests()
            .select_related("patient__identity_key")
            .filter(pk=request_id, patient_id=patient_id)
            .first()
        )
    if found is None:
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(viewer, target, purpose=purpose)
        reached = reachable_compartments(user, [patient_id])
        return SigningView(
            patient=PatientView.of(found.patient),
            request=RequestView.of(
                found, opens_pdf=(patient_id, found.compartment) in reached, for_change=True
            ),
            compartment=permissions.signing_compartment(user, found.type) or "",
            consent_missing=missing_consent(found.type, patient_id),
        )


def access_certificate_pdf(
    *, viewer: Viewer, patient_id: uuid.UUID, request_id: uuid.UUID
) -> tuple[str, DocumentContent]:
    """The issued PDF (a reprint is the same file, same number and digest), read through the
    dossier's document door: only those who reach the signer's compartment."""
    target = Target(
        Action.DOCUMENT_DOWNLOAD,
        patient_id=patient_id,
        object_type="certificate_request",
        object_id=str(request_id),
    )
    found = (
        CertificateRequest.objects.filter(
            pk=request_id, patient_id=patient_id, status=CertificateRequest.Status.ISSUED
        )
        .values_list("year", "sequence", "compartment", "document_id")
        .first()
    )
    if found is None:
        record.refuse(viewer, target, purpose=Purpose.EXPORT)
    year, sequence, compartment, document_id = found
    content = access_document(
        viewer=viewer, patient_id=patient_id, compartment=compartment, document_id=document_id
    )
    return f"{year}-{sequence:05d}", content


@dataclass(frozen=True)
class RegisterLine:
    received_on: datetime.date
    patient_ref: str
    type_name: str
    recipient_label: str
    requester_label: str
    status_label: str
    refusal_label: str
    number: str
    digest: str
    decided_on: datetime.date | None


@dataclass(frozen=True)
class RegisterView:
    first_day: datetime.date
    last_day: datetime.date
    lines: tuple[RegisterLine, ...]
    # (type, issued, refused, pending), one per type named in the period.
    by_type: tuple[tuple[str, int, int, int], ...]
    by_reason: tuple[tuple[str, int], ...]
    patients: int


def patient_ref(patient_id: uuid.UUID) -> str:
    """A patient's reference in the register: the start of their id, never a name."""
    return str(patient_id)[:8]


def access_register(
    *, viewer: Viewer, first_day: datetime.date, last_day: datetime.date
) -> RegisterView:
    """The register of a period for the coordinator: ids and counts, no names, no content."""
    target = Target(Action.CERTIFICATE_REGISTER, object_type="register")
    if not permissions.can_view_register(_user(viewer)):
        record.refuse(viewer, target, purpose=Purpose.PRINT, hide=False)
    with transaction.atomic():
        record.allowed(
            viewer,
            Target(
                Action.CERTIFICATE_REGISTER,
                object_type="register",
                object_id=f"{first_day.isoformat()}/{last_day.isoformat()}",
            ),
            purpose=Purpose.PRINT,
        )
        rows = list(
            CertificateRequest.objects.filter(received_on__gte=first_day, received_on__lte=last_day)
            .select_related("type")
            .only(
                "patient_id",
                "received_on",
                "requester",
                "status",
                "refusal_reason",
                "year",
                "sequence",
                "digest",
                "decided_at",
                "type__name",
                "type__recipient",
            )
            .order_by("received_on", "year", "sequence", "recorded_at")
        )
    tally: dict[str, Tally[str]] = {}
    reasons: Tally[str] = Tally()
    lines = []
    for r in rows:
        tally.setdefault(r.type.name, Tally())[r.status] += 1
        if r.refusal_reason:
            reasons[str(RefusalReason(r.refusal_reason).label)] += 1
        lines.append(
            RegisterLine(
                received_on=r.received_on,
                patient_ref=patient_ref(r.patient_id),
                type_name=r.type.name,
                recipient_label=str(Recipient(r.type.recipient).label),
                requester_label=str(Requester(r.requester).label),
                status_label=str(CertificateRequest.Status(r.status).label),
                refusal_label=str(RefusalReason(r.refusal_reason).label)
                if r.refusal_reason
                else "",
                number=r.number,
                digest=r.digest,
                decided_on=r.decided_at.date() if r.decided_at else None,
            )
        )
    return RegisterView(
        first_day=first_day,
        last_day=last_day,
        lines=tuple(lines),
        by_type=tuple(
            (name, t["issued"], t["refused"], t["pending"]) for name, t in sorted(tally.items())
        ),
        by_reason=tuple(sorted(reasons.items())),
        patients=len({r.patient_id for r in rows}),
    )


def access_types() -> tuple[TypeView, ...]:
    """Every type, for the coordinator's page: reference data (no patient), so no event;
    the page rule ``certificate_types`` is its gate."""
    return tuple(TypeView.of(t) for t in CertificateType.objects.order_by("-active", "name"))
