"""The unit's activity report: what was held, what was not and why, who it is attributed to,
what the prison reported about its movements, and how long care requests waited.

Aggregates only: no patient, practitioner or motive appears, so the coordinator (who has no
patient access) may read it. A fixed number of queries whatever the period. The charts
(``charts.py``) are drawn from these same numbers."""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from . import clock
from .models import (
    Appointment,
    CareRequest,
    MovementOutcome,
    Reason,
    Side,
    Specialty,
    Status,
)

MAX_DAYS = 366


@dataclass(frozen=True)
class SpecialtyRow:
    name: str
    planned: int
    done: int
    not_done: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.planned + self.done + self.not_done + self.cancelled


@dataclass(frozen=True)
class ReasonRow:
    side: str
    reason: str
    count: int

    @property
    def side_label(self) -> str:
        return str(Side(self.side).label) if self.side in Side.values else self.side

    @property
    def reason_label(self) -> str:
        return str(Reason(self.reason).label) if self.reason in Reason.values else self.reason


@dataclass(frozen=True)
class Delays:
    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class ActivityReport:
    first_day: datetime.date
    last_day: datetime.date
    specialties: list[SpecialtyRow]
    totals: SpecialtyRow
    not_held: list[ReasonRow]
    lost_by_side: dict[str, int]
    movement_outcomes: list[tuple[str, int]]
    requests_received: int
    requests_waiting: int
    to_booking: Delays
    to_consultation: Delays
    # Appointments by month (first day of the month) and status, every month of the period.
    by_month: list[tuple[datetime.date, dict[str, int]]]
    # Days from receipt to consultation, counted in bands.
    consultation_delay_buckets: list[tuple[str, int]]

    @property
    def lost_to_penitentiary(self) -> int:
        return self.lost_by_side.get(Side.PENITENTIARY, 0)

    @property
    def lost_to_penitentiary_percent(self) -> float | None:
        scheduled = self.totals.done + self.totals.not_done + self.totals.cancelled
        if not scheduled:
            return None
        return 100 * self.lost_by_side.get(Side.PENITENTIARY, 0) / scheduled


def _delays(days: list[int]) -> Delays:
    if not days:
        return Delays(count=0, median=None, p90=None)
    ordered = sorted(days)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return Delays(count=len(days), median=statistics.median(ordered), p90=p90)


# Bands of days from a request's receipt to its consultation: (upper bound, label).
DELAY_BANDS: tuple[tuple[int | None, str], ...] = (
    (2, "0\u20132"),
    (7, "3\u20137"),
    (14, "8\u201314"),
    (30, "15\u201330"),
    (60, "31\u201360"),
    (None, "> 60"),
)


def delay_buckets(days: list[int]) -> list[tuple[str, int]]:
    counts = [0] * len(DELAY_BANDS)
    for value in days:
        for n, (bound, _label) in enumerate(DELAY_BANDS):
            if bound is None or value <= bound:
                counts[n] += 1
                break
    return [
        (_("%(band)s days") % {"band": label}, count)
        for (_bound, label), count in zip(DELAY_BANDS, counts, strict=True)
    ]


def _months(first_day: datetime.date, last_day: datetime.date) -> list[datetime.date]:
    month, months = first_day.replace(day=1), []
    while month <= last_day:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def activity_report(first_day: datetime.date, last_day: datetime.date) -> ActivityReport:
    """The report of appointments starting and care requests received from FIRST_DAY to
    LAST_DAY included (local days). Six queries."""
    start, end = clock.day_bounds(first_day)[0], clock.day_bounds(last_day)[1]
    appointments = Appointment.objects.filter(start__gte=start, start__lt=end)
    by_specialty = {
        row["specialty_id"]: row
        for row in appointments.values("specialty_id").annotate(
            planned=Count("pk", filter=Q(status=Status.PLANNED)),
            done=Count("pk", filter=Q(status=Status.DONE)),
            not_done=Count("pk", filter=Q(status=Status.NOT_DONE)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        )
    }
    names = dict(Specialty.objects.filter(pk__in=by_specialty).values_list("pk", "name"))
    rows = sorted(
        (
            SpecialtyRow(
                name=names[pk],
                planned=row["planned"],
                done=row["done"],
                not_done=row["not_done"],
                cancelled=row["cancelled"],
            )
            for pk, row in by_specialty.items()
        ),
        key=lambda r: r.name,
    )
    totals = SpecialtyRow(
        name="",
        planned=sum(r.planned for r in rows),
        done=sum(r.done for r in rows),
        not_done=sum(r.not_done for r in rows),
        cancelled=sum(r.cancelled for r in rows),
    )
    not_held = [
        ReasonRow(side=row["side"], reason=row["reason"], count=row["count"])
        for row in appointments.filter(status__in=(Status.NOT_DONE, Status.CANCELLED))
        .values("side", "reason")
        .annotate(count=Count("pk"))
        .order_by("side", "-count", "reason")
    ]
    lost_by_side: dict[str, int] = {}
    for row in not_held:
        lost_by_side[row.side] = lost_by_side.get(row.side, 0) + row.count
    outcomes = [
        (
            str(MovementOutcome.Code(row["code"]).label)
            if row["code"]
            else str(MovementOutcome.Outcome(row["outcome"]).label),
            row["count"],
        )
        for row in MovementOutcome.objects.filter(window_start__gte=start, window_start__lt=end)
        .values("outcome", "code")
        .annotate(count=Count("pk"))
        .order_by("outcome", "code")
    ]
    requests = list(
        CareRequest.objects.filter(
            received_on__gte=first_day, received_on__lte=last_day
        ).values_list("received_on", "first_booked_at", "consulted_at", "status")
    )
    tz = clock.unit_tz()
    monthly = {
        row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]: row
        for row in appointments.annotate(month=TruncMonth("start", tzinfo=tz))
        .values("month")
        .annotate(
            planned=Count("pk", filter=Q(status=Status.PLANNED)),
            done=Count("pk", filter=Q(status=Status.DONE)),
            not_done=Count("pk", filter=Q(status=Status.NOT_DONE)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        )
    }
    empty = {"done": 0, "not_done": 0, "cancelled": 0, "planned": 0}
    by_month: list[tuple[datetime.date, dict[str, int]]] = []
    for month in _months(first_day, last_day):
        found = monthly.get(month)
        counts = dict(empty)
        if found is not None:
            counts.update(
                done=found["done"],
                not_done=found["not_done"],
                cancelled=found["cancelled"],
                planned=found["planned"],
            )
        by_month.append((month, counts))
    consultation_days = [
        (seen.astimezone(tz).date() - received).days for received, _b, seen, _s in requests if seen
    ]
    return ActivityReport(
        first_day=first_day,
        last_day=last_day,
        specialties=rows,
        totals=totals,
        not_held=not_held,
        lost_by_side=lost_by_side,
        movement_outcomes=outcomes,
        requests_received=len(requests),
        requests_waiting=sum(1 for r in requests if r[3] == CareRequest.Status.WAITING),
        to_booking=_delays(
            [
                (booked.astimezone(tz).date() - received).days
                for received, booked, _c, _s in requests
                if booked
            ]
        ),
        to_consultation=_delays(consultation_days),
        by_month=by_month,
        consultation_delay_buckets=delay_buckets(consultation_days),
    )
