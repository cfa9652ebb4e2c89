"""The legal clock of a request (CSP L.1111-7): the copy is sent no sooner than 48 hours
after the request (the requester's time to reflect) and no later than 8 days, or 2 months
when the information asked is more than five years old."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.utils import timezone

from appointments.clock import unit_tz

REFLECTION = datetime.timedelta(hours=48)
DEADLINE = datetime.timedelta(days=8)
OLD_INFORMATION_MONTHS = 2
# Shown on the physicians' home page this long before the deadline.
DUE_SOON = datetime.timedelta(days=2)


def add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    """MOMENT plus MONTHS calendar months in the unit's time zone (31 January + 1 month is the
    last day of February), as an aware datetime."""
    local = moment.astimezone(unit_tz())
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    naive = local.replace(tzinfo=None, year=year, month=month, day=day)
    return naive.replace(tzinfo=unit_tz()).astimezone(datetime.UTC)


@dataclass(frozen=True)
class LegalClock:
    received_at: datetime.datetime
    not_before: datetime.datetime
    deadline: datetime.datetime

    @classmethod
    def of(cls, received_at: datetime.datetime, *, older_than_five_years: bool) -> LegalClock:
        deadline = (
            add_months(received_at, OLD_INFORMATION_MONTHS)
            if older_than_five_years
            else received_at + DEADLINE
        )
        return cls(received_at, received_at + REFLECTION, deadline)

    def may_send(self, at: datetime.datetime | None = None) -> bool:
        return (at or timezone.now()) >= self.not_before

    def overdue(self, at: datetime.datetime | None = None) -> bool:
        return (at or timezone.now()) > self.deadline

    def due_soon(self, at: datetime.datetime | None = None) -> bool:
        now = at or timezone.now()
        return not self.overdue(now) and self.deadline - now <= DUE_SOON
