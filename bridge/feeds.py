"""The published feed and its renderings (JSON, CSV, ICS, HTML), byte-stable.

Every rendering is a pure function of (generated_at, horizon, movements): nothing else of the
agenda reaches this module, so two agendas with the same movements render the same bytes.

``current_feed`` serves the feed from a per-process cache of one entry, keyed by the version
of the movement facts (``appointments.movements.facts_version``: a commit that changes an
appointment's patient, times, status or point, a point's code, a prison number or a wave
changes it), the horizon (to the minute), the time zone, the database and the movement-id
key. The entry holds the movements of one pull and what is derived from them (rows, JSON
array, CSV body, ETags), in the worker's memory only, never in the database or a shared
cache. A hit costs one query and builds nothing; ``build_feed`` stays the plain definition,
and the tests hold the cached answer to it byte for byte.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from appointments.movements import facts_version, movement_facts

from . import policy
from .models import MovementWave

_T = TypeVar("_T")
FIELDS = ("id", "prison_number", "start", "end", "location", "status")
PRODID = "-//Cloison//Bridge v1//FR"


class Shared:
    """What is derived from one list of movements, computed once and shared by the feeds of
    that list (one cache entry): rows, JSON array, CSV body, ETags per format."""

    __slots__ = ("memo",)

    def __init__(self) -> None:
        self.memo: dict[str, object] = {}


@dataclass(frozen=True)
class Feed:
    generated_at: datetime.datetime
    horizon: policy.Horizon
    movements: tuple[policy.Movement, ...]
    shared: Shared = field(default_factory=Shared, compare=False, repr=False)

    def derived(self, name: str, compute: Callable[[], _T]) -> _T:
        memo = self.shared.memo
        if name not in memo:
            memo[name] = compute()
        return memo[name]  # type: ignore[return-value]

    @property
    def rows(self) -> tuple[tuple[str, ...], ...]:
        return self.derived("rows", self._rows)

    def _rows(self) -> tuple[tuple[str, ...], ...]:
        """The movements as strings, in FIELDS order: computed once per feed, shared by the
        renderings and the ETag (a feed lives for one request)."""
        tz = policy.unit_tz()
        texts: dict[datetime.datetime, str] = {}  # windows share a few wave instants

        def text(value: datetime.datetime) -> str:
            out = texts.get(value)
            if out is None:
                out = texts[value] = value.astimezone(tz).isoformat(timespec="seconds")
            return out

        return tuple(
            (m.id, m.prison_number, text(m.start), text(m.end), m.location, m.status)
            for m in self.movements
        )

    @property
    def movements_json(self) -> str:
        """The JSON array of the movements, as ``as_json`` embeds it."""
        return self.derived(
            "json", lambda: _dumps([dict(zip(FIELDS, row, strict=True)) for row in self.rows])
        )


def waves() -> list[datetime.time]:
    return list(MovementWave.objects.order_by("time").values_list("time", flat=True))


def build_feed(now: datetime.datetime | None = None) -> Feed:
    """The movements the prison side may see now: one query for the waves, then the facts
    (one fetch; one more per night crossed by a published movement, see
    policy.publish_from)."""
    now = (now or timezone.now()).replace(microsecond=0)
    horizon = policy.horizon_at(now)
    movements = policy.publish_from(movement_facts, waves(), horizon, policy.movement_key())
    return Feed(generated_at=now, horizon=horizon, movements=tuple(movements))


def iso(value: datetime.datetime) -> str:
    return value.astimezone(policy.unit_tz()).isoformat(timespec="seconds")


def movement_dict(movement: policy.Movement) -> dict[str, str]:
    return {
        "id": movement.id,
        "prison_number": movement.prison_number,
        "start": iso(movement.start),
        "end": iso(movement.end),
        "location": movement.location,
        "status": movement.status,
    }


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def as_json(feed: Feed) -> bytes:
    """``{"generated_at", "horizon_end", "movements"}``: the bytes of json.dumps of that
    document (compact, UTF-8), written around the feed's own movements array."""
    return (
        f'{{"generated_at":{_dumps(iso(feed.generated_at))},'
        f'"horizon_end":{_dumps(iso(feed.horizon.end))},'
        f'"movements":{feed.movements_json}}}'
    ).encode()


def as_csv(feed: Feed) -> bytes:
    return feed.derived("csv", lambda: _csv(feed))


def _csv(feed: Feed) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in feed.rows:
        writer.writerow([_csv_safe(value) for value in row])
    return out.getvalue().encode()


def _csv_safe(value: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def as_ics(feed: Feed) -> bytes:
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    stamp = feed.generated_at.astimezone(datetime.UTC)
    for movement in feed.movements:
        event = Event()
        event.add("uid", f"{movement.id}@cloison-bridge")
        event.add("dtstamp", stamp)
        event.add("dtstart", movement.start.astimezone(datetime.UTC))
        event.add("dtend", movement.end.astimezone(datetime.UTC))
        # The prison number and the movement point only: nothing with a medical meaning.
        event.add("summary", f"{movement.prison_number} {movement.location}")
        event.add("location", movement.location)
        event.add(
            "status", "CANCELLED" if movement.status == policy.Status.CANCELLED else "CONFIRMED"
        )
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def as_html(feed: Feed, *, unit_name: str) -> bytes:
    rows = [
        dict(zip(FIELDS, row, strict=True)) | {"start_at": m.start, "end_at": m.end}
        for row, m in zip(feed.rows, feed.movements, strict=True)
    ]
    return render_to_string(
        "bridge/movements_print.html",
        {
            "unit_name": unit_name,
            "generated_at": feed.generated_at,
            "horizon_end": feed.horizon.end,
            "movements": rows,
        },
    ).encode()


RENDERERS = {"json": as_json, "csv": as_csv, "ics": as_ics}


def render(feed: Feed, fmt: str) -> bytes:
    """The body of FEED in FORMAT (json, csv or ics)."""
    return RENDERERS[fmt](feed)


@dataclass(frozen=True)
class _Entry:
    key: tuple[object, ...]
    movements: tuple[policy.Movement, ...]
    shared: Shared


_entry: _Entry | None = None


def current_feed(now: datetime.datetime | None = None) -> Feed:
    """The feed to serve now: ``build_feed``'s, from the cache while nothing it depends on
    has changed. A transaction that itself changed a fact gets the plain definition, and
    nothing of it is cached (its changes may yet roll back)."""
    global _entry
    now = (now or timezone.now()).replace(microsecond=0)
    horizon = policy.horizon_at(now)
    version, own_changes = facts_version()
    if own_changes:
        return build_feed(now)
    key = _key(version, horizon)
    entry = _entry
    if entry is None or entry.key != key:
        feed = build_feed(now)
        entry = _Entry(key=key, movements=feed.movements, shared=feed.shared)
        _entry = entry
        return feed
    return Feed(generated_at=now, horizon=horizon, movements=entry.movements, shared=entry.shared)


def _key(version: int, horizon: policy.Horizon) -> tuple[object, ...]:
    return (
        version,
        horizon,
        settings.TIME_ZONE,
        connection.settings_dict["NAME"],
        policy.movement_key(),
    )


def cached_version(now: datetime.datetime) -> int | None:
    """The facts version of this worker's entry if it is the one for NOW (horizon, time
    zone, database, movement-id key), else None. No query: the caller checks the version
    against the database (``bridge.auth.authorize_pull`` does it in the pull's one statement)."""
    entry = _entry
    if entry is None:
        return None
    version = int(entry.key[0])  # type: ignore[call-overload]
    return version if entry.key == _key(version, policy.horizon_at(now)) else None


def cached_feed(now: datetime.datetime, version: int) -> Feed | None:
    """This worker's feed for NOW if it was built at facts VERSION, without any query."""
    entry = _entry
    horizon = policy.horizon_at(now)
    if entry is None or entry.key != _key(version, horizon):
        return None
    return Feed(generated_at=now, horizon=horizon, movements=entry.movements, shared=entry.shared)


def forget() -> None:
    """Drop the cached entry (tests; the next pull rebuilds)."""
    global _entry
    _entry = None


def etag(feed: Feed, fmt: str) -> str:
    """A weak validator of the published movements in FORMAT.

    It covers the movement list only, not ``generated_at`` or ``horizon_end`` (which move
    with the clock): two bodies with the same movements are equivalent for a poller, so a
    304 is the right answer to them."""
    return feed.derived(f"etag:{fmt}", lambda: _etag(feed, fmt))


def _etag(feed: Feed, fmt: str) -> str:
    digest = hashlib.sha256(fmt.encode() + b"\x00")
    digest.update("".join("\x1f".join(row) + "\x1e" for row in feed.rows).encode())
    return f'W/"{digest.hexdigest()[:40]}"'


def etag_matches(if_none_match: str | None, current: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = current.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


def changed_since(feed: Feed, since: datetime.datetime) -> Feed:
    """The movements a poller that synchronised at SINCE may need: those whose window ends
    after it. A superset of what changed (the bridge keeps no publication history, which
    would mean storing prison numbers); the client upserts by id and treats ids of its copy
    that are absent from a full pull as withdrawn."""
    kept = tuple(m for m in feed.movements if m.end > since)
    return Feed(generated_at=feed.generated_at, horizon=feed.horizon, movements=kept)
