"""The only writer of access events. Reached from the access layer (``usmp.access`` and the
apps' ``access`` modules) and from the services that write, never from a view or a template
tag (an import-linter contract).

An event is one INSERT in the caller's transaction, which takes no lock; the sequencer links
it once that transaction has committed (``usmp.audit.sequencer``), so a transaction that
recorded a read holds nothing while its page renders, and a rolled-back read leaves no row."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec

from django.db import connection, transaction
from django.utils import timezone

from usmp.core.db import prepared_one

from . import sequencer
from .models import AccessEvent, RefusalCounter

if TYPE_CHECKING:
    from usmp.accounts.models import User

P = ParamSpec("P")

Action = AccessEvent.Action
Outcome = AccessEvent.Outcome
Purpose = AccessEvent.Purpose

# Counters of anonymous refusals older than this are folded into the trail and forgotten.
REFUSAL_FOLD_AFTER = datetime.timedelta(minutes=1)


def build_event(
    *,
    actor: User | None,
    action: str,
    outcome: str = Outcome.ALLOWED,
    patient_id: uuid.UUID | str | None = None,
    compartment: str = "",
    object_type: str = "",
    object_id: str = "",
    search_index: str = "",
    break_glass: bool = False,
    source_ip: str | None = None,
    client_id: int | None = None,
    purpose: str = "",
    count: int = 1,
    at: datetime.datetime | None = None,
) -> AccessEvent:
    """The access event as it will be stored (not saved): for ``write_event``, and for a
    statement that inserts it with other work (``insert_select``)."""
    return AccessEvent(
        at=at or timezone.now(),
        actor_id=actor.pk if actor is not None and actor.pk else None,
        action=action,
        outcome=outcome,
        patient_id=AccessEvent.as_uuid(patient_id) if patient_id else None,
        compartment=compartment,
        object_type=object_type[:32],
        object_id=str(object_id)[:64],
        search_index=search_index,
        break_glass=break_glass,
        source_ip=source_ip,
        client_id=client_id,
        purpose=purpose,
        count=count,
    )


def _inserting(build: Callable[P, AccessEvent]) -> Callable[P, AccessEvent]:
    def write(*args: P.args, **kwargs: P.kwargs) -> AccessEvent:
        event = build(*args, **kwargs)
        row = prepared_one(_INSERT_ONE, event_params(event))
        assert row is not None  # noqa: S101 - an INSERT ... RETURNING returns its row
        return written(event, row[0])

    write.__doc__ = """Insert one access event (``build_event``'s arguments); the sequencer
    links it once the transaction commits. The row is built in memory and written by one
    INSERT, a statement prepared once per connection (no ORM save: its signals and field
    preparation were a third of an event's cost)."""
    return write


def written(event: AccessEvent, pk: int) -> AccessEvent:
    """EVENT, now inserted under PK in the current transaction: the sequencer is armed."""
    event.pk = pk
    event._state.adding = False
    event._state.db = connection.alias
    sequencer.schedule()
    return event


write_event = _inserting(build_event)


def insert_select(source: str) -> str:
    """SQL inserting one access event per row of SOURCE (``FROM ... WHERE ...``), its
    values the named parameters of ``event_params``, returning its id: for a statement
    that records a read together with the work that decides it (the bridge's pulls)."""
    values = ", ".join(f"%(ev_{name})s::{_db_type(name)}" for name in _COLUMNS)
    return (
        f"INSERT INTO {AccessEvent._meta.db_table} ({', '.join(_COLUMNS)}) "
        f"SELECT {values} {source} RETURNING id"
    )


def event_params(event: AccessEvent) -> dict[str, object]:
    return {f"ev_{name}": getattr(event, name) for name in _COLUMNS}


def _db_type(name: str) -> str:
    """The column's SQL type (a foreign key's is its target's), for the casts of a
    server-side bound statement."""
    field = next(f for f in AccessEvent._meta.concrete_fields if f.column == name)
    return field.db_type(connection) or "text"


_COLUMNS = (
    "at", "actor_id", "action", "outcome", "patient_id", "compartment", "object_type",
    "object_id", "search_index", "break_glass", "source_ip", "client_id", "purpose", "count",
)  # fmt: skip
_INSERT_ONE = insert_select("")


def refusal_record(*, source_ip: str | None, action: str, object_id: str = "") -> None:
    """A refused request from nobody we know (no session, no valid token).

    The first refusal of a (source, action, object) in a minute is an access event at once;
    the others of that minute are counted, and the count is folded into one more event once
    the minute is over. At most two events per source and minute, whatever the flood."""
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    table = RefusalCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (minute, source_ip, action, object_id, count, folded) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, 1, 1) "
            "ON CONFLICT ON CONSTRAINT refusal_counter_key "
            f"DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [minute, source_ip, action, object_id[:64]],
        )
        (count,) = cursor.fetchone()
    if count == 1:
        write_event(
            actor=None,
            action=action,
            outcome=Outcome.DENIED,
            object_type="anonymous",
            object_id=object_id,
            source_ip=source_ip,
            at=now,
        )
        refusals_fold(before=minute)


def refusals_fold(*, before: datetime.datetime | None = None) -> int:
    """Write one event for the refusals counted but not yet in the trail, per key of every
    minute before BEFORE (default: the current minute), and forget those counters."""
    before = before or timezone.now().replace(second=0, microsecond=0)
    folded = 0
    with transaction.atomic():
        rows = list(
            RefusalCounter.objects.select_for_update(skip_locked=True).filter(minute__lt=before)
        )
        for counter in rows:
            extra = counter.count - counter.folded
            if extra > 0:
                write_event(
                    actor=None,
                    action=counter.action,
                    outcome=Outcome.DENIED,
                    object_type="anonymous",
                    object_id=counter.object_id,
                    source_ip=counter.source_ip,
                    count=extra,
                    at=counter.minute + REFUSAL_FOLD_AFTER,
                )
                folded += 1
        RefusalCounter.objects.filter(pk__in=[c.pk for c in rows]).delete()
    return folded
