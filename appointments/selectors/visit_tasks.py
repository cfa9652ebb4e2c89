"""Reads of the mandatory visits (entry and pre-release) still to book or hold."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from dossiers.models import Patient

from .. import clock
from ..models import VisitTask


@dataclass(frozen=True)
class TaskRow:
    task: VisitTask
    overdue: bool


def visit_tasks_pending(*, horizon_days: int = 7) -> list[TaskRow]:
    """Mandatory visits to book or hold: those due within HORIZON_DAYS, overdue first."""
    today = clock.today()
    tasks = (
        VisitTask.objects.filter(
            status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED],
            due_from__lte=today + datetime.timedelta(days=horizon_days),
            patient__custody_status=Patient.CustodyStatus.PRESENT,
        )
        .select_related("patient__identity_key", "appointment")
        .order_by("due_by")
    )
    rows = [
        TaskRow(
            task=t,
            overdue=t.due_by < today
            or (
                t.status == VisitTask.Status.BOOKED
                and t.appointment is not None
                and clock.local(t.appointment.start).date() > t.due_by
            ),
        )
        for t in tasks
    ]
    rows.sort(key=lambda r: (not r.overdue, r.task.due_by))
    return rows


def patient_open_visits(*, patient_id: Any) -> list[TaskRow]:
    """The patient's mandatory visits still to book or to hold, soonest due first."""
    today = clock.today()
    tasks = (
        VisitTask.objects.filter(
            patient_id=patient_id, status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED]
        )
        .select_related("patient__identity_key", "appointment")
        .order_by("due_by")
    )
    return [TaskRow(task=t, overdue=t.due_by < today) for t in tasks]
