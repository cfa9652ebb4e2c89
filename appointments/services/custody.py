"""Custody facts and what the agenda owes them, in one transaction: a registration or an
arrival opens the entry visit, a known release date the pre-release visit, a departure closes
them; a departure reported by the prison also cancels the later appointments. Called by the
patient forms and by the bridge's custody events: there is no signal behind a save."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from dossiers.models import Patient
from dossiers.services import patient_changes, patient_create, patient_update
from usmp.core.errors import nothing_changed

from .. import clock
from ..models import Appointment, Reason, Side, Status
from .changes import appointment_cancel
from .sentinels import UNCHANGED, Unchanged
from .visit_tasks import visit_tasks_sync

if TYPE_CHECKING:
    from usmp.accounts.models import User


# A change of either is an arrival: a readmission, or a corrected arrival date.
_ARRIVAL_FIELDS = frozenset({"arrival_date", "custody_status"})


@dataclass(frozen=True, slots=True)
class CustodyChange:
    cancelled: int = 0
    flagged: int = 0


@transaction.atomic
def patient_admit(*, acting_user: User | None, **identity: Any) -> Patient:
    """Register a patient (dossiers' patient_create, same arguments) and open the entry visit
    that a recent arrival calls for."""
    patient = patient_create(acting_user=acting_user, **identity)
    visit_tasks_sync(acting_user=acting_user, patient=patient, created=True)
    return patient


@transaction.atomic
def patient_edit(*, acting_user: User | None, patient: Patient, **fields: Any) -> CustodyChange:
    """The patient form's save: custody_change with the fields the form edits, refused with
    the code "unchanged" (nothing written) when every one of them is already recorded."""
    if not patient_changes(patient, **fields):
        raise nothing_changed()
    return custody_change(acting_user=acting_user, patient=patient, **fields)


@transaction.atomic
def custody_change(
    *,
    acting_user: User | None,
    patient: Patient,
    arrival_date: datetime.date | Unchanged = UNCHANGED,
    custody_status: str | Unchanged = UNCHANGED,
    expected_release_date: datetime.date | Unchanged | None = UNCHANGED,
    left_on: datetime.date | None = None,
    **identity: Any,
) -> CustodyChange:
    """Change the patient's custody facts through dossiers' patient_update, with the identity
    fields the patient form edits alongside (one write, one audit row), then keep the
    mandatory visits in step if anything changed. With LEFT_ON (a release or transfer the
    prison reports, dated today or earlier), the planned appointments after that day are
    cancelled (released or transferred, the prison's side) and those of that day counted as
    flagged: the unit decides."""
    facts = {
        "arrival_date": arrival_date,
        "custody_status": custody_status,
        "expected_release_date": expected_release_date,
    }
    changes = {**identity, **{k: v for k, v in facts.items() if v is not UNCHANGED}}
    changed = patient_changes(patient, **changes)
    patient_update(acting_user=acting_user, patient=patient, **changes)
    if changed:
        visit_tasks_sync(
            acting_user=acting_user, patient=patient, arrived=bool(_ARRIVAL_FIELDS & set(changed))
        )
    if left_on is None:
        return CustodyChange()
    day_start, day_end = clock.day_bounds(left_on)
    planned = Appointment.objects.filter(patient=patient, status=Status.PLANNED)
    cancelled = 0
    for appointment in planned.filter(start__gte=day_end).order_by("start"):
        appointment_cancel(
            acting_user=acting_user,
            appointment=appointment,
            reason=Reason.RELEASED,
            side=Side.PENITENTIARY,
        )
        cancelled += 1
    flagged = planned.filter(start__gte=day_start, start__lt=day_end).count()
    return CustodyChange(cancelled=cancelled, flagged=flagged)
