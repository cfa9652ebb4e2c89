"""The unit's activity report: what was held, what was not and why, who it is attributed to,
what the prison reported about its movements, and how long care requests waited.

Aggregates only: no patient, practitioner or motive appears, so the coordinator (who has no
patient access) may read it. A fixed number of queries whatever the period."""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass

from django.db.models import Count, Q

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


def activity_report(first_day: datetime.date, last_day: datetime.date) -> ActivityReport:
    """The report of appointments starting and care requests received from FIRST_DAY to
    LAST_DAY included (local days). Five queries."""
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
        to_consultation=_delays(
            [
                (seen.astimezone(tz).date() - received).days
                for received, _b, seen, _s in requests
                if seen
            ]
        ),
    )
