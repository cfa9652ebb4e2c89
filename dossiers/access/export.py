"""A whole dossier for a transfer package (``transfers``): every version of every entry,
every document with its bytes, the patient's consents. One read, recorded as an export."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db import transaction

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from ..models import Compartment, Consent, Document, Dossier, Entry
from ..permissions import dossier_access_for
from .data import PatientView, received_author
from .patients import user_of


@dataclass(frozen=True)
class EntryRecord:
    id: uuid.UUID
    kind: str
    text: str
    author: str
    created_at: datetime.datetime
    occurred_at: datetime.datetime
    supersedes_id: uuid.UUID | None
    # Why this version corrects the one before ("" for a first version), and the note an
    # addendum adds to: both travel with the record.
    correction_reason: str = ""
    addendum_to_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DocumentRecord:
    id: uuid.UUID
    title: str
    filename: str
    content_type: str
    content: bytes
    author: str
    uploaded_at: datetime.datetime


@dataclass(frozen=True)
class ConsentRecord:
    id: uuid.UUID
    kind: str
    decision: str
    recipient: str | None
    scope: str | None
    given_on: datetime.date
    withdrawn_on: datetime.date | None
    author: str
    recorded_at: datetime.datetime


@dataclass(frozen=True)
class DossierExport:
    patient: PatientView
    compartment: str
    entries: tuple[EntryRecord, ...]
    documents: tuple[DocumentRecord, ...]
    consents: tuple[ConsentRecord, ...]


TRANSFER_CONSENT = {
    Compartment.SOMATIC: Consent.Kind.TRANSFER_SOMATIC,
    Compartment.PSYCHIATRIC: Consent.Kind.TRANSFER_PSYCHIATRIC,
}


def transfer_opposed(consents: tuple[ConsentRecord, ...], compartment: str) -> bool:
    """Whether a current opposition of the patient keeps COMPARTMENT out of a transfer."""
    kind = TRANSFER_CONSENT[Compartment(compartment)]
    return any(
        c.kind == kind and c.decision == Consent.Decision.OPPOSITION and c.withdrawn_on is None
        for c in consents
    )


def access_dossier_export(
    *, viewer: Viewer, patient_id: uuid.UUID, compartment: str
) -> DossierExport:
    """The whole dossier of COMPARTMENT for its team (never a grant or an emergency
    access: a transfer is the team's act), oldest first."""
    target = Target(
        Action.DOSSIER_VIEW,
        patient_id=patient_id,
        compartment=compartment if compartment in Compartment.values else "",
        object_type="transfer_package",
    )
    dossier = None
    if compartment in Compartment.values:
        dossier = (
            Dossier.objects.select_related("patient__identity_key", "data_key")
            .filter(patient_id=patient_id, compartment=compartment)
            .first()
        )
    access = dossier_access_for(user_of(viewer), dossier) if dossier is not None else None
    if access is None or access.via != "team":
        record.refuse(viewer, target, purpose=Purpose.EXPORT)
    dossier = access.dossier
    with transaction.atomic():
        record.allowed(
            viewer,
            Target(
                Action.DOSSIER_VIEW,
                patient_id=patient_id,
                compartment=compartment,
                object_type="transfer_package",
                object_id=str(dossier.pk),
            ),
            purpose=Purpose.EXPORT,
        )
        entries = []
        for e in (
            Entry.objects.filter(dossier=dossier)
            .select_related("author")
            .order_by("created_at", "id")
        ):
            e.data_key = dossier.data_key
            entries.append(
                EntryRecord(
                    id=e.pk,
                    kind=e.kind,
                    text=e.text,
                    author=received_author(e, e.author).name,
                    created_at=e.created_at,
                    occurred_at=e.occurred_at,
                    supersedes_id=e.supersedes_id,
                    correction_reason=(e.correction_reason or "") if e.supersedes_id else "",
                    addendum_to_id=e.addendum_to_id,
                )
            )
        documents = []
        for d in (
            Document.objects.filter(dossier=dossier)
            .select_related("uploaded_by")
            .order_by("uploaded_at", "id")
        ):
            d.data_key = dossier.data_key
            documents.append(
                DocumentRecord(
                    id=d.pk,
                    title=d.title,
                    filename=d.filename,
                    content_type=d.content_type,
                    content=bytes(d.content),
                    author=received_author(d, d.uploaded_by).name,
                    uploaded_at=d.uploaded_at,
                )
            )
        patient = dossier.patient
        consents = []
        for c in (
            Consent.objects.filter(patient=patient)
            .select_related("recorded_by")
            .order_by("recorded_at", "id")
        ):
            c.identity_key = patient.identity_key
            consents.append(
                ConsentRecord(
                    id=c.pk,
                    kind=c.kind,
                    decision=c.decision,
                    recipient=c.recipient,
                    scope=c.scope,
                    given_on=c.given_on,
                    withdrawn_on=c.withdrawn_on,
                    author=received_author(c, c.recorded_by).name,
                    recorded_at=c.recorded_at,
                )
            )
        return DossierExport(
            patient=PatientView.of(patient),
            compartment=compartment,
            entries=tuple(entries),
            documents=tuple(documents),
            consents=tuple(consents),
        )
