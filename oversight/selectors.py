"""The audit trail as the coordinator reads it: access events and write history merged,
newest first, keyset-paginated (fast on millions of rows), with flags computed per page in a
fixed number of queries."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from appointments.models import Appointment, CareRequest
from dossiers.models import BreakGlassAccess, Compartment
from usmp.audit.models import AccessEvent

from . import wording

PAGE_SIZE = 50
CARE_RELATION_DAYS = 30
WRITE = "write"  # pseudo-action for the write history in the filters
READ_ACTIONS = {
    AccessEvent.Action.PATIENT_VIEW,
    AccessEvent.Action.DOSSIER_VIEW,
    AccessEvent.Action.ENTRY_HISTORY,
    AccessEvent.Action.DOCUMENT_DOWNLOAD,
    AccessEvent.Action.CONSENTS_VIEW,
}


@dataclass(frozen=True)
class TrailFilter:
    actor_id: int | None = None
    patient_id: uuid.UUID | None = None
    compartment: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    action: str = ""
    outcome: str = ""
    flagged_only: bool = False


@dataclass(frozen=True)
class Actor:
    """Who acted, as the trail names them (staff, never patients)."""

    id: int
    name: str
    username: str

    @classmethod
    def of(cls, user: Any) -> Actor | None:
        if user is None:
            return None
        return cls(user.pk, str(user.get_full_name() or user.username), user.username)


@dataclass(frozen=True)
class TrailRow:
    source: str  # "access" or "write"
    id: int
    at: datetime.datetime
    actor: Actor | None
    action: str
    action_label: str
    outcome: str
    patient_id: str
    compartment: str
    detail: str
    break_glass: bool = False
    source_ip: str | None = None
    count: int = 1
    flags: tuple[str, ...] = ()

    @property
    def compartment_label(self) -> str:
        return (
            str(Compartment(self.compartment).label)
            if self.compartment in Compartment.values
            else ""
        )

    @property
    def cursor(self) -> str:
        return f"{self.at.timestamp():.6f}:{0 if self.source == 'access' else 1}:{self.id}"


def _bounds(f: TrailFilter) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    tz = timezone.get_current_timezone()
    start = (
        datetime.datetime.combine(f.date_from, datetime.time.min, tzinfo=tz)
        if f.date_from
        else None
    )
    end = (
        datetime.datetime.combine(
            f.date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        if f.date_to
        else None
    )
    return start, end


def parse_cursor(raw: str) -> tuple[datetime.datetime, int, int] | None:
    try:
        ts, rank, row_id = raw.split(":")
        return (
            datetime.datetime.fromtimestamp(float(ts), tz=datetime.UTC),
            int(rank),
            int(row_id),
        )
    except (ValueError, OverflowError, OSError):
        return None


def _after(time_field: str, rank: int, cursor: tuple[datetime.datetime, int, int] | None) -> Q:
    """Rows strictly after CURSOR in (time desc, source rank, id desc) order."""
    if cursor is None:
        return Q()
    at, cursor_rank, cursor_id = cursor
    same_time = Q(**{time_field: at})
    if rank > cursor_rank:
        later_in_tie = Q()
    elif rank == cursor_rank:
        later_in_tie = Q(id__lt=cursor_id)
    else:
        later_in_tie = Q(pk__in=[])
    return Q(**{f"{time_field}__lt": at}) | (same_time & later_in_tie)


def _access_query(f: TrailFilter, cursor: Any) -> Any:
    qs = AccessEvent.objects.select_related("actor").filter(_after("at", 0, cursor))
    start, end = _bounds(f)
    if f.actor_id:
        qs = qs.filter(actor_id=f.actor_id)
    if f.patient_id:
        qs = qs.filter(patient_id=f.patient_id)
    if f.compartment:
        qs = qs.filter(compartment=f.compartment)
    if start:
        qs = qs.filter(at__gte=start)
    if end:
        qs = qs.filter(at__lt=end)
    if f.action:
        qs = qs.filter(action=f.action)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.flagged_only:
        qs = qs.filter(
            Q(break_glass=True)
            | Q(outcome=AccessEvent.Outcome.DENIED)
            | Q(action=AccessEvent.Action.ROLE_CHANGE)
        )
    return qs.order_by("-at", "-id")


def _write_query(f: TrailFilter, cursor: Any) -> Any:
    if (
        (f.action and f.action != WRITE)
        or f.outcome == AccessEvent.Outcome.DENIED
        or f.flagged_only
    ):
        return LogEntry.objects.none()
    qs = LogEntry.objects.select_related("actor", "content_type").filter(
        _after("timestamp", 1, cursor)
    )
    start, end = _bounds(f)
    if f.actor_id:
        qs = qs.filter(actor_id=f.actor_id)
    if f.patient_id:
        qs = qs.filter(additional_data__patient_id=str(f.patient_id))
    if f.compartment:
        qs = qs.filter(additional_data__compartment=f.compartment)
    if start:
        qs = qs.filter(timestamp__gte=start)
    if end:
        qs = qs.filter(timestamp__lt=end)
    return qs.order_by("-timestamp", "-id")


def _row_from_access(e: AccessEvent) -> TrailRow:
    return TrailRow(
        source="access",
        id=e.pk,
        at=e.at,
        actor=Actor.of(e.actor),
        action=e.action,
        action_label=str(e.get_action_display()),
        outcome=e.outcome,
        patient_id=str(e.patient_id or ""),
        compartment=e.compartment,
        detail=wording.access_detail(
            object_type=e.object_type, object_id=e.object_id, client_id=e.client_id
        ),
        break_glass=e.break_glass,
        source_ip=e.source_ip,
        count=e.count,
    )


def _row_from_write(w: LogEntry) -> TrailRow:
    data = w.additional_data or {}
    actor = Actor.of(w.actor)
    fields = wording.changed_fields(
        content_type=w.content_type, names=(w.changes_dict or {}).keys(), data=data
    )
    return TrailRow(
        source="write",
        id=w.pk,
        at=w.timestamp,
        actor=actor,
        action=WRITE,
        action_label=wording.write_sentence(
            who=actor.name if actor else "", action=w.action, content_type=w.content_type
        ),
        outcome=AccessEvent.Outcome.ALLOWED,
        patient_id=str(data.get("patient_id", "")),
        compartment=str(data.get("compartment", "")),
        detail=fields,
        source_ip=w.remote_addr,
    )


@dataclass(frozen=True)
class TrailPage:
    rows: list[TrailRow]
    next_cursor: str | None


def audit_trail(f: TrailFilter, *, cursor: str = "", limit: int = PAGE_SIZE) -> TrailPage:
    """One page of the merged trail after CURSOR, with flags."""
    parsed = parse_cursor(cursor) if cursor else None
    access = [_row_from_access(e) for e in _access_query(f, parsed)[: limit + 1]]
    writes = [_row_from_write(w) for w in _write_query(f, parsed)[: limit + 1]]
    # (time desc, source rank asc, id desc): the order _after() pages through.
    merged = sorted(
        access + writes,
        key=lambda r: (-r.at.timestamp(), 0 if r.source == "access" else 1, -r.id),
    )
    rows = with_flags(merged[:limit])
    next_cursor = rows[-1].cursor if len(merged) > limit and rows else None
    return TrailPage(rows=rows, next_cursor=next_cursor)


def iter_trail(f: TrailFilter, *, batch: int = 1000) -> Iterator[TrailRow]:
    """Every row of the filtered trail, for the CSV export (keyset, constant memory)."""
    cursor = ""
    while True:
        page = audit_trail(f, cursor=cursor, limit=batch)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# -- flags ----------------------------------------------------------------------------------------

FLAG_NO_CARE_RELATION = "no_care_relation"
FLAG_AFTER_HOURS = "after_hours"
FLAG_BURST = "burst"
FLAG_BREAK_GLASS = "break_glass"
FLAG_DENIED = "denied"
# Role changes that need two people (proposed, confirmed, refused) and lockouts.
FLAG_ROLE_CHANGE = "role_change"
FLAG_LOCKOUT = "lockout"


def with_flags(rows: list[TrailRow]) -> list[TrailRow]:
    """ROWS with their flags, computed for the whole page in a fixed number of queries."""
    reads = [r for r in rows if r.source == "access" and r.action in READ_ACTIONS and r.patient_id]
    read_ids = {r.id for r in reads}
    related = _care_relations(reads)
    bursts = _bursts([r for r in reads if r.actor is not None])
    start_hour, end_hour = settings.USMP_WORKING_HOURS
    flagged = []
    for row in rows:
        flags = []
        local = timezone.localtime(row.at)
        if row.actor is not None and (
            local.weekday() >= 5 or not start_hour <= local.hour < end_hour
        ):
            flags.append(FLAG_AFTER_HOURS)
        if row.break_glass:
            flags.append(FLAG_BREAK_GLASS)
        if row.outcome == AccessEvent.Outcome.DENIED:
            flags.append(FLAG_DENIED)
        if row.source == "access" and row.action == AccessEvent.Action.ROLE_CHANGE:
            flags.append(FLAG_ROLE_CHANGE)
        if row.source == "access" and row.action == AccessEvent.Action.LOCKOUT:
            flags.append(FLAG_LOCKOUT)
        is_read = row.source == "access" and row.id in read_ids
        if is_read and (row.patient_id, row.id) not in related:
            flags.append(FLAG_NO_CARE_RELATION)
        if row.source == "access" and row.id in bursts:
            flags.append(FLAG_BURST)
        flagged.append(replace(row, flags=tuple(flags)))
    return flagged


def _care_relations(reads: list[TrailRow]) -> set[tuple[str, int]]:
    """(patient, event) pairs with an appointment or a care request within 30 days."""
    if not reads:
        return set()
    window = datetime.timedelta(days=CARE_RELATION_DAYS)
    patients = {r.patient_id for r in reads}
    lo = min(r.at for r in reads) - window
    hi = max(r.at for r in reads) + window
    appointments: dict[str, list[datetime.datetime]] = {}
    for pid, start in Appointment.objects.filter(
        patient_id__in=patients, start__gte=lo, start__lte=hi
    ).values_list("patient_id", "start"):
        appointments.setdefault(str(pid), []).append(start)
    for pid, received in CareRequest.objects.filter(
        patient_id__in=patients, received_on__gte=lo.date(), received_on__lte=hi.date()
    ).values_list("patient_id", "received_on"):
        appointments.setdefault(str(pid), []).append(
            datetime.datetime.combine(
                received, datetime.time(12), tzinfo=timezone.get_current_timezone()
            )
        )
    return {
        (r.patient_id, r.id)
        for r in reads
        if any(abs(t - r.at) <= window for t in appointments.get(r.patient_id, []))
    }


def _bursts(reads: list[TrailRow]) -> set[int]:
    """Events whose actor opened more than the threshold of distinct patients in the hour
    before (one query for the whole page)."""
    if not reads:
        return set()
    threshold = settings.USMP_AUDIT_BURST_THRESHOLD
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.id FROM audit_accessevent e
            WHERE e.id = ANY(%s) AND (
                SELECT count(DISTINCT x.patient_id) FROM audit_accessevent x
                WHERE x.actor_id = e.actor_id AND x.patient_id IS NOT NULL
                  AND x.at > e.at - interval '1 hour' AND x.at <= e.at
            ) > %s
            """,
            [[r.id for r in reads], threshold],
        )
        return {row[0] for row in cursor.fetchall()}


def break_glass_pending() -> int:
    return BreakGlassAccess.objects.filter(reviewed_at__isnull=True).count()
