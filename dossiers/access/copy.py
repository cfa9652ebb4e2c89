"""The whole record, for a copy given to the patient (CSP L.1111-7): every version of every
entry of the compartments asked, the documents, the consents. One read per dossier copied,
recorded as such (``record_copy``)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from ..models import Compartment, Consent, Document, Entry
from .data import ConsentView, PatientView, PersonRef
from .dossier import _resolve, _target


@dataclass(frozen=True)
class CopiedVersion:
    text: str
    author: PersonRef
    created_at: datetime.datetime
    # Why this version corrected the one before it ("" for a first version).
    reason: str = ""


@dataclass(frozen=True)
class CopiedEntry:
    """An entry as it stands, with the versions it corrected (newest first)."""

    id: uuid.UUID
    kind: str
    kind_label: str
    occurred_at: datetime.datetime
    current: CopiedVersion
    earlier: tuple[CopiedVersion, ...]
    # For another clinician's addendum: the note it adds to (its clinical time and author).
    addendum_of: tuple[datetime.datetime, PersonRef] | None = None


@dataclass(frozen=True)
class CopiedDocument:
    id: uuid.UUID
    title: str
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime.datetime
    uploaded_by: PersonRef
    content: bytes | None


@dataclass(frozen=True)
class CopiedDossier:
    compartment: str
    entries: tuple[CopiedEntry, ...]
    documents: tuple[CopiedDocument, ...]

    @property
    def versions(self) -> int:
        return sum(1 + len(e.earlier) for e in self.entries)


@dataclass(frozen=True)
class RecordCopy:
    patient: PatientView
    dossiers: tuple[CopiedDossier, ...]
    consents: tuple[ConsentView, ...]
    produced_by: PersonRef


def _version(entry: Entry) -> CopiedVersion:
    reason = (entry.correction_reason or "") if entry.supersedes_id else ""
    return CopiedVersion(entry.text, PersonRef.of(entry.author), entry.created_at, reason)


def _note_of(entry: Entry, by_id: dict[Any, Entry]) -> tuple[datetime.datetime, PersonRef] | None:
    note = by_id.get(entry.addendum_to_id) if entry.addendum_to_id else None
    return (note.occurred_at, PersonRef.of(note.author)) if note is not None else None


def _chains(entries: list[Entry]) -> tuple[CopiedEntry, ...]:
    """Current versions in clinical order, each with the versions it replaced."""
    by_id = {e.pk: e for e in entries}
    replaced = {e.supersedes_id for e in entries if e.supersedes_id is not None}
    out = []
    for entry in entries:
        if entry.pk in replaced:
            continue
        earlier = []
        previous = by_id.get(entry.supersedes_id) if entry.supersedes_id else None
        while previous is not None:
            earlier.append(_version(previous))
            previous = by_id.get(previous.supersedes_id) if previous.supersedes_id else None
        out.append(
            CopiedEntry(
                id=entry.pk,
                kind=entry.kind,
                kind_label=entry.get_kind_display(),
                occurred_at=entry.occurred_at,
                current=_version(entry),
                earlier=tuple(earlier),
                addendum_of=_note_of(entry, by_id),
            )
        )
    return tuple(out)


def access_record_copy(
    *,
    viewer: Viewer,
    patient_id: uuid.UUID,
    compartments: Sequence[str],
    with_documents: bool = True,
) -> RecordCopy:
    """The compartments asked, each only if the viewer reaches it as its team or through a
    grant (an emergency access does not copy a record): NotFound (recorded) otherwise."""
    if not compartments or any(c not in Compartment.values for c in compartments):
        record.refuse(
            viewer, Target(Action.RECORD_COPY, patient_id=patient_id), purpose=Purpose.EXPORT
        )
    accesses = []
    for compartment in dict.fromkeys(compartments):
        target = _target(Action.RECORD_COPY, patient_id, compartment)
        access = _resolve(
            viewer, patient_id, compartment, target, purpose=Purpose.EXPORT, for_change=False
        )
        if access.is_break_glass:
            record.refuse(viewer, target, purpose=Purpose.EXPORT)
        accesses.append(access)
    with transaction.atomic():
        copied = []
        for access in accesses:
            dossier = access.dossier
            record.allowed(
                viewer,
                Target(
                    Action.RECORD_COPY,
                    patient_id=dossier.patient_id,
                    compartment=dossier.compartment,
                    object_type="dossier",
                    object_id=str(dossier.pk),
                ),
                purpose=Purpose.EXPORT,
            )
            entries = list(
                Entry.objects.filter(dossier=dossier)
                .select_related("author")
                .order_by("occurred_at", "created_at")
            )
            for entry in entries:
                entry.data_key = dossier.data_key  # one unwrap for the dossier
            documents = Document.objects.filter(dossier=dossier).select_related("uploaded_by")
            if not with_documents:
                documents = documents.defer("content")
            docs = []
            for d in documents.order_by("uploaded_at"):
                d.data_key = dossier.data_key
                docs.append(
                    CopiedDocument(
                        id=d.pk,
                        title=d.title,
                        filename=d.filename,
                        content_type=d.content_type,
                        size=d.size,
                        uploaded_at=d.uploaded_at,
                        uploaded_by=PersonRef.of(d.uploaded_by),
                        content=bytes(d.content) if with_documents else None,
                    )
                )
            copied.append(CopiedDossier(dossier.compartment, _chains(entries), tuple(docs)))
        patient = accesses[0].dossier.patient
        consents = (
            Consent.objects.filter(patient=patient)
            .select_related("identity_key", "recorded_by", "withdrawn_by")
            .order_by("given_on", "recorded_at")
        )
        return RecordCopy(
            patient=PatientView.of(patient),
            dossiers=tuple(copied),
            consents=tuple(ConsentView.of(c) for c in consents),
            produced_by=PersonRef.of(viewer.user),
        )
