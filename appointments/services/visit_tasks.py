"""Mandatory visits derived from the patient's custody facts: an entry visit after an
arrival, a pre-release visit in the month before a known release date (code pénitentiaire
L.322-7); none once the patient has left."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from dossiers.models import Patient
from usmp.core.audit import acting_as

from .. import clock
from ..models import VisitTask

if TYPE_CHECKING:
    from usmp.accounts.models import User

# The entry visit is due "as soon as possible" after an arrival; the unit's protocol says
# within two days. Arrivals registered more than 30 days late are taken as already seen.
ENTRY_VISIT_DAYS = 2
ENTRY_VISIT_LOOKBACK_DAYS = 30


def _pending(patient: Patient, kind: str) -> VisitTask | None:
    return VisitTask.objects.filter(
        patient=patient, kind=kind, status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED]
    ).first()


def _cancel_tasks(tasks: Iterable[VisitTask], now: datetime.datetime) -> None:
    for task in tasks:
        task.status, task.closed_at = VisitTask.Status.CANCELLED, now
        task.save(update_fields=["status", "closed_at"])


def _task_sync(
    patient: Patient,
    kind: str,
    due_from: datetime.date,
    due_by: datetime.date,
    *,
    move_booked: bool,
    done_since: dict[str, datetime.date],
) -> None:
    """Keep the pending visit of KIND due from DUE_FROM to DUE_BY: move the pending one's
    window (a booked one's only if MOVE_BOOKED), or create one unless a visit of KIND
    matching DONE_SINCE was done already."""
    task = _pending(patient, kind)
    if task is not None:
        movable = move_booked or task.status == VisitTask.Status.OPEN
        if movable and (task.due_from, task.due_by) != (due_from, due_by):
            task.due_from, task.due_by = due_from, due_by
            task.save(update_fields=["due_from", "due_by"])
        return
    done = VisitTask.objects.filter(
        patient=patient, kind=kind, status=VisitTask.Status.DONE, **done_since
    ).exists()
    if not done:
        VisitTask.objects.create(patient=patient, kind=kind, due_from=due_from, due_by=due_by)


@transaction.atomic
def visit_tasks_sync(
    *, acting_user: User | None, patient: Patient, created: bool = False, arrived: bool = False
) -> None:
    """Derive the mandatory visits from the patient's custody facts: an entry visit after a
    new arrival, a pre-release visit in the month before a known release date; none once the
    patient has left. ARRIVED (a readmission, or a changed arrival date) opens an entry visit
    unless one is pending (an open one follows the new date) or was done since that date."""
    now = timezone.now()
    today = clock.today()
    pending = VisitTask.objects.filter(
        patient=patient, status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED]
    )
    with acting_as(acting_user):
        if patient.custody_status != Patient.CustodyStatus.PRESENT:
            _cancel_tasks(pending, now)
            return
        if (created or arrived) and patient.arrival_date >= today - datetime.timedelta(
            days=ENTRY_VISIT_LOOKBACK_DAYS
        ):
            _task_sync(
                patient,
                VisitTask.Kind.ENTRY,
                patient.arrival_date,
                patient.arrival_date + datetime.timedelta(days=ENTRY_VISIT_DAYS),
                # A booked entry visit keeps its window: it is being taken care of.
                move_booked=False,
                done_since={"due_from__gte": patient.arrival_date},
            )
        release = patient.expected_release_date
        if release is None or release < today:
            _cancel_tasks(pending.filter(kind=VisitTask.Kind.PRE_RELEASE), now)
            return
        due_from = clock.minus_one_month(release)
        _task_sync(
            patient,
            VisitTask.Kind.PRE_RELEASE,
            due_from,
            release,
            move_booked=True,
            done_since={"due_by__gte": due_from},
        )


# The information and prevention visit of a working detainee (code pénitentiaire L.412-47,
# decree of 8 July 2024): opened when the prison reports that the patient works, due within
# this many days (the unit's rule: to be set by its medical lead).
PREVENTION_VISIT_DAYS = 30


@transaction.atomic
def prevention_visit_open(*, acting_user: User | None, patient: Patient) -> VisitTask:
    """Open the prevention visit of a working detainee (one pending at a time)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if patient.custody_status != Patient.CustodyStatus.PRESENT:
        raise ValidationError(_("The patient is no longer in custody."), code="not_present")
    if _pending(patient, VisitTask.Kind.PREVENTION) is not None:
        raise ValidationError(
            _("A prevention visit is already waiting for this patient."), code="pending"
        )
    today = clock.today()
    task = VisitTask(
        patient=patient,
        kind=VisitTask.Kind.PREVENTION,
        due_from=today,
        due_by=today + datetime.timedelta(days=PREVENTION_VISIT_DAYS),
    )
    with acting_as(acting_user):
        task.save(force_insert=True)
    return task
