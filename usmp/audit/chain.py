"""The tamper-evident chain over the access events and django-auditlog's write history.

Every audit row gets a link: seq (gapless), prev_hash, row_hash = HMAC-SHA256(audit key,
prev_hash | canonical JSON of the row as stored). Writers only insert their rows; ``sequence``
links the committed rows that have none yet, in short transactions of its own (one per batch)
under the chain's advisory lock, run by the sequencer (``usmp.audit.sequencer``). So no
reader's transaction ever holds the lock, and a transaction left open blocks nobody.
``verify`` recomputes everything and names the first broken link; a checkpoint (printed for
anchoring outside the database) detects a truncated tail.

The links are also the leaves of an RFC 6962 Merkle tree (usmp.audit.tree): each pass
appends its leaves, stores the completed nodes at levels 8, 16..., and records a checkpoint
signed with the keyring's Ed25519 key (C2SP signed note) at most every CHECKPOINT_EVERY.
Inclusion proofs (a patient's report) and consistency proofs (between checkpoints) are
checked with the public key alone.

Every audit row carries the id of the transaction that wrote it (``xid``, a PostgreSQL
``xid8`` column set by default). A pass looks at the rows whose transaction id is at least
the previous pass's snapshot horizon (``pg_snapshot_xmin``): every transaction older than that
had ended when the previous pass ran, so its rows were linked then, and a late commit is never
skipped. A row behind the horizon without a link was inserted behind the sequencer's back.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditlog.models import LogEntry
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone

from usmp.crypto.keyring import get_keyring

from . import merkle, notes, tree
from .models import AccessEvent, ChainLink, Checkpoint, SequencerState, TreeNode

LOCK_KEY = 0x436C6F69  # "Cloi": one advisory lock for the whole chain
GENESIS = "0" * 64

ACCESS_FIELDS = (
    "id", "at", "actor_id", "action", "outcome", "patient_id", "compartment",
    "object_type", "object_id", "search_index", "break_glass", "source_ip",
)  # fmt: skip
# Fields added after the first release: in the canonical form only when they differ from
# their default, so that the links of older rows still verify.
ACCESS_OPTIONAL_FIELDS = {"purpose": "", "count": 1, "client_id": None}
WRITE_FIELDS = (
    "id", "content_type_id", "object_pk", "object_id", "object_repr", "serialized_data",
    "action", "changes_text", "changes", "cid", "actor_id", "actor_email", "remote_addr",
    "remote_port", "timestamp", "additional_data",
)  # fmt: skip
SOURCES: dict[str, tuple[Any, tuple[str, ...], str]] = {
    ChainLink.Source.ACCESS: (AccessEvent, (*ACCESS_FIELDS, *ACCESS_OPTIONAL_FIELDS), "at"),
    ChainLink.Source.WRITE: (LogEntry, WRITE_FIELDS, "timestamp"),
}

log = logging.getLogger(__name__)


def canonical(source: str, values: dict[str, Any]) -> bytes:
    """The row as stored, as sorted compact JSON: its time in UTC ISO 8601, UUIDs and
    addresses as strings (json's default=str), nested JSON (auditlog's changes) sorted."""
    time_field = SOURCES[source][2]
    row = {**values, "source": source}
    if source == ChainLink.Source.ACCESS:
        for name, default in ACCESS_OPTIONAL_FIELDS.items():
            if row.get(name, default) == default:
                row.pop(name, None)
    if row.get(time_field) is not None:
        row[time_field] = row[time_field].astimezone(datetime.UTC).isoformat()
    return json.dumps(
        row, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True
    ).encode()


def link_hash(
    prev_hash: str,
    source: str,
    values: dict[str, Any],
    *,
    key: bytes | None = None,
    content: bytes | None = None,
) -> str:
    message = prev_hash.encode() + b"|" + (content or canonical(source, values))
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


def lock() -> None:
    """The chain's lock, held until the current transaction ends: only the sequencer, the
    checkpoint and the retention purge take it, each in a short transaction of its own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def boundary() -> Checkpoint | None:
    return Checkpoint.objects.filter(is_purge_boundary=True).order_by("-seq").first()


def head() -> tuple[int, str]:
    last = ChainLink.objects.order_by("-seq").values_list("seq", "row_hash").first()
    if last is not None:
        return last
    start = boundary()
    return (start.seq, start.head_hash) if start else (0, GENESIS)


# -- sequencing ---------------------------------------------------------------------------------

_TABLES: dict[str, str] = {
    ChainLink.Source.ACCESS: "audit_accessevent",
    ChainLink.Source.WRITE: "auditlog_logentry",
}


def _horizon() -> int:
    row = SequencerState.objects.filter(pk=1).values_list("horizon", flat=True).first()
    return int(row or 0)


# The sequencer records a signed checkpoint when the tree has grown and the last one is older
# (audit_checkpoint and each access report record one too).
CHECKPOINT_EVERY = datetime.timedelta(minutes=10)

# Rows linked per transaction: a pass over a long backlog commits every BATCH rows, so that
# its transaction stays short and a crash loses at most the batch under way (never a row).
BATCH = 5000


def pending_query(source: str, horizon: int) -> Any:
    """SOURCE rows written by a transaction at or after HORIZON that have no link yet."""
    model = SOURCES[source][0]
    linked = ChainLink.objects.filter(source=source, source_id=OuterRef("id"))
    at_or_after = RawSQL("xid >= %s::text::xid8", [str(horizon)], output_field=BooleanField())
    return model.objects.alias(recent=at_or_after).filter(recent=True).filter(~Exists(linked))


def _pending_rows(source: str, horizon: int, limit: int | None = None) -> list[dict[str, Any]]:
    """The pending rows of SOURCE as stored, in id order (one query)."""
    qs = pending_query(source, horizon).order_by("id").values(*SOURCES[source][1])
    return list(qs[:limit] if limit is not None else qs)


def _pending(source: str, horizon: int) -> list[int]:
    return [row["id"] for row in _pending_rows(source, horizon)]


def _link_batch(cursor: Any, batch: int) -> tuple[int, bool]:
    """Link up to BATCH rows of each source (the chain's lock held); return how many, and
    whether the pass caught up (then the horizon moves on)."""
    cursor.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, "
        "coalesce((SELECT horizon FROM audit_sequencerstate WHERE id = 1), 0)"
    )
    next_horizon, horizon = cursor.fetchone()
    rows = {source: _pending_rows(source, int(horizon), batch) for source in SOURCES}
    pending = [
        (values[SOURCES[source][2]], source, values["id"], values)
        for source, values_list in rows.items()
        for values in values_list
    ]
    links: list[tuple[int, str, int, str, str, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    if pending:
        pending.sort(key=lambda item: (item[0], item[1], item[2]))
        seq, prev = head()
        offset, size, frontier = tree.state()
        if size != seq - offset:
            raise RuntimeError(
                f"the audit tree holds {size} leaves but the chain {seq - offset} links: "
                "run manage.py audit_verify"
            )
        key = get_keyring().audit_key
        for _at, source, row_id, values in pending:
            seq += 1
            content = canonical(source, values)
            row_hash = link_hash(prev, source, values, key=key, content=content)
            leaf = merkle.leaf_hash(content)
            links.append((seq, source, row_id, prev, row_hash, leaf))
            for level, index, value in frontier.append(leaf):
                if level and level % tree.STRIDE == 0:
                    nodes.append((level, index, value))
            prev = row_hash
        # COPY, not bulk_create: building the INSERT was two thirds of a pass.
        raw = cursor.cursor
        with raw.copy(
            "COPY audit_chainlink (seq, source, source_id, prev_hash, row_hash, leaf_hash) "
            "FROM STDIN"
        ) as copy:
            for link in links:
                copy.write_row(link)
        if nodes:
            with raw.copy("COPY audit_treenode (level, index, hash) FROM STDIN") as copy:
                for node in nodes:
                    copy.write_row(node)
        cursor.execute(
            "INSERT INTO audit_sequencerstate (id, horizon, tree_offset, tree_size, frontier) "
            "VALUES (1, 0, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "tree_size = EXCLUDED.tree_size, frontier = EXCLUDED.frontier",
            [offset, frontier.size, frontier.packed()],
        )
        _maybe_checkpoint(seq, prev, frontier)
    caught_up = all(len(values_list) < batch for values_list in rows.values())
    if caught_up:
        # Every transaction older than NEXT_HORIZON had ended before this pass's queries
        # began, so its committed rows were visible to them: linked now, never rescanned.
        # CAUGHT_UP_AT is this transaction's start: whatever committed before it is linked.
        cursor.execute(
            "INSERT INTO audit_sequencerstate "
            "(id, horizon, caught_up_at, tree_offset, tree_size, frontier) "
            "VALUES (1, %s, transaction_timestamp(), 0, 0, '') ON CONFLICT (id) DO UPDATE SET "
            "horizon = GREATEST(audit_sequencerstate.horizon, EXCLUDED.horizon), "
            "caught_up_at = EXCLUDED.caught_up_at",
            [int(next_horizon)],
        )
    return len(links), caught_up


class RenamedLog(RuntimeError):
    """USMP_AUDIT_LOG_ORIGIN is not the name the log's checkpoints were signed under: a
    checkpoint signed now would not verify with the earlier ones."""


def signed_origin() -> str | None:
    """The log's name in its last signed checkpoint (None before the first)."""
    note = (
        Checkpoint.objects.exclude(note="").order_by("-id").values_list("note", flat=True).first()
    )
    return note.split("\n", 1)[0] if note else None


def check_origin() -> None:
    """RenamedLog when the configured name is not the one the log was signed under."""
    named = signed_origin()
    if named is not None and named != tree.origin():
        raise RenamedLog(
            f"The audit log's checkpoints are signed as {named!r}, but USMP_AUDIT_LOG_ORIGIN "
            f"names it {tree.origin()!r}: set it back to {named!r} (a log's name never "
            "changes). No checkpoint is signed until then; rows are still linked."
        )


def _record_checkpoint(seq: int, head_hash: str, frontier: merkle.CompactRange) -> Checkpoint:
    check_origin()
    at = timezone.now()
    root = frontier.root()
    return Checkpoint.objects.create(
        at=at,
        seq=seq,
        head_hash=head_hash,
        tree_size=frontier.size,
        root_hash=root,
        note=tree.sign(frontier.size, root, at),
    )


_renamed_logged_at: datetime.datetime | None = None


def _maybe_checkpoint(seq: int, head_hash: str, frontier: merkle.CompactRange) -> None:
    last = Checkpoint.objects.filter(is_purge_boundary=False).order_by("-id").values("at").first()
    if last is None or last["at"] < timezone.now() - CHECKPOINT_EVERY:
        try:
            _record_checkpoint(seq, head_hash, frontier)
        except RenamedLog as exc:
            # The links of this pass stay: only the checkpoint waits for the name. Said
            # once per checkpoint period and process, not at every pass.
            global _renamed_logged_at
            now = timezone.now()
            if _renamed_logged_at is None or now - _renamed_logged_at >= CHECKPOINT_EVERY:
                _renamed_logged_at = now
                log.error("%s", exc)


def sequence(*, wait: bool = True, batch: int = BATCH) -> int | None:
    """Link every committed audit row that has no link yet; return how many were linked,
    or None when another pass holds the chain's lock and WAIT is false.

    Each batch is one short transaction of its own under the chain's advisory lock: call it
    outside the transactions that write audit rows (the sequencer and the writers' step-in
    do). With WAIT false the lock is only tried: a writer never waits for a sequencer."""
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return total if total else None
            linked, caught_up = _link_batch(cursor, batch)
        total += linked
        if caught_up:
            return total


# -- verification -------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    links: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    tree_size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    pending: int = 0
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
    expect_note: str | None = None,
    chunk: int = 5000,
    progress: Callable[[str, int], Any] = lambda label, total: _NoProgress(),
) -> VerifyReport:
    """Recompute the whole chain and tree; list problems, the first broken link first.

    Every link's row is hashed again (the chain's HMAC and the tree's leaf); links of
    purged rows keep their leaf hash. Every stored tree node is compared, every recorded
    checkpoint's signature checked and its root recomputed, and each one is proved
    consistent with the previous one. EXPECT (SEQ:HASH of the chain) and EXPECT_NOTE (a
    signed checkpoint kept outside) catch a truncation that also removed the checkpoints."""
    report = VerifyReport()
    start = boundary()
    purged_through = start.seq if start else 0
    # Read in this order, the sequencer passing meanwhile: the checkpoints, then its tree,
    # then the links up to that tree's size (later ones are newer than what is verified).
    points = list(Checkpoint.objects.order_by("tree_size", "id"))
    recorded = [c for c in points if c.tree_size is not None and c.note]
    offset, stored_size, stored_frontier = tree.state()
    last_seq = offset + stored_size
    prev = start.head_hash if start else GENESIS
    expected_seq = offset + 1
    verifier = tree.verifier()
    outside = None
    if expect_note is not None:
        try:
            outside = notes.open_checkpoint(expect_note, verifier, origin=tree.origin())
        except notes.NoteError as exc:
            report.problems.append(f"the checkpoint given on the command line: {exc}")
    wanted = {c.tree_size for c in recorded} | ({outside.size} if outside else set())
    roots = {0: merkle.EMPTY_ROOT}
    stored_nodes = {
        (level, index): bytes(value)
        for level, index, value in TreeNode.objects.values_list("level", "index", "hash")
    }
    frontier = merkle.CompactRange()
    bar = progress(
        "Verifying the audit chain",
        ChainLink.objects.filter(seq__gt=offset, seq__lte=last_seq).count(),
    )
    cursor_seq = offset
    key = get_keyring().audit_key
    fields = ("seq", "source", "source_id", "prev_hash", "row_hash", "leaf_hash")
    while True:
        links = list(
            ChainLink.objects.filter(seq__gt=cursor_seq, seq__lte=last_seq)
            .order_by("seq")
            .values_list(*fields)[:chunk]
        )
        if not links:
            break
        rows = {
            source: _rows(source, [link[2] for link in links if link[1] == source])
            for source in SOURCES
        }
        for seq, source, source_id, prev_hash, row_hash, stored_leaf in links:
            name = f"link {seq} ({source} row {source_id})"
            leaf = bytes(stored_leaf)
            if seq != expected_seq:
                report.problems.append(
                    f"links {expected_seq} to {seq - 1} are missing (deleted from the chain)"
                )
            if seq > purged_through:
                if seq == expected_seq and prev_hash != prev:
                    report.problems.append(f"{name} does not follow the previous link")
                values = rows[source].get(source_id)
                if values is None:
                    report.problems.append(f"{name}: the row is missing (deleted)")
                else:
                    content = canonical(source, values)
                    if link_hash(prev_hash, source, values, key=key, content=content) != row_hash:
                        report.problems.append(f"{name}: the row was altered")
                    if merkle.leaf_hash(content) != leaf:
                        report.problems.append(f"{name}: its leaf hash in the tree was altered")
            for level, index, value in frontier.append(leaf):
                if level and level % tree.STRIDE == 0 and stored_nodes.get((level, index)) != value:
                    report.problems.append(f"tree node {index} at level {level} was altered")
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root()
            prev, expected_seq = row_hash, seq + 1
            report.links += 1
        cursor_seq = links[-1][0]
        bar.advance(len(links))
    bar.close()
    report.head_seq, report.head_hash = expected_seq - 1, prev
    report.tree_size, report.root = frontier.size, frontier.root()
    if (stored_size, stored_frontier.hashes) != (frontier.size, frontier.hashes):
        report.problems.append(
            f"the sequencer's tree ({stored_size} leaves) is not the tree of the links "
            f"({frontier.size} leaves)"
        )
    report.problems.extend(_check_points(recorded, roots, frontier.size, outside, verifier))
    report.checkpoints = len(recorded)
    anchors = [
        (c.seq, c.head_hash, f"checkpoint of {timezone.localtime(c.at):%d/%m/%Y %H:%M}")
        for c in points
        if not c.is_purge_boundary and c.seq > purged_through
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
    report.problems.extend(_unlinked_rows(start))
    if start is not None and not _purge_recorded(start):
        report.problems.append(
            f"the purge boundary at link {start.seq} has no purge event in the log after it: "
            "the rows before it may have been deleted by hand"
        )
    horizon = _horizon()
    report.pending = sum(len(_pending(source, horizon)) for source in SOURCES)
    return report


def verify_links_only() -> VerifyReport:
    """The chain's HMAC links alone, from the purge boundary on (gaps, order, rows): what
    the migration to the tree checks before hashing the links into leaves."""
    report = VerifyReport()
    start = boundary()
    expected_seq, prev = (start.seq + 1, start.head_hash) if start else (1, GENESIS)
    key = get_keyring().audit_key
    cursor_seq = expected_seq - 1
    while True:
        links = list(
            ChainLink.objects.filter(seq__gt=cursor_seq)
            .order_by("seq")
            .values_list("seq", "source", "source_id", "prev_hash", "row_hash")[:5000]
        )
        if not links:
            break
        rows = {
            source: _rows(source, [link[2] for link in links if link[1] == source])
            for source in SOURCES
        }
        for seq, source, source_id, prev_hash, row_hash in links:
            name = f"link {seq} ({source} row {source_id})"
            if seq != expected_seq:
                report.problems.append(f"links {expected_seq} to {seq - 1} are missing")
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
    for c in Checkpoint.objects.filter(
        is_purge_boundary=False, seq__gte=expected_seq - report.links
    ):
        at = ChainLink.objects.filter(seq=c.seq).values_list("row_hash", flat=True).first()
        if c.seq >= expected_seq or (at is not None and at != c.head_hash):
            report.problems.append(f"the chain differs from its checkpoint at link {c.seq}")
    return report


def _check_points(
    recorded: list[Checkpoint],
    roots: dict[int, bytes],
    size: int,
    outside: notes.Checkpoint | None,
    verifier: notes.Verifier,
) -> list[str]:
    """Each recorded checkpoint: signed by our key, its root the tree's at its size, and
    consistent with the previous one (a consistency proof from the stored tree, checked)."""
    problems = []
    stored = tree.StoredTree()
    previous: notes.Checkpoint | None = None
    for c in recorded:
        what = f"the checkpoint of {c.tree_size} leaves ({timezone.localtime(c.at):%d/%m/%Y %H:%M})"
        try:
            point = notes.open_checkpoint(c.note, verifier, origin=tree.origin())
        except notes.NoteError as exc:
            problems.append(f"{what}: {exc}")
            continue
        if point.size != c.tree_size or point.root != bytes(c.root_hash or b""):
            problems.append(f"{what}: its recorded size or root is not the signed one")
        if point.size > size:
            problems.append(
                f"the tree ends at {size} leaves but {what} signed {point.size}: "
                "its tail was truncated"
            )
        elif roots.get(point.size) != point.root:
            problems.append(f"{what}: the tree's root at that size is not the signed root")
        if previous is not None and previous.size > 0 and point.size <= size:
            try:
                proof = merkle.consistency_proof(previous.size, point.size, stored.subtree)
                merkle.verify_consistency(
                    previous.size, point.size, previous.root, point.root, proof
                )
            except merkle.ProofError as exc:
                problems.append(
                    f"{what} is not consistent with the checkpoint of {previous.size} leaves "
                    f"({exc})"
                )
        previous = point
    if outside is not None:
        if outside.size > size:
            problems.append(
                f"the tree ends at {size} leaves but the checkpoint given on the command line "
                f"signed {outside.size}: its tail was truncated"
            )
        elif roots.get(outside.size) != outside.root:
            problems.append(
                f"the tree's root at {outside.size} leaves differs from the checkpoint given "
                "on the command line"
            )
    return problems


def _purge_recorded(start: Checkpoint) -> bool:
    """A purge boundary stands only with the purge's own access event, linked after it (a
    boundary row inserted by hand would otherwise hide the deletion of the rows before)."""
    events = AccessEvent.objects.filter(
        action=AccessEvent.Action.AUDIT_PURGE, object_id__startswith=f"through link {start.seq},"
    ).values_list("id", flat=True)
    return ChainLink.objects.filter(
        source=ChainLink.Source.ACCESS, source_id__in=list(events), seq__gt=start.seq
    ).exists()


def unlinked_behind(source: str, ids: Iterable[int]) -> set[int]:
    """Those of IDS that no link covers although their transaction ended before the
    sequencer's horizon: rows that were never sequenced (inserted behind its back)."""
    model = SOURCES[source][0]
    linked = ChainLink.objects.filter(source=source, source_id=OuterRef("id"))
    behind = RawSQL("xid < %s::text::xid8", [str(_horizon())], output_field=BooleanField())
    return set(
        model.objects.filter(id__in=list(ids))
        .alias(behind=behind)
        .filter(behind=True)
        .filter(~Exists(linked))
        .values_list("id", flat=True)
    )


def _unlinked_rows(start: Checkpoint | None) -> list[str]:
    """Audit rows behind the sequencer's horizon that no link covers: inserted behind the
    application's back (rows at or after the horizon are pending, not suspect)."""
    problems = []
    writes_floor = (start.unlinked_writes_through or 0) if start else 0
    horizon = str(_horizon())
    for source, (model, _fields, _time) in SOURCES.items():
        floor = writes_floor if source == ChainLink.Source.WRITE else 0
        # NOT EXISTS (an anti-join on the link index), not NOT IN: on millions of rows the
        # latter cannot be hashed and turns quadratic.
        linked = ChainLink.objects.filter(source=source, source_id=OuterRef("id"))
        behind = RawSQL("xid < %s::text::xid8", [horizon], output_field=BooleanField())
        missing = list(
            model.objects.filter(id__gt=floor)
            .alias(behind=behind)
            .filter(behind=True)
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
    """Link what is pending, then record the current head and the signed checkpoint of the
    tree (print it too, and keep it outside the database)."""
    sequence()
    with transaction.atomic():
        lock()
        seq, head_hash = head()
        _offset, _size, frontier = tree.state()
        return _record_checkpoint(seq, head_hash, frontier)
