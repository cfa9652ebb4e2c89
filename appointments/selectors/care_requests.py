"""Reads of the care requests: the waiting queue, its delays, a patient's requests."""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Value, When

from dossiers.models import Patient

from .. import clock
from ..models import PRIORITY_ORDER, CareRequest


@dataclass(frozen=True)
class QueueStats:
    waiting: int
    median_days_to_booking: float | None
    median_days_to_consultation: float | None


def care_request_queue() -> list[CareRequest]:
    """Waiting requests, most urgent first, then oldest first."""
    priority = Case(
        *[When(priority=p, then=Value(rank)) for p, rank in PRIORITY_ORDER.items()],
        output_field=IntegerField(),
    )
    return list(
        CareRequest.objects.filter(status=CareRequest.Status.WAITING)
        .select_related("patient__identity_key", "specialty", "data_key", "recorded_by")
        .annotate(rank=priority)
        .order_by("rank", "received_on", "recorded_at")
    )


def care_request_stats(*, since: datetime.date) -> QueueStats:
    """Median delays from receipt to booking and to consultation (activity reports)."""
    waiting = CareRequest.objects.filter(status=CareRequest.Status.WAITING).count()
    rows = list(
        CareRequest.objects.filter(
            received_on__gte=since, first_booked_at__isnull=False
        ).values_list("received_on", "first_booked_at", "consulted_at")
    )
    booked = [(clock.local(b).date() - r).days for r, b, _c in rows if b is not None]
    consulted = [(clock.local(c).date() - r).days for r, _b, c in rows if c is not None]
    return QueueStats(
        waiting=waiting,
        median_days_to_booking=statistics.median(booked) if booked else None,
        median_days_to_consultation=statistics.median(consulted) if consulted else None,
    )


def patient_care_requests(*, patient: Patient) -> list[CareRequest]:
    return list(
        CareRequest.objects.filter(patient=patient)
        .select_related("specialty", "data_key")
        .order_by("-received_on")[:50]
    )


def patient_waiting_requests(*, patient_id: Any) -> list[CareRequest]:
    """The patient's care requests still waiting to be booked, oldest first."""
    return list(
        CareRequest.objects.filter(patient_id=patient_id, status=CareRequest.Status.WAITING)
        .select_related("patient__identity_key", "specialty", "data_key")
        .order_by("received_on")[:50]
    )


LIKELY_DUPLICATE_DAYS = 14


def recent_care_requests(*, patient_id: Any, specialty_id: Any) -> list[CareRequest]:
    """The patient's requests for SPECIALTY received within LIKELY_DUPLICATE_DAYS (a slip
    filed twice, or copied twice from the letter box), newest first."""
    since = clock.today() - datetime.timedelta(days=LIKELY_DUPLICATE_DAYS)
    return list(
        CareRequest.objects.filter(
            patient_id=patient_id, specialty_id=specialty_id, received_on__gte=since
        )
        .select_related("patient__identity_key", "specialty", "data_key")
        .order_by("-received_on")[:10]
    )
