"""The tamper-evident chain over the access events and django-auditlog's write history.

Every audit row gets a link: seq (gapless), prev_hash, row_hash = HMAC-SHA256(audit key,
prev_hash | canonical JSON of the row as stored). Links are appended inside the transaction
that wrote the row, under a transaction-scoped advisory lock, so concurrent writers cannot
fork the chain. ``verify`` recomputes everything and names the first broken link; a
checkpoint (printed for anchoring outside the database) detects a truncated tail.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditlog.models import LogEntry
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from usmp.core.db import PURGE_SETTING
from usmp.crypto.keyring import get_keyring

from .models import AccessEvent, ChainLink, Checkpoint

LOCK_KEY = 0x436C6F69  # "Cloi": one advisory lock for the whole chain
GENESIS = "0" * 64
MINIMUM_RETENTION_DAYS = 183  # code de la santé publique: at least six months

ACCESS_FIELDS = (
    "id", "at", "actor_id", "action", "outcome", "patient_id", "compartment",
    "object_type", "object_id", "search_index", "break_glass", "source_ip",
)  # fmt: skip
WRITE_FIELDS = (
    "id", "content_type_id", "object_pk", "object_id", "object_repr", "serialized_data",
    "action", "changes_text", "changes", "cid", "actor_id", "actor_email", "remote_addr",
    "remote_port", "timestamp", "additional_data",
)  # fmt: skip
SOURCES: dict[str, tuple[Any, tuple[str, ...], str]] = {
    ChainLink.Source.ACCESS: (AccessEvent, ACCESS_FIELDS, "at"),
    ChainLink.Source.WRITE: (LogEntry, WRITE_FIELDS, "timestamp"),
}


def canonical(source: str, values: dict[str, Any]) -> bytes:
    """The row as stored, as sorted compact JSON: its time in UTC ISO 8601, UUIDs and
    addresses as strings (json's default=str), nested JSON (auditlog's changes) sorted."""
    time_field = SOURCES[source][2]
    row = {**values, "source": source}
    if row.get(time_field) is not None:
        row[time_field] = row[time_field].astimezone(datetime.UTC).isoformat()
    return json.dumps(
        row, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True
    ).encode()


def link_hash(
    prev_hash: str, source: str, values: dict[str, Any], *, key: bytes | None = None
) -> str:
    message = prev_hash.encode() + b"|" + canonical(source, values)
    return hmac.new(key or get_keyring().audit_key, message, hashlib.sha256).hexdigest()


def _rows(source: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = list(ids)
    if not ids:
        return {}
    model, fields, _time = SOURCES[source]
    # A range scan when the ids are dense (they are, in chain order), else an IN list.
    lo, hi = min(ids), max(ids)
    qs = (
        model.objects.filter(id__gte=lo, id__lte=hi)
        if hi - lo < 2 * len(ids)
        else model.objects.filter(id__in=ids)
    )
    wanted = set(ids)
    return {row["id"]: row for row in qs.values(*fields) if row["id"] in wanted}


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _boundary() -> Checkpoint | None:
    return Checkpoint.objects.filter(is_purge_boundary=True).order_by("-seq").first()


def _head() -> tuple[int, str]:
    last = ChainLink.objects.order_by("-seq").values_list("seq", "row_hash").first()
    if last is not None:
        return last
    boundary = _boundary()
    return (boundary.seq, boundary.head_hash) if boundary else (0, GENESIS)


def append(source: str, source_id: int) -> ChainLink:
    """Link the row just written. Holds the chain lock until the transaction ends."""
    with transaction.atomic():
        _lock()
        values = _rows(source, [source_id])[source_id]
        seq, prev = _head()
        return ChainLink.objects.create(
            seq=seq + 1,
            source=source,
            source_id=source_id,
            prev_hash=prev,
            row_hash=link_hash(prev, source, values),
        )


# -- verification -------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    links: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _NoProgress:
    def advance(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def verify(
    *,
    expect: tuple[int, str] | None = None,
    chunk: int = 5000,
    progress: Callable[[str, int], Any] = lambda label, total: _NoProgress(),
) -> VerifyReport:
    """Recompute the whole chain; list problems, the first broken link first."""
    report = VerifyReport()
    boundary = _boundary()
    expected_seq, prev = (boundary.seq + 1, boundary.head_hash) if boundary else (1, GENESIS)
    bar = progress(
        "Verifying the audit chain", ChainLink.objects.filter(seq__gte=expected_seq).count()
    )
    cursor_seq = expected_seq - 1
    key = get_keyring().audit_key
    fields = ("seq", "source", "source_id", "prev_hash", "row_hash")
    while True:
        links = list(
            ChainLink.objects.filter(seq__gt=cursor_seq)
            .order_by("seq")
            .values_list(*fields)[:chunk]
        )
        if not links:
            break
        rows = {
            source: _rows(
                source, [source_id for _s, src, source_id, _p, _h in links if src == source]
            )
            for source in SOURCES
        }
        for seq, source, source_id, prev_hash, row_hash in links:
            name = f"link {seq} ({source} row {source_id})"
            if seq != expected_seq:
                report.problems.append(
                    f"links {expected_seq} to {seq - 1} are missing (deleted from the chain)"
                )
            elif prev_hash != prev:
                report.problems.append(f"{name} does not follow the previous link")
            values = rows[source].get(source_id)
            if values is None:
                report.problems.append(f"{name}: the row is missing (deleted)")
            elif link_hash(prev_hash, source, values, key=key) != row_hash:
                report.problems.append(f"{name}: the row was altered")
            prev, expected_seq = row_hash, seq + 1
            report.links += 1
        cursor_seq = links[-1][0]
        bar.advance(len(links))
    bar.close()
    report.head_seq, report.head_hash = expected_seq - 1, prev
    anchors = [
        (c.seq, c.head_hash, f"checkpoint of {timezone.localtime(c.at):%d/%m/%Y %H:%M}")
        for c in Checkpoint.objects.filter(
            is_purge_boundary=False, seq__gte=expected_seq - report.links
        )
    ]
    if expect is not None:
        anchors.append((*expect, "the expected head given on the command line"))
    for seq, head_hash, what in anchors:
        if seq > report.head_seq:
            report.problems.append(
                f"the chain ends at link {report.head_seq} but {what} recorded link {seq}: "
                "its tail was truncated"
            )
        else:
            at = ChainLink.objects.filter(seq=seq).values_list("row_hash", flat=True).first()
            if at is not None and at != head_hash:
                report.problems.append(f"link {seq} differs from {what}")
    report.problems.extend(_unlinked_rows(boundary))
    return report


def _unlinked_rows(boundary: Checkpoint | None) -> list[str]:
    """Audit rows that no link covers: inserted behind the application's back."""
    problems = []
    writes_floor = (boundary.unlinked_writes_through or 0) if boundary else 0
    for source, (model, _fields, _time) in SOURCES.items():
        floor = writes_floor if source == ChainLink.Source.WRITE else 0
        # NOT EXISTS (an anti-join on the link index), not NOT IN: on millions of rows the
        # latter cannot be hashed and turns quadratic.
        linked = ChainLink.objects.filter(source=source, source_id=OuterRef("id"))
        missing = list(
            model.objects.filter(id__gt=floor)
            .filter(~Exists(linked))
            .order_by("id")
            .values_list("id", flat=True)[:5]
        )
        for row_id in missing:
            problems.append(
                f"{source} row {row_id} is in no link of the chain (inserted outside it)"
            )
    return problems


def checkpoint() -> Checkpoint:
    """Record the current head (print it too, and keep it outside the database)."""
    with transaction.atomic():
        _lock()
        seq, head = _head()
        return Checkpoint.objects.create(seq=seq, head_hash=head)


# -- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    through_seq: int
    access_events_deleted: int


def purge(*, before: datetime.datetime, acting_user: Any = None) -> PurgeResult:
    """Delete access events older than BEFORE with the links of the chain's oldest part.

    The chain stays verifiable: a boundary checkpoint keeps the hash of the last purged link,
    and the purge itself is recorded as an access event. Write history rows are kept."""
    from .services import access_record

    floor = timezone.now() - datetime.timedelta(days=MINIMUM_RETENTION_DAYS)
    if before > floor:
        raise ValueError(
            f"Access events are kept at least {MINIMUM_RETENTION_DAYS} days: "
            f"purge only before {timezone.localtime(floor):%d/%m/%Y}."
        )
    with transaction.atomic():
        _lock()
        with connection.cursor() as cursor:
            # The first link whose row is recent enough: everything before it goes.
            cursor.execute(
                """
                SELECT min(l.seq) FROM audit_chainlink l
                LEFT JOIN audit_accessevent a ON l.source = 'access' AND a.id = l.source_id
                LEFT JOIN auditlog_logentry w ON l.source = 'write' AND w.id = l.source_id
                WHERE coalesce(a.at, w.timestamp) >= %s
                """,
                [before],
            )
            first_kept = cursor.fetchone()[0]
        last_seq, _ = _head()
        through = (first_kept - 1) if first_kept is not None else last_seq
        purged = ChainLink.objects.filter(seq__lte=through)
        last = purged.order_by("-seq").first()
        if last is None:
            return PurgeResult(through_seq=through, access_events_deleted=0)
        access_ids = list(purged.filter(source="access").values_list("source_id", flat=True))
        writes_through = (
            purged.filter(source="write")
            .order_by("-source_id")
            .values_list("source_id", flat=True)
            .first()
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'on'")
            cursor.execute("DELETE FROM audit_chainlink WHERE seq <= %s", [through])
            cursor.execute("DELETE FROM audit_accessevent WHERE id = ANY(%s)", [access_ids])
            cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'off'")
        previous = _boundary()
        Checkpoint.objects.create(
            seq=last.seq,
            head_hash=last.row_hash,
            is_purge_boundary=True,
            purged_access_events=len(access_ids),
            unlinked_writes_through=max(
                writes_through or 0, (previous.unlinked_writes_through or 0) if previous else 0
            ),
        )
        access_record(
            request=None,
            actor=acting_user,
            action=AccessEvent.Action.AUDIT_PURGE,
            object_type="chain",
            object_id=f"through link {last.seq}, {len(access_ids)} events",
        )
    return PurgeResult(through_seq=last.seq, access_events_deleted=len(access_ids))
