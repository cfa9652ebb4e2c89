"""Plausible dates, defined once for the whole product.

Each kind of date that staff or the prison's software type has a range of years; outside it
the date is a typing mistake (0001, 9999, 20266), refused with a message that says which
years are allowed, before it reaches a query, a conversion to UTC (one day after 9999-12-31
overflows) or a stored row. Forms hold a date to its range with ``PlausibleDateField``; the
bridge's bodies and query strings call ``YearRange.check`` or ``contains``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# What a date field takes as typed: ISO (the browser's date input) and the French forms.
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d-%m-%Y"]

IMPLAUSIBLE_YEAR = "implausible_year"


@dataclass(frozen=True, slots=True)
class YearRange:
    """The years one kind of date may take: from the year SINCE (or YEARS_BACK before this
    year) to YEARS_AHEAD after this year, in the unit's local calendar."""

    since: int | None = None
    years_back: int = 0
    years_ahead: int = 0

    def bounds(self, today: datetime.date | None = None) -> tuple[int, int]:
        this_year = (today or timezone.localdate()).year
        first = self.since if self.since is not None else this_year - self.years_back
        return first, this_year + self.years_ahead

    def contains(self, value: datetime.date) -> bool:
        first, last = self.bounds()
        return first <= value.year <= last

    def check(self, value: datetime.date) -> None:
        """Raise ValidationError (code IMPLAUSIBLE_YEAR) unless VALUE's year is in range."""
        if not self.contains(value):
            first, last = self.bounds()
            raise ValidationError(
                _("Enter a year between %(first)d and %(last)d."),
                code=IMPLAUSIBLE_YEAR,
                params={"first": first, "last": last},
            )


# A pre-release visit is planned from the expected release date: one further ahead is not
# known yet, and would open a visit task years away.
RELEASE_MAX_YEARS_AHEAD = 5
# The longest stays in custody; arrivals and releases are dated within them.
CUSTODY_YEARS_BACK = 60

# A date of birth: 1900 to this year (the patient forms also want 13 years of age).
BIRTH = YearRange(since=1900)
# An arrival in custody, not in the future.
ARRIVAL = YearRange(years_back=CUSTODY_YEARS_BACK)
# An expected release (at most RELEASE_MAX_YEARS_AHEAD ahead to the day: latest_release).
RELEASE = YearRange(years_back=CUSTODY_YEARS_BACK, years_ahead=RELEASE_MAX_YEARS_AHEAD)
# The agenda: days shown, booked, moved, reported on; absences, closures, opening hours, care
# requests received, the prison's custody events and unavailability windows.
AGENDA = YearRange(years_back=10, years_ahead=5)
# A patient's decision recorded by the unit (consent, opposition, withdrawal): health units in
# prisons exist since the law of 18 January 1994.
DECISION = YearRange(since=1994)
# The coordinator's audit filters: the trail cannot predate the software.
AUDIT = YearRange(since=2000, years_ahead=1)
# The bridge's ?since=: pollers send the Unix epoch to mean "everything".
BRIDGE_SINCE = YearRange(since=1970, years_ahead=1)


def latest_release(today: datetime.date | None = None) -> datetime.date:
    """The latest expected release date the unit records: RELEASE_MAX_YEARS_AHEAD years from
    TODAY (a 29 February gives the 28th)."""
    today = today or timezone.localdate()
    year = today.year + RELEASE_MAX_YEARS_AHEAD
    try:
        return today.replace(year=year)
    except ValueError:
        return today.replace(year=year, day=28)


def check_expected_release(value: datetime.date) -> None:
    """Raise ValidationError (code "release_too_far") for an expected release date beyond
    latest_release: the patient form and the service that writes it both call this."""
    latest = latest_release()
    if value > latest:
        raise ValidationError(
            _(
                "An expected release date is at most %(years)d years ahead (%(latest)s at the "
                "latest): record it when it is nearer."
            ),
            code="release_too_far",
            params={"years": RELEASE_MAX_YEARS_AHEAD, "latest": latest.strftime("%d/%m/%Y")},
        )


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class PlausibleDateField(forms.DateField):
    """A date typed in any of DATE_FORMATS, within the YEARS of its kind."""

    def __init__(self, *, years: YearRange, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", DATE_FORMATS)
        kwargs.setdefault("widget", DateInput())
        super().__init__(**kwargs)
        self.years = years

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value not in self.empty_values:
            self.years.check(value)
