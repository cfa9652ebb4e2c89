"""The first day's import of a legacy file: every line through the product's services, in
batches whose commit also advances the run's position, so that an interrupted import resumes
where its last commit left it and a finished one is never run twice.

- Each line is written in its own savepoint: a refused line writes nothing, and never half
  a patient; bad lines never stop the good ones.
- A dry run is the same run in one transaction rolled back at the end: its report is what
  the real run would do, within the file too (a number repeated, a patient booked twice).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .lines import ACCEPTED, DUPLICATE, REFUSED, Outcome, References, appointment_line, patient_line
from .models import LISTED_LINES_MAX, ImportLine, ImportRun
from .sources import KIND_ORDER, Source, Table

if TYPE_CHECKING:
    from usmp.accounts.models import User

logger = logging.getLogger(__name__)

# A batch commits after this many accepted lines (what an interruption may make the next run
# redo), this many lines whatever their outcome, or this long.
BATCH_WRITES = 100
BATCH_LINES = 5000
BATCH_SECONDS = 1.0

REQUIRED_PERMISSION = {
    ImportRun.Kind.PATIENTS: "dossiers.add_patient",
    ImportRun.Kind.APPOINTMENTS: "appointments.add_appointment",
}


class RunBusy(Exception):
    """Another import of the same file moved the run's position meanwhile."""


@dataclass
class TableReport:
    """What one table of a file gave: counts, and the lines not accepted (line, outcome)."""

    filename: str
    sheet: str
    kind: str
    dry_run: bool
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    resumed_from: int = 0
    already_done_at: datetime.datetime | None = None
    lines: list[tuple[int, Outcome]] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.accepted + self.duplicates + self.refused


def check_acting_user(user: User, kinds: set[str]) -> None:
    """The account the rows are written as must be allowed to register patients and to
    book, as in the pages."""
    if not user.is_active:
        raise PermissionDenied(
            _("The account %(login)s is deactivated.") % {"login": user.username}
        )
    for kind in sorted(kinds):
        if not user.has_perm(REQUIRED_PERMISSION[ImportRun.Kind(kind)]):
            raise PermissionDenied(
                _("The account %(login)s may not create %(what)s.")
                % {"login": user.username, "what": ImportRun.Kind(kind).label}
            )


def import_sources(
    sources: list[Source],
    *,
    acting_user: User,
    dry_run: bool,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> list[TableReport]:
    """Import every table of SOURCES, the patients of every file before any appointment,
    and report on each. A dry run is one transaction over them all, rolled back: the
    appointments see the patients the same run would have created."""
    tables = sorted(
        ((source, table) for source in sources for table in source.tables),
        key=lambda pair: KIND_ORDER.index(pair[1].kind),
    )
    check_acting_user(acting_user, {table.kind for _source, table in tables})
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        reports = [
            _import_table(
                source, table, acting_user=acting_user, dry_run=dry_run, on_progress=on_progress
            )
            for source, table in tables
        ]
        if dry_run:
            transaction.set_rollback(True)
    return reports


def _import_table(
    source: Source,
    table: Table,
    *,
    acting_user: User,
    dry_run: bool,
    on_progress: Callable[[str, int, int], None] | None,
) -> TableReport:
    run, _created = ImportRun.objects.get_or_create(
        digest=source.digest,
        sheet=table.sheet,
        kind=table.kind,
        defaults={"filename": source.name[:255], "acting_user": acting_user},
    )
    report = TableReport(source.name, table.sheet, table.kind, dry_run)
    if run.finished_at is not None:
        report.already_done_at = run.finished_at
        return _stored(run, report)
    report.resumed_from = run.position
    references = References()
    handle: Callable[[dict[str, str]], Outcome]
    if table.kind == ImportRun.Kind.PATIENTS:

        def handle(values: dict[str, str]) -> Outcome:
            return patient_line(values, acting_user=acting_user)

    else:

        def handle(values: dict[str, str]) -> Outcome:
            return appointment_line(values, acting_user=acting_user, references=references)

    rows = iter(table.rows(skip=run.position))
    done = run.position
    exhausted = False
    while not exhausted:
        # One transaction per batch: its lines' writes (each in its own savepoint) commit
        # with the position that says they are done, or none of them does.
        with transaction.atomic():
            batch: list[tuple[int, Outcome]] = []
            started = time.monotonic()
            writes = 0
            for line, values in rows:
                outcome = _line_outcome(handle, line, values)
                batch.append((line, outcome))
                writes += outcome.status == ACCEPTED
                if (
                    writes >= BATCH_WRITES
                    or len(batch) >= BATCH_LINES
                    or time.monotonic() - started >= BATCH_SECONDS
                ):
                    break
            else:
                exhausted = True
            _commit(run, batch, finish=exhausted)
        done += len(batch)
        if on_progress is not None:
            on_progress(_label(source, table), done, table.rows_total)
    run.refresh_from_db()
    return _stored(run, report)


def _label(source: Source, table: Table) -> str:
    return f"{source.name} {table.sheet} ({table.kind})".replace("  ", " ")


def _line_outcome(
    handle: Callable[[dict[str, str]], Outcome], line: int, values: dict[str, str] | str
) -> Outcome:
    """The line's outcome, its writes in a savepoint of their own: nothing of a line that
    fails is kept, whatever the failure."""
    if isinstance(values, str):
        return Outcome(REFUSED, "unreadable_line", values)
    try:
        with transaction.atomic():
            return handle(values)
    except (DatabaseError, ValueError, TypeError, OverflowError) as exc:
        # Neither the message nor the traceback: a database error may quote the row.
        logger.error("import_legacy: line %d failed (%s)", line, type(exc).__name__)
        return Outcome(
            REFUSED,
            "unexpected_error",
            _("unexpected error (%(error)s): nothing of this line was written.")
            % {"error": type(exc).__name__},
        )


def _commit(run: ImportRun, batch: list[tuple[int, Outcome]], *, finish: bool = False) -> None:
    """Count BATCH's outcomes and list those not accepted, and advance the run's position,
    in the batch's transaction."""
    counts = {ACCEPTED: 0, DUPLICATE: 0, REFUSED: 0}
    for _line, outcome in batch:
        counts[outcome.status] += 1
    listed = run.duplicates + run.refused
    room = max(LISTED_LINES_MAX - listed, 0)
    rows: list[ImportLine] = []
    for line, outcome in batch:
        if outcome.status == ACCEPTED:
            continue
        if len(rows) >= room:
            break
        rows.append(
            ImportLine(
                run=run,
                line=line,
                outcome=outcome.status,
                code=outcome.code[:40],
                column=outcome.column[:40],
                message=outcome.message,
            )
        )
    expected = run.position
    run.position += len(batch)
    run.accepted += counts[ACCEPTED]
    run.duplicates += counts[DUPLICATE]
    run.refused += counts[REFUSED]
    fields = ["position", "accepted", "duplicates", "refused"]
    if finish:
        run.finished_at = timezone.now()
        fields.append("finished_at")
    _locked_position(run.pk, expected)
    ImportLine.objects.bulk_create(rows)
    run.save(update_fields=fields)


def _locked_position(run_id: int, expected: int) -> None:
    position = (
        ImportRun.objects.select_for_update()
        .filter(pk=run_id)
        .values_list("position", flat=True)
        .get()
    )
    if position != expected:
        raise RunBusy(_("Another import of this file is under way: try again once it ends."))


def _stored(run: ImportRun, report: TableReport) -> TableReport:
    report.accepted, report.duplicates, report.refused = run.accepted, run.duplicates, run.refused
    report.lines = [
        (row.line, Outcome(row.outcome, row.code, row.message, row.column))
        for row in run.lines.all().order_by("line", "id")
    ]
    return report
