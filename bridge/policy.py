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
import hmac
import itertools
from collections.abc import Callable, Iterable, Sequence
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
PUSH_DIGEST_DOMAIN = b"cloison/bridge/push-digest/v1"
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

    return get_keyring().digest_key(ID_DOMAIN)


def push_digest_key() -> bytes:
    """The HMAC key of pushes' digests (a push holds a prison number: an unkeyed hash of it
    could be reversed by trying every number), derived for this one use."""
    from usmp.crypto.keyring import get_keyring

    return get_keyring().digest_key(PUSH_DIGEST_DOMAIN)


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
    # hmac.digest is the one-shot (OpenSSL) form of hmac.new(...).digest(): same bytes.
    return hmac.digest(key, message, "sha256").hex()[:ID_HEX_LENGTH]


class Windows:
    """window_start and window_end of many instants under the same waves, each distinct
    instant computed once.

    Consultations sit on a few slot boundaries, so a feed of thousands of facts holds a few
    hundred distinct instants. The memo is keyed by the instant (aware datetimes compare and
    hash as points in time) and lives as long as this object: one grouping, never shared."""

    __slots__ = ("_ends", "_starts", "waves")

    def __init__(self, waves: Sequence[datetime.time]) -> None:
        self.waves = tuple(waves)
        self._starts: dict[datetime.datetime, datetime.datetime] = {}
        self._ends: dict[datetime.datetime, datetime.datetime] = {}

    def start(self, instant: datetime.datetime) -> datetime.datetime:
        value = self._starts.get(instant)
        if value is None:
            value = self._starts[instant] = window_start(instant, self.waves)
        return value

    def end(self, instant: datetime.datetime) -> datetime.datetime:
        value = self._ends.get(instant)
        if value is None:
            value = self._ends[instant] = window_end(instant, self.waves)
        return value


# (prison number, movement point, window start, window end, active)
Span = tuple[str, str, datetime.datetime, datetime.datetime, bool]


def merged_spans(facts: Iterable[MovementFact], windows: Windows) -> list[Span]:
    """Facts -> merged windows, per prison number and movement point.

    Only live consultations (planned or done) open or stretch a window: live windows that
    overlap or touch at a wave merge into one scheduled movement. A dead consultation
    (cancelled, not done) never widens it: its window is dropped where it overlaps or touches
    a live one (the detainee is brought anyway, for the live ones), and dead windows standing
    alone merge among themselves into a cancelled movement, published with its window and id
    as before the cancellation."""
    by_key: dict[tuple[str, str], tuple[list[Window], list[Window]]] = {}
    for fact in facts:
        live, dead = by_key.setdefault((fact.prison_number, fact.movement_point), ([], []))
        (live if fact.active else dead).append((windows.start(fact.start), windows.end(fact.end)))
    out: list[Span] = []
    for (prison_number, point), (live, dead) in by_key.items():
        scheduled = _merge(live)
        cancelled = [
            span
            for span in _merge(dead)
            if not any(_overlaps_or_joins(span, other) for other in scheduled)
        ]
        out.extend((prison_number, point, start, end, True) for start, end in scheduled)
        out.extend((prison_number, point, start, end, False) for start, end in cancelled)
    return out


# (window start, window end)
Window = tuple[datetime.datetime, datetime.datetime]


def _merge(spans: list[Window]) -> list[Window]:
    """Windows that overlap or touch at a wave, merged; in order."""
    spans.sort()
    merged: list[Window] = []
    for start, end in spans:
        if merged and _joins(merged[-1][1], start):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlaps_or_joins(a: Window, b: Window) -> bool:
    first, second = (a, b) if a <= b else (b, a)
    return _joins(first[1], second[0])


def movements_of(spans: Iterable[Span], key: bytes) -> list[Movement]:
    """Merged windows -> movements with their ids, sorted by (start, prison number)."""
    movements = [
        Movement(
            id=movement_id(key, prison_number, start, end, point),
            prison_number=prison_number,
            start=start,
            end=end,
            location=point,
            status=Status.SCHEDULED if active else Status.CANCELLED,
        )
        for prison_number, point, start, end, active in spans
    ]
    movements.sort(key=lambda m: m.sort_key)
    return movements


def group_movements(
    facts: Iterable[MovementFact], waves: Sequence[datetime.time], key: bytes
) -> list[Movement]:
    """Facts -> movements (see ``merged_spans``)."""
    return movements_of(merged_spans(facts, Windows(waves)), key)


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


def horizon_at(now: datetime.datetime, hours: int | None = None) -> Horizon:
    """The horizon at NOW (aware): its end is NOW plus HOURS of elapsed time, to the minute
    (whatever the zone NOW is given in, across a change of clocks too)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("horizon_at takes an aware datetime")
    hours = horizon_hours() if hours is None else hours
    # In UTC: two readings of one instant in different zones, or the two readings of the
    # repeated autumn hour, are equal as keys but not as wall clocks.
    return _horizon(now.astimezone(UTC), hours, settings.TIME_ZONE)


@lru_cache(maxsize=8)
def _horizon(now: datetime.datetime, hours: int, time_zone: str) -> Horizon:
    """Memoised: every pull asks twice per second of the clock for the same horizon (its
    time zone conversions were a twentieth of a pull answered 304)."""
    tz = ZoneInfo(time_zone)
    today = now.astimezone(tz).date()
    end = (now + datetime.timedelta(hours=hours)).astimezone(UTC).replace(second=0, microsecond=0)
    return Horizon(start=local_midnight(today, tz), end=end)


def publishable(movements: Iterable[Movement], horizon: Horizon) -> list[Movement]:
    """Movements whose window begins today or later and before the horizon's end."""
    return [m for m in movements if horizon.start <= m.start < horizon.end]


def _in_horizon(spans: Iterable[Span], horizon: Horizon) -> list[Span]:
    return [span for span in spans if horizon.start <= span[2] < horizon.end]


def publish(
    facts: Iterable[MovementFact],
    waves: Sequence[datetime.time],
    horizon: Horizon,
    key: bytes,
) -> list[Movement]:
    """The movements the prison side sees for these facts, sorted by (start, prison number).

    The same as ``publishable(group_movements(...))``; only the ids of the published
    movements are computed."""
    return movements_of(_in_horizon(merged_spans(facts, Windows(waves)), horizon), key)


# Facts of the appointments overlapping [start, end): appointments.movements.movement_facts.
FactSource = Callable[[datetime.datetime, datetime.datetime], Iterable[MovementFact]]
# A movement chained to the horizon by consultations across midnight, night after night, is
# followed this many days past the horizon at most (never seen in practice; it is cut there).
MAX_CHAIN_DAYS = 31


def publish_from(
    source: FactSource, waves: Sequence[datetime.time], horizon: Horizon, key: bytes
) -> list[Movement]:
    """``publish`` over every fact of the agenda, fetching only the facts it depends on.

    Below: facts ending at or before the horizon's start (local midnight) are not needed.
    Their windows end by that midnight, and a window never joins one that only touches it at
    midnight, so they only ever merge into movements that start before the horizon.
    ``source(horizon.start, ...)`` returns every other fact (spanning midnight included).

    Above: facts are fetched up to LIMIT, the first local midnight at or after the horizon's
    end. A fact starting at or after LIMIT has a window starting at or after
    ``window_start(LIMIT)`` (windows are monotonic), so it can change a published movement
    only if that movement's window reaches past that point (a consultation across midnight).
    Then the facts of the next day are fetched too, and so on."""
    windows = Windows(waves)
    tz = unit_tz()
    limit = _midnight_at_or_after(horizon.end, tz)
    last = limit + datetime.timedelta(days=MAX_CHAIN_DAYS)
    facts = list(source(horizon.start, limit))
    while True:
        spans = _in_horizon(merged_spans(facts, windows), horizon)
        floor = windows.start(limit)
        if limit >= last or (
            floor >= horizon.end and not any(_joins(span[3], floor) for span in spans)
        ):
            return movements_of(spans, key)
        later = _midnight_at_or_after(limit + datetime.timedelta(hours=1), tz)
        # The source returns facts overlapping [limit, later): those starting before LIMIT
        # were in the previous fetch already.
        facts.extend(fact for fact in source(limit, later) if fact.start >= limit)
        limit = later


def _midnight_at_or_after(instant: datetime.datetime, tz: ZoneInfo) -> datetime.datetime:
    day = instant.astimezone(tz).date()
    midnight = local_midnight(day, tz)
    return midnight if midnight == instant else local_midnight(day + datetime.timedelta(days=1), tz)


def close_waves(waves: Sequence[datetime.time]) -> list[tuple[datetime.time, datetime.time]]:
    """Consecutive waves closer than MIN_WAVE_GAP (they reveal a consultation's length)."""
    ordered = sorted(waves)
    day = datetime.date(2000, 1, 3)
    return [
        (a, b)
        for a, b in itertools.pairwise(ordered)
        if datetime.datetime.combine(day, b) - datetime.datetime.combine(day, a) < MIN_WAVE_GAP
    ]
