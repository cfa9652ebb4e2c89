"""Patients' identities: one patient, searches, and likely duplicates."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer
from usmp.crypto.blind_index import blind_index

from .. import permissions, selectors
from ..identifiers import validate_prison_number
from ..keys import prison_numbers
from ..models import Compartment, Patient, PatientMerge
from ..selectors import PatientLookup
from .data import DossierLink, MergeView, PatientView, PersonRef


def user_of(viewer: Viewer) -> object:
    return viewer.user if viewer.user is not None else AnonymousUser()


def access_patient(
    *, viewer: Viewer, patient_id: uuid.UUID, purpose: str, for_change: bool = False
) -> PatientView:
    """One patient's identity and custody facts, or NotFound (recorded) whether the patient
    does not exist or the viewer may not see it: presence in the unit is confidential."""
    user = user_of(viewer)
    target = Target(Action.PATIENT_VIEW, patient_id=patient_id)
    allowed = (
        permissions.can_change_patients(user) if for_change else permissions.can_view_patients(user)
    )
    if allowed:
        with transaction.atomic():
            patient = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
            if patient is not None:
                if purpose != Purpose.WRITE:
                    record.allowed(viewer, target, purpose=purpose)
                view = PatientView.of(patient, for_change=for_change)
                if purpose == Purpose.DISPLAY:
                    view = dataclasses.replace(view, merges=_merges(patient))
                return view
    record.refuse(viewer, target, purpose=purpose)


def _merges(patient: Patient) -> tuple[MergeView, ...]:
    rows = PatientMerge.objects.filter(survivor=patient).select_related(
        "absorbed__identity_key", "identity_key", "merged_by"
    )
    return tuple(
        MergeView(
            absorbed_id=m.absorbed_id,
            absorbed_prison_number=m.absorbed.prison_number,
            merged_at=m.merged_at,
            merged_by=PersonRef.of(m.merged_by),
            reason=m.reason,
        )
        for m in rows.order_by("merged_at")
    )


def reachable_dossiers(*, viewer: Viewer, patient_id: uuid.UUID) -> tuple[DossierLink, ...]:
    """The dossiers of the patient the viewer may open (links only: every patient has both
    dossiers, so listing them reads nothing)."""
    user = user_of(viewer)
    links = []
    for dossier in selectors.patient_dossiers(patient_id):
        access = permissions.dossier_access_for(user, dossier)
        if access is not None:
            links.append(DossierLink(dossier.compartment, access.via, access.is_break_glass))
    return tuple(links)


def break_glass_offers(
    *, viewer: Viewer, reachable: tuple[DossierLink, ...]
) -> tuple[Compartment, ...]:
    """Compartments a clinician could open in an emergency (every patient has both dossiers:
    offering the emergency access reveals nothing)."""
    if not permissions.is_clinician(user_of(viewer)):
        return ()
    opened = {link.compartment for link in reachable}
    return tuple(c for c in Compartment if c not in opened)


def access_patient_search(*, viewer: Viewer, lookup: PatientLookup) -> tuple[PatientView, ...]:
    """Exact matches on a prison number or a name, recorded with the blind index looked up
    (never the term typed); LOOKUP comes from the form (``PatientQuery.lookup()``) or from
    the session when the results are shown again."""
    target = Target(Action.PATIENT_SEARCH, search_index=lookup.index)
    if not permissions.can_view_patients(user_of(viewer)):
        record.refuse(viewer, target, purpose=Purpose.SEARCH, hide=False)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.SEARCH)
        return tuple(PatientView.of(p) for p in selectors.patient_lookup(lookup))


def access_likely_duplicates(
    *,
    viewer: Viewer,
    last_name: str,
    first_name: str,
    birth_date: datetime.date,
    exclude_id: uuid.UUID | None = None,
) -> tuple[PatientView, ...]:
    """Patients with the same last name and birth date, shown before a second registration
    of one person (a search, recorded as one)."""
    user = user_of(viewer)
    target = Target(
        Action.PATIENT_SEARCH,
        search_index=blind_index("patient.last_birth", last_name, birth_date.isoformat()),
    )
    if not (permissions.can_add_patients(user) or permissions.can_change_patients(user)):
        record.refuse(viewer, target, purpose=Purpose.CHECK, hide=False)
    with transaction.atomic():
        found = selectors.patient_likely_duplicates(
            last_name=last_name, first_name=first_name, birth_date=birth_date, exclude_id=exclude_id
        )
        record.allowed(viewer, target, purpose=Purpose.CHECK)
        return tuple(PatientView.of(p) for p in found)


def access_prison_numbers_off_format(*, viewer: Viewer) -> tuple[uuid.UUID, ...]:
    """The ids of the patients whose recorded prison number is not in the unit's format:
    a letter, which the first format allowed, or a length the unit has since changed. Every
    number is decrypted: one list read, recorded (a command's, VIEWER being the system)."""
    with transaction.atomic():
        record.allowed(
            viewer,
            Target(Action.LIST_VIEW, object_type="prison_number_format"),
            purpose=Purpose.CHECK,
        )
        numbers = prison_numbers(Patient.objects.values_list("pk", flat=True))
    off: list[uuid.UUID] = []
    for patient_id, number in sorted(numbers.items(), key=lambda item: str(item[0])):
        try:
            validate_prison_number(number)
        except ValidationError:
            off.append(patient_id)
    return tuple(off)


def access_merge_pair(
    *, viewer: Viewer, patient_id: uuid.UUID, other_prison_number: str
) -> tuple[PatientView, PatientView | None]:
    """The patient (the survivor) and the registration found by OTHER_PRISON_NUMBER (None if
    none), both opened for a merge: two identity reads."""
    survivor = access_patient(
        viewer=viewer, patient_id=patient_id, purpose=Purpose.CHANGE, for_change=True
    )
    other = selectors.patient_by_prison_number(other_prison_number)
    if other is None:
        return survivor, None
    return survivor, access_patient(
        viewer=viewer, patient_id=other.pk, purpose=Purpose.CHANGE, for_change=True
    )


def access_transfer_matches(
    *,
    viewer: Viewer,
    last_name: str,
    first_name: str,
    birth_date: datetime.date,
    ins: str | None,
) -> tuple[tuple[PatientView, bool], ...]:
    """The patients a received transfer package may be about: the same INS (strong, flagged
    True), then the same last name and birth date. Prison numbers differ between
    establishments, so they are never compared. A search, recorded as one per index."""
    user = user_of(viewer)
    index = blind_index("patient.last_birth", last_name, birth_date.isoformat())
    if not permissions.can_view_patients(user):
        record.refuse(
            viewer,
            Target(Action.PATIENT_SEARCH, search_index=index),
            purpose=Purpose.SEARCH,
            hide=False,
        )
    with transaction.atomic():
        found: list[tuple[PatientView, bool]] = []
        if ins:
            ins_index = blind_index("patient.ins", ins)
            record.allowed(
                viewer,
                Target(Action.PATIENT_SEARCH, search_index=ins_index),
                purpose=Purpose.SEARCH,
            )
            found = [
                (PatientView.of(p), True)
                for p in Patient.objects.select_related("identity_key").filter(ins_bidx=ins_index)
            ]
        record.allowed(
            viewer, Target(Action.PATIENT_SEARCH, search_index=index), purpose=Purpose.SEARCH
        )
        seen = {view.id for view, _ in found}
        for p in selectors.patient_likely_duplicates(
            last_name=last_name, first_name=first_name, birth_date=birth_date
        ):
            if p.pk not in seen:
                found.append((PatientView.of(p), False))
        return tuple(found)
