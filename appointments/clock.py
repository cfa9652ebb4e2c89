"""Local wall-clock times of the unit (Europe/Paris) and their daylight-saving traps.

A wall-clock time that does not exist (02:30 on the spring-forward day) or exists twice (02:30
on the fall-back day) is refused with a clear message instead of being silently shifted.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

UTC = datetime.UTC


def unit_tz() -> zoneinfo.ZoneInfo:
    tz = timezone.get_default_timezone()
    assert isinstance(tz, zoneinfo.ZoneInfo)  # noqa: S101 - settings.TIME_ZONE is a name
    return tz


def wall_clock(day: datetime.date, time: datetime.time) -> datetime.datetime:
    """DAY at TIME in the unit's time zone, as an aware datetime in UTC, or ValidationError
    for a skipped or repeated wall-clock time.

    UTC, because Python adds and subtracts datetimes that share a tzinfo in wall-clock time:
    01:30 + 1 hour would be 02:30 on the spring-forward night, a time that does not exist."""
    tz = unit_tz()
    naive = datetime.datetime.combine(day, time.replace(tzinfo=None))
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Skipped times round-trip to another wall-clock time; repeated ones do not.
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise ValidationError(
                _(
                    "%(time)s does not exist on %(day)s: clocks go forward one hour that "
                    "night. Choose another time."
                )
                % {"time": time.strftime("%H:%M"), "day": date_format(day, "d/m/Y")},
                code="nonexistent_time",
            )
        raise ValidationError(
            _(
                "%(time)s happens twice on %(day)s: clocks go back one hour that night. "
                "Choose another time."
            )
            % {"time": time.strftime("%H:%M"), "day": date_format(day, "d/m/Y")},
            code="ambiguous_time",
        )
    return first.astimezone(UTC)


def safe_wall_clock(day: datetime.date, time: datetime.time) -> datetime.datetime | None:
    """Like wall_clock, None when the time is skipped or repeated (free-slot generation)."""
    try:
        return wall_clock(day, time)
    except ValidationError:
        return None


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[local midnight, next local midnight) in UTC: 23 or 25 hours on daylight-saving days."""
    tz = unit_tz()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def week_monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value, unit_tz())


def today() -> datetime.date:
    return timezone.localdate()


def minus_one_month(day: datetime.date) -> datetime.date:
    """The same day one month earlier (the last day of that month if it is shorter)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
