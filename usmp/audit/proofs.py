"""Inclusion proofs of access events, and the offline check of a report that carries them.

A report is proved against one signed checkpoint: each line carries its event's leaf (the
canonical row, as hashed into the tree), its index and its inclusion proof. ``check_report``
needs only the report and the log's public key: it opens the checkpoint, recomputes each
leaf's hash, verifies its proof against the signed root, and compares the line as printed
with the leaf.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass
from typing import Any

from . import chain, merkle, notes, tree
from .models import ChainLink, Checkpoint

REPORT_FORMAT = "cloison-access-report/1"


@dataclass(frozen=True)
class Proved:
    """One access event as the tree holds it: its leaf (canonical row), its index and its
    inclusion proof in the checkpoint's tree; index None if it is not in that tree."""

    event_id: int
    leaf: str
    index: int | None
    proof: tuple[str, ...]


def prove_events(event_ids: list[int], point: Checkpoint) -> dict[int, Proved]:
    """Inclusion proofs of access events in the tree of checkpoint POINT (a few queries per
    256 leaves, the tree's tiles shared across lines)."""
    rows = chain._rows(ChainLink.Source.ACCESS, event_ids)
    links = dict(
        ChainLink.objects.filter(
            source=ChainLink.Source.ACCESS, source_id__in=event_ids
        ).values_list("source_id", "seq")
    )
    stored = tree.StoredTree()
    size = point.tree_size or 0
    proved = {}
    for event_id in event_ids:
        values = rows.get(event_id)
        if values is None:
            continue
        leaf = chain.canonical(ChainLink.Source.ACCESS, values).decode()
        seq = links.get(event_id)
        index = None if seq is None else seq - 1 - stored.offset
        proof: tuple[str, ...] = ()
        if index is not None and 0 <= index < size:
            path = merkle.inclusion_proof(index, size, stored.subtree)
            proof = tuple(base64.b64encode(h).decode() for h in path)
        else:
            index = None
        proved[event_id] = Proved(event_id, leaf, index, proof)
    return proved


# -- the offline check ----------------------------------------------------------------------


class ReportError(ValueError):
    """A report file that is not one (what the check cannot even start on)."""


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return base64.b64decode(value, validate=True)


@dataclass(frozen=True)
class ReportCheck:
    checkpoint: notes.Checkpoint
    lines: int
    problems: tuple[str, ...]


def _same_time(printed: Any, logged: Any) -> bool:
    try:
        return datetime.datetime.fromisoformat(printed) == datetime.datetime.fromisoformat(logged)
    except (TypeError, ValueError):
        return False


def check_report(document: Any, verifier: notes.Verifier) -> ReportCheck:
    """Check a report (parsed JSON) with the log's public key alone."""
    if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
        raise ReportError(f"not a Cloison access report (format {REPORT_FORMAT!r})")
    note, lines = document.get("checkpoint"), document.get("lines")
    if not isinstance(note, str) or not isinstance(lines, list):
        raise ReportError("the report has no checkpoint or no lines")
    try:
        point = notes.open_checkpoint(note, verifier)
    except notes.NoteError as exc:
        raise ReportError(f"its checkpoint: {exc}") from None
    patient_id = document.get("patient_id")
    problems = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            problems.append(f"line {number}: not a report line")
            continue
        name = f"line {number} ({line.get('at', '?')}, {line.get('action', '?')})"
        index, leaf = line.get("leaf_index"), line.get("leaf")
        if not isinstance(index, int) or not isinstance(leaf, str):
            problems.append(f"{name}: its event is not in the log of the checkpoint")
            continue
        try:
            proof = [_b64(h) for h in line.get("proof") or []]
            merkle.verify_inclusion(
                index, point.size, merkle.leaf_hash(leaf.encode()), proof, point.root
            )
        except (ValueError, binascii.Error) as exc:
            problems.append(f"{name}: its event is not the one in the log ({exc})")
            continue
        try:
            logged = json.loads(leaf)
        except ValueError:
            problems.append(f"{name}: its event is not readable")
            continue
        if not isinstance(logged, dict):
            problems.append(f"{name}: its event is not readable")
            continue
        differs = [
            field
            for field, same in (
                ("source", logged.get("source") == ChainLink.Source.ACCESS),
                ("patient", logged.get("patient_id") == patient_id),
                ("time", _same_time(line.get("at"), logged.get("at"))),
                ("action", line.get("action") == logged.get("action")),
                ("outcome", line.get("outcome") == logged.get("outcome")),
                ("compartment", line.get("compartment") == logged.get("compartment")),
                ("emergency access", line.get("break_glass") == logged.get("break_glass")),
            )
            if not same
        ]
        if differs:
            problems.append(f"{name}: differs from its event in the log ({', '.join(differs)})")
    return ReportCheck(point, len(lines), tuple(problems))
