"""The published feed and its renderings (JSON, CSV, ICS, HTML), byte-stable.

Every rendering is a pure function of (generated_at, horizon, movements): nothing else of the
agenda reaches this module, so two agendas with the same movements render the same bytes.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone

from appointments.movements import movement_facts

from . import policy
from .models import MovementWave

FIELDS = ("id", "prison_number", "start", "end", "location", "status")
PRODID = "-//Cloison//Bridge v1//FR"


@dataclass(frozen=True)
class Feed:
    generated_at: datetime.datetime
    horizon: policy.Horizon
    movements: tuple[policy.Movement, ...]


def waves() -> list[datetime.time]:
    return list(MovementWave.objects.order_by("time").values_list("time", flat=True))


def build_feed(now: datetime.datetime | None = None) -> Feed:
    """The movements the prison side may see now (two queries for facts, one for waves)."""
    now = (now or timezone.now()).replace(microsecond=0)
    horizon = policy.horizon_at(now)
    facts = movement_facts(*horizon.fetch_range())
    movements = policy.publish(facts, waves(), horizon, policy.movement_key())
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


def as_json(feed: Feed) -> bytes:
    document = {
        "generated_at": iso(feed.generated_at),
        "horizon_end": iso(feed.horizon.end),
        "movements": [movement_dict(m) for m in feed.movements],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def as_csv(feed: Feed) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for movement in feed.movements:
        row = movement_dict(movement)
        writer.writerow([_csv_safe(row[f]) for f in FIELDS])
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
    rows = [movement_dict(m) | {"start_at": m.start, "end_at": m.end} for m in feed.movements]
    return render_to_string(
        "bridge/movements_print.html",
        {
            "unit_name": unit_name,
            "generated_at": feed.generated_at,
            "horizon_end": feed.horizon.end,
            "movements": rows,
        },
    ).encode()


def etag(feed: Feed, fmt: str) -> str:
    """A weak validator of the published movements in FORMAT.

    It covers the movement list only, not ``generated_at`` or ``horizon_end`` (which move
    with the clock): two bodies with the same movements are equivalent for a poller, so a
    304 is the right answer to them."""
    digest = hashlib.sha256(fmt.encode() + b"\x00")
    for movement in feed.movements:
        digest.update("\x1f".join(movement_dict(movement)[f] for f in FIELDS).encode() + b"\x1e")
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
