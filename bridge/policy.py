"""The publication policy: what the prison side is told, as pure functions.

A movement is (prison number, window, movement point, status). The window runs from the
latest wave at or before the first consultation's start to the earliest wave at or after the
last consultation's end, so any appointment time inside the same waves gives the same window.

Day bounds: a consultation starting before the day's first wave gets a window starting at
local midnight of its day; one ending after the day's last wave gets a window ending at the
next local midnight. With no wave configured, every window is a whole local day. Windows that
only touch at midnight are not merged (a clamp is not a wave), so tonight's late
consultation never hides tomorrow morning's movement before the horizon's start. Waves are
local wall-clock times (Europe/Paris); on a daylight-saving night a wave at a skipped time is
taken at the offset before the change (waves in practice are in daytime, far from 02:00-03:00).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings

from appointments.movements import MovementFact

UTC = datetime.UTC
DEFAULT_WAVES = (
    datetime.time(8, 30),
    datetime.time(10, 0),
    datetime.time(11, 30),
    datetime.time(14, 0),
    datetime.time(15, 30),
    datetime.time(17, 0),
)
# Two waves closer than this make a window nearly as precise as the consultation itself.
MIN_WAVE_GAP = datetime.timedelta(minutes=30)
ID_DOMAIN = b"cloison/bridge/movement-id/v1"
ID_HEX_LENGTH = 32


class Status:
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Movement:
    id: str
    prison_number: str
    start: datetime.datetime
    end: datetime.datetime
    location: str
    status: str

    @property
    def sort_key(self) -> tuple[datetime.datetime, str, str, str]:
        return (self.start, self.prison_number, self.location, self.id)


def unit_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def horizon_hours() -> int:
    return int(getattr(settings, "USMP_BRIDGE_HORIZON_HOURS", 48))


def local_midnight(day: datetime.date, tz: ZoneInfo | None = None) -> datetime.datetime:
    tz = tz or unit_tz()
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=tz).astimezone(UTC)


def wave_instants(
    day: datetime.date, waves: Sequence[datetime.time]
) -> tuple[datetime.datetime, ...]:
    """The waves of DAY as aware UTC datetimes, in order."""
    return _wave_instants(day, tuple(waves), settings.TIME_ZONE)


@lru_cache(maxsize=256)
def _wave_instants(
    day: datetime.date, waves: tuple[datetime.time, ...], tz_name: str
) -> tuple[datetime.datetime, ...]:
    tz = ZoneInfo(tz_name)
    return tuple(
        sorted(
            datetime.datetime.combine(day, wave.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)
            for wave in waves
        )
    )


def window_start(instant: datetime.datetime, waves: Sequence[datetime.time]) -> datetime.datetime:
    """The latest wave at or before INSTANT on its local day, else that day's midnight."""
    day = instant.astimezone(unit_tz()).date()
    best = local_midnight(day)
    for wave in wave_instants(day, waves):
        if wave <= instant:
            best = wave
    return best


def window_end(instant: datetime.datetime, waves: Sequence[datetime.time]) -> datetime.datetime:
    """The earliest wave at or after INSTANT on its local day, else the next midnight.

    An instant at exactly midnight closes the previous day's window at that midnight."""
    tz = unit_tz()
    local = instant.astimezone(tz)
    day = local.date()
    if local.time() == datetime.time(0) and local_midnight(day) == instant:
        return instant
    for wave in wave_instants(day, waves):
        if wave >= instant:
            return wave
    return local_midnight(day + datetime.timedelta(days=1))


def movement_key() -> bytes:
    """The HMAC key of movement ids, derived from the blind-index key for this one use."""
    from usmp.crypto.keyring import get_keyring

    return _derive(get_keyring().blind_index_key)


@lru_cache(maxsize=4)
def _derive(blind_index_key: bytes) -> bytes:
    return hmac.new(blind_index_key, ID_DOMAIN, hashlib.sha256).digest()


def movement_id(
    key: bytes,
    prison_number: str,
    start: datetime.datetime,
    end: datetime.datetime,
    location: str,
) -> str:
    """Opaque, stable and non-sequential: HMAC of what the prison side already knows."""
    message = "\x1f".join(
        (
            prison_number,
            start.astimezone(UTC).isoformat(),
            end.astimezone(UTC).isoformat(),
            location,
        )
    ).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:ID_HEX_LENGTH]


def group_movements(
    facts: Iterable[MovementFact], waves: Sequence[datetime.time], key: bytes
) -> list[Movement]:
    """Facts -> movements: facts of one prison number at one point whose windows overlap or
    touch merge; a movement is cancelled when none of its facts is active."""
    windows: dict[tuple[str, str], list[tuple[datetime.datetime, datetime.datetime, bool]]] = {}
    for fact in facts:
        windows.setdefault((fact.prison_number, fact.movement_point), []).append(
            (window_start(fact.start, waves), window_end(fact.end, waves), fact.active)
        )
    movements: list[Movement] = []
    for (prison_number, point), spans in windows.items():
        spans.sort(key=lambda span: (span[0], span[1]))
        merged: list[tuple[datetime.datetime, datetime.datetime, bool]] = []
        for start, end, active in spans:
            if merged and _joins(merged[-1][1], start):
                last_start, last_end, last_active = merged[-1]
                merged[-1] = (last_start, max(last_end, end), last_active or active)
            else:
                merged.append((start, end, active))
        for start, end, active in merged:
            movements.append(
                Movement(
                    id=movement_id(key, prison_number, start, end, point),
                    prison_number=prison_number,
                    start=start,
                    end=end,
                    location=point,
                    status=Status.SCHEDULED if active else Status.CANCELLED,
                )
            )
    movements.sort(key=lambda m: m.sort_key)
    return movements


def _joins(previous_end: datetime.datetime, start: datetime.datetime) -> bool:
    """Windows that overlap, or touch at a wave, are one movement. Touching at local midnight
    (the day-bound clamp) is not a wave: the night splits them."""
    if start < previous_end:
        return True
    if start > previous_end:
        return False
    local = start.astimezone(unit_tz())
    return not (local.time() == datetime.time(0) and local_midnight(local.date()) == start)


@dataclass(frozen=True, slots=True)
class Horizon:
    start: datetime.datetime  # local midnight today: nothing earlier is published
    end: datetime.datetime  # now + N hours, to the minute

    def fetch_range(self) -> tuple[datetime.datetime, datetime.datetime]:
        # A day of margin both sides: a movement's window may begin before its first fact
        # (midnight clamp) and must be computed from all of its facts.
        day = datetime.timedelta(days=1)
        return self.start - day, self.end + day


def horizon_at(now: datetime.datetime, hours: int | None = None) -> Horizon:
    hours = horizon_hours() if hours is None else hours
    today = now.astimezone(unit_tz()).date()
    end = (now + datetime.timedelta(hours=hours)).astimezone(UTC).replace(second=0, microsecond=0)
    return Horizon(start=local_midnight(today), end=end)


def publishable(movements: Iterable[Movement], horizon: Horizon) -> list[Movement]:
    """Movements whose window begins today or later and before the horizon's end."""
    return [m for m in movements if horizon.start <= m.start < horizon.end]


def publish(
    facts: Iterable[MovementFact],
    waves: Sequence[datetime.time],
    horizon: Horizon,
    key: bytes,
) -> list[Movement]:
    """The movements the prison side sees for these facts, sorted by (start, prison number)."""
    return publishable(group_movements(facts, waves, key), horizon)


def close_waves(waves: Sequence[datetime.time]) -> list[tuple[datetime.time, datetime.time]]:
    """Consecutive waves closer than MIN_WAVE_GAP (they reveal a consultation's length)."""
    ordered = sorted(waves)
    day = datetime.date(2000, 1, 3)
    return [
        (a, b)
        for a, b in itertools.pairwise(ordered)
        if datetime.datetime.combine(day, b) - datetime.datetime.combine(day, a) < MIN_WAVE_GAP
    ]
