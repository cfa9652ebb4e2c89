"""The dossiers: a page of the timeline, an entry and its versions, a document, sharing."""

from __future__ import annotations

import datetime
import math
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from .. import permissions, selectors
from ..models import Compartment, Document, Dossier, Entry, EntryKind
from ..permissions import DossierAccess
from .data import (
    AddendumRef,
    ConsentView,
    DocumentContent,
    DocumentView,
    DossierView,
    EntryHistoryView,
    EntryView,
    PageInfo,
    PatientView,
    PersonRef,
    received_author,
)
from .patients import user_of


def _target(action: str, patient_id: uuid.UUID, compartment: str, **kw: Any) -> Target:
    return Target(
        action,
        patient_id=patient_id,
        compartment=compartment if compartment in Compartment.values else "",
        **kw,
    )


def _resolve(
    viewer: Viewer,
    patient_id: uuid.UUID,
    compartment: str,
    target: Target,
    *,
    purpose: str,
    for_change: bool,
) -> DossierAccess:
    """The viewer's access to the dossier, or the recorded refusal: NotFound when the
    viewer does not reach the dossier at all, Forbidden when they may read but not write."""
    dossier = None
    if compartment in Compartment.values:
        dossier = (
            Dossier.objects.select_related("patient__identity_key", "data_key")
            .filter(patient_id=patient_id, compartment=compartment)
            .first()
        )
    access = permissions.dossier_access_for(user_of(viewer), dossier) if dossier else None
    if access is None:
        record.refuse(viewer, target, purpose=purpose)
    if for_change and (not access.can_write or access.dossier.patient.merged_into_id):
        # A merged registration's dossiers are kept as they were: write in the survivor's.
        record.refuse(viewer, target, purpose=purpose, hide=False)
    return access


def _entry(entry: Entry, *, has_versions: bool | None = None) -> EntryView:
    note = entry.addendum_to if entry.addendum_to_id is not None else None
    return EntryView(
        id=entry.pk,
        kind=entry.kind,
        text=entry.text,
        author=received_author(entry, entry.author),
        created_at=entry.created_at,
        occurred_at=entry.occurred_at,
        break_glass=entry.break_glass,
        has_versions=entry.supersedes_id is not None if has_versions is None else has_versions,
        correction_reason=(entry.correction_reason or "") if entry.supersedes_id else "",
        addendum_of=(
            AddendumRef(note.pk, note.occurred_at, PersonRef.of(note.author))
            if note is not None
            else None
        ),
        received_from=entry.received_from,
    )


def _shell(viewer: Viewer, access: DossierAccess, *, for_change: bool, **kw: Any) -> DossierView:
    grant = access.break_glass
    return DossierView(
        patient=PatientView.of(access.dossier.patient),
        compartment=access.dossier.compartment,
        via=access.via,
        can_write=access.can_write,
        is_team=permissions.is_team_member(user_of(viewer), access.dossier.compartment),
        break_glass_until=grant.expires_at if grant is not None else None,
        _access=access if for_change else None,
        **kw,
    )


def access_dossier(
    *,
    viewer: Viewer,
    patient_id: uuid.UUID,
    compartment: str,
    purpose: str,
    for_change: bool = False,
    page: int = 1,
    kind: str = "",
    author_id: int | None = None,
) -> DossierView:
    """A page of the dossier's timeline (current versions, newest first, 50 a page) with
    its documents and the patient's current consents. For ``purpose=WRITE`` nothing is
    read: the view carries only the write capability, and the write history records it."""
    target = _target(Action.DOSSIER_VIEW, patient_id, compartment)
    access = _resolve(
        viewer, patient_id, compartment, target, purpose=purpose, for_change=for_change
    )
    dossier = access.dossier
    if purpose == Purpose.WRITE:
        return _shell(viewer, access, for_change=for_change)
    with transaction.atomic():
        record.allowed(
            viewer,
            Target(
                Action.DOSSIER_VIEW,
                patient_id=dossier.patient_id,
                compartment=dossier.compartment,
                object_type="dossier",
                object_id=str(dossier.pk),
                break_glass=access.is_break_glass,
            ),
            purpose=purpose,
        )
        timeline = selectors.dossier_timeline(dossier, kind=kind, author_id=author_id)
        count = timeline.count()
        size = selectors.TIMELINE_PAGE_SIZE
        pages = max(1, math.ceil(count / size))
        number = min(max(1, page), pages)
        entries = selectors.with_dossier_key(timeline[(number - 1) * size : number * size], dossier)
        summary = selectors.dossier_summary(dossier)
        allergies, allergies_count = summary[EntryKind.ALLERGY]
        treatments, treatments_count = summary[EntryKind.TREATMENT]
        return _shell(
            viewer,
            access,
            for_change=for_change,
            entries=tuple(_entry(e) for e in entries),
            page=PageInfo(number, pages, count),
            documents=tuple(
                DocumentView(
                    id=d.pk,
                    title=d.title,
                    content_type=d.content_type,
                    size=d.size,
                    uploaded_at=d.uploaded_at,
                    uploaded_by=received_author(d, d.uploaded_by),
                    received_from=d.received_from,
                )
                for d in selectors.dossier_documents(dossier)
            ),
            consents=tuple(
                ConsentView.of(c)
                for c in selectors.patient_consents(dossier.patient)
                if c.is_current
            ),
            authors=tuple(PersonRef.of(u) for u in selectors.dossier_authors(dossier)),
            allergies=tuple(_entry(e) for e in allergies),
            allergies_count=allergies_count,
            treatments=tuple(_entry(e) for e in treatments),
            treatments_count=treatments_count,
        )


@dataclass(frozen=True)
class EntryForChange:
    """An entry opened for its correction: the dossier's capability and the version."""

    dossier: DossierView
    entry: EntryView
    _instance: Entry

    def instance(self) -> Entry:
        return self._instance


def _entry_in(access: DossierAccess, entry_id: uuid.UUID) -> Entry | None:
    return (
        Entry.objects.select_related("author", "data_key", "addendum_to__author")
        .filter(pk=entry_id, dossier=access.dossier)
        .first()
    )


def access_entry_versions(
    *, viewer: Viewer, patient_id: uuid.UUID, compartment: str, entry_id: uuid.UUID
) -> EntryHistoryView:
    """Every version of one entry of the dossier, the current one first."""
    target = _target(
        Action.ENTRY_HISTORY, patient_id, compartment, object_type="entry", object_id=str(entry_id)
    )
    access = _resolve(
        viewer, patient_id, compartment, target, purpose=Purpose.DISPLAY, for_change=False
    )
    with transaction.atomic():
        entry = _entry_in(access, entry_id)
        if entry is not None:
            record.allowed(
                viewer,
                Target(
                    Action.ENTRY_HISTORY,
                    patient_id=patient_id,
                    compartment=compartment,
                    object_type="entry",
                    object_id=str(entry.pk),
                    break_glass=access.is_break_glass,
                ),
                purpose=Purpose.DISPLAY,
            )
            versions = tuple(_entry(v, has_versions=False) for v in selectors.entry_versions(entry))
            return EntryHistoryView(
                dossier=_shell(viewer, access, for_change=False), versions=versions
            )
    # Another dossier's entry id: refused like a dossier the viewer does not reach.
    record.refuse(viewer, target, purpose=Purpose.DISPLAY)


def access_entry(
    *,
    viewer: Viewer,
    patient_id: uuid.UUID,
    compartment: str,
    entry_id: uuid.UUID,
    purpose: str,
    author_only: bool = False,
) -> EntryForChange:
    """One version of an entry, opened for its correction (AUTHOR_ONLY: the viewer must be
    its author; others are refused, recorded, with a 403) or for an addendum (the viewer
    must write in the dossier)."""
    target = _target(
        Action.ENTRY_VIEW, patient_id, compartment, object_type="entry", object_id=str(entry_id)
    )
    access = _resolve(viewer, patient_id, compartment, target, purpose=purpose, for_change=True)
    with transaction.atomic():
        entry = _entry_in(access, entry_id)
        if (
            entry is not None
            and author_only
            and (
                viewer.user is None
                or entry.author_id != viewer.user.pk
                # A note received from another unit keeps its text: it is completed here
                # (an addendum), never corrected by whoever imported it.
                or bool(entry.received_from)
            )
        ):
            record.refuse(viewer, target, purpose=purpose, hide=False)
        if entry is not None:
            if purpose != Purpose.WRITE:
                record.allowed(
                    viewer,
                    Target(
                        Action.ENTRY_VIEW,
                        patient_id=patient_id,
                        compartment=compartment,
                        object_type="entry",
                        object_id=str(entry.pk),
                        break_glass=access.is_break_glass,
                    ),
                    purpose=purpose,
                )
            return EntryForChange(
                dossier=_shell(viewer, access, for_change=True),
                entry=_entry(entry),
                _instance=entry,
            )
    record.refuse(viewer, target, purpose=purpose)


def access_document(
    *, viewer: Viewer, patient_id: uuid.UUID, compartment: str, document_id: uuid.UUID
) -> DocumentContent:
    """A document's content, for its download."""
    target = _target(
        Action.DOCUMENT_DOWNLOAD,
        patient_id,
        compartment,
        object_type="document",
        object_id=str(document_id),
    )
    access = _resolve(
        viewer, patient_id, compartment, target, purpose=Purpose.EXPORT, for_change=False
    )
    with transaction.atomic():
        document = (
            Document.objects.select_related("data_key")
            .filter(pk=document_id, dossier=access.dossier)
            .first()
        )
        if document is not None:
            record.allowed(
                viewer,
                Target(
                    Action.DOCUMENT_DOWNLOAD,
                    patient_id=patient_id,
                    compartment=compartment,
                    object_type="document",
                    object_id=str(document.pk),
                    break_glass=access.is_break_glass,
                ),
                purpose=Purpose.EXPORT,
            )
            return DocumentContent(
                id=document.pk, content_type=document.content_type, content=document.content
            )
    record.refuse(viewer, target, purpose=Purpose.EXPORT)


@dataclass(frozen=True)
class Grantee:
    key: str  # "user:<id>" or "group:<id>"
    name: str
    is_team: bool
    _instance: Any
    # The terms, for a grant given (not for a candidate).
    write: bool = False
    granted_by: str = ""
    granted_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.expires_at is not None and self.expires_at > timezone.now()

    @property
    def last_day(self) -> datetime.date | None:
        """The last day the grant is in force (it stops at the end of it)."""
        if self.expires_at is None:
            return None
        return timezone.localtime(self.expires_at - datetime.timedelta(microseconds=1)).date()


def _grantee(row: selectors.GrantRow) -> Grantee:
    who = row.grantee
    return Grantee(
        f"{'group' if row.is_team else 'user'}:{who.pk}",
        who.name if row.is_team else PersonRef.of(who).name,
        row.is_team,
        who,
        write=row.write,
        granted_by=PersonRef.of(row.granted_by).name if row.granted_by is not None else "",
        granted_at=row.granted_at,
        expires_at=row.expires_at,
    )


@dataclass(frozen=True)
class SharingView:
    """Who outside the care team reaches the dossier, and who could."""

    dossier: DossierView
    granted: tuple[Grantee, ...]
    candidates: tuple[Grantee, ...]

    def grantee(self, key: str) -> Any:
        """The user or group behind KEY, among the candidates and current grantees."""
        for g in (*self.granted, *self.candidates):
            if g.key == key:
                return g._instance
        return None


def access_sharing(
    *, viewer: Viewer, patient_id: uuid.UUID, compartment: str, purpose: str
) -> SharingView:
    """The dossier's grants, for its care team only (others: NotFound, recorded)."""
    target = _target(Action.DOSSIER_VIEW, patient_id, compartment, object_type="sharing")
    access = _resolve(viewer, patient_id, compartment, target, purpose=purpose, for_change=False)
    if not permissions.is_team_member(user_of(viewer), compartment):
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(
                viewer,
                Target(
                    Action.DOSSIER_VIEW,
                    patient_id=patient_id,
                    compartment=compartment,
                    object_type="sharing",
                    object_id=str(access.dossier.pk),
                ),
                purpose=purpose,
            )
        return SharingView(
            dossier=_shell(viewer, access, for_change=True),
            granted=tuple(_grantee(row) for row in selectors.dossier_grants(access.dossier)),
            candidates=tuple(
                Grantee(f"group:{g.pk}", g.name, True, g) for g in selectors.care_teams()
            )
            + tuple(
                Grantee(f"user:{u.pk}", PersonRef.of(u).name, False, u)
                for u in selectors.grant_candidates(compartment)
            ),
        )
