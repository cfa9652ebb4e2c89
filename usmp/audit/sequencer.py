"""The sequencer: links committed audit rows into the chain, so that no writer ever does.

Writers only INSERT their rows (``writer.write_event``, django-auditlog). A sequencer loop
(``manage.py audit_sequencer``, a thread under ``make run``'s server and the test suite's
live server, a service of docker-compose) runs ``chain.sequence`` every ``INTERVAL``. Where
none runs (one gunicorn, no extra process), a committing writer arms a background step-in:
at most once per half bound and per process, a thread tries the chain's lock (a try, never a
wait) and makes the pass if no sequencer has caught up within half the bound.

``USMP_AUDIT_SEQUENCE_BOUND`` (seconds, default 2) is the promise: a committed row is linked
within it. ``status`` reports the rows committed and still waiting past it (``/healthz``,
``audit_verify``).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from . import chain
from .models import SequencerState

log = logging.getLogger(__name__)

# Between two passes of a sequencer loop: well under the bound, cheap when idle (one query).
INTERVAL = 0.2


def bound() -> float:
    return float(getattr(settings, "USMP_AUDIT_SEQUENCE_BOUND", 2.0))


# -- the loop ---------------------------------------------------------------------------------


class Loop:
    """Passes every INTERVAL until ``stop`` is set; each pass is ``chain.sequence`` with the
    lock only tried, so several loops (or a loop and a writer's step-in) never wait on one
    another."""

    def __init__(self, *, interval: float = INTERVAL, batch: int = chain.BATCH) -> None:
        self.interval, self.batch = interval, batch
        self.stopping = threading.Event()
        self.linked = 0
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                pause = self.interval
                try:
                    self.linked += chain.sequence(wait=False, batch=self.batch) or 0
                except Exception:  # a lost database: retried, once a second at most
                    log.exception("audit sequencer pass failed")
                    connections.close_all()
                    pause = max(pause, 1.0)
                self.stopping.wait(max(0.0, pause - (time.monotonic() - started)))
        finally:
            connections.close_all()

    def start(self) -> Loop:
        """Run the loop in a daemon thread of this process."""
        self.thread = threading.Thread(target=self.run, name="audit-sequencer", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)


# -- the writers' step-in ---------------------------------------------------------------------


class _StepIn:
    """Per process: after commits that wrote audit rows, one background thread at a time.
    It wakes half the bound after the earliest commit not yet covered and makes a pass
    unless one has begun since that commit (a sequencer's: then it costs one query)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_dirty: float | None = None  # monotonic time of that commit
        self.thread: threading.Thread | None = None

    def after_commit(self) -> None:
        if getattr(settings, "USMP_AUDIT_WRITER_STEP_IN", "background") == "off":
            return
        with self.lock:
            if self.first_dirty is None:
                self.first_dirty = time.monotonic()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="audit-step-in", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                with self.lock:
                    if self.first_dirty is None:
                        self.thread = None
                        return
                    since = self.first_dirty
                    wake = since + bound() / 2
                time.sleep(max(0.0, wake - time.monotonic()))
                with self.lock:
                    self.first_dirty = None  # later commits arm the next attempt
                try:
                    outcome = step_in(since=time.monotonic() - since)
                except Exception:  # logged; tried again after the next commit
                    log.exception("audit step-in failed")
                    outcome = "failed"
                if outcome == "busy":
                    # Another pass holds the lock and may have begun before our commit.
                    time.sleep(INTERVAL)
                    with self.lock:
                        self.first_dirty = since if self.first_dirty is None else self.first_dirty
        finally:
            connections.close_all()

    def join(self, timeout: float = 30) -> None:
        """Wait until no attempt is armed (tests)."""
        deadline = time.monotonic() + timeout
        while self.thread is not None and time.monotonic() < deadline:
            time.sleep(0.01)


_step_in = _StepIn()


def step_in(*, since: float = 0.0) -> str:
    """Make a pass for rows committed SINCE seconds ago, unless a pass has caught up since
    then ("covered") or another pass holds the chain's lock ("busy"); never waits. "done"
    otherwise. Only the database's clock is compared with itself."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT caught_up_at >= statement_timestamp() - make_interval(secs => %s) "
            "FROM audit_sequencerstate WHERE id = 1",
            [since],
        )
        row = cursor.fetchone()
    if row is not None and row[0]:
        return "covered"
    return "busy" if chain.sequence(wait=False) is None else "done"


def schedule() -> None:
    """Called when a transaction writes audit rows: arm the step-in for after its commit
    (once per transaction). The commit itself never waits for it."""
    if any(entry[1] == _step_in.after_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(_step_in.after_commit, robust=True)


def join_step_in(timeout: float = 30) -> None:
    _step_in.join(timeout)


# -- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    pending: int  # committed rows without a link
    overdue: int  # of which written before the bound while no pass caught up within it
    caught_up_at: datetime.datetime | None

    @property
    def behind(self) -> bool:
        return self.overdue > 0


def status(*, limit: int = 100_000) -> Status:
    """Rows committed and not linked yet, and those waiting past the bound: written more
    than the bound ago while no pass has caught up within it (a sequencer alive links
    everything committed at its next pass, however old the row's transaction). Counts,
    at most LIMIT per source, in four queries at most."""
    state = SequencerState.objects.filter(pk=1).values_list("horizon", "caught_up_at").first()
    horizon, caught_up_at = state if state is not None else (0, None)
    limit_at = timezone.now() - datetime.timedelta(seconds=bound())
    stale = caught_up_at is None or caught_up_at < limit_at
    pending = overdue = 0
    for source, (_model, _fields, time_field) in chain.SOURCES.items():
        waiting = chain.pending_query(source, int(horizon))
        pending += waiting[:limit].count()
        if stale:
            overdue += waiting.filter(**{f"{time_field}__lt": limit_at})[:limit].count()
    return Status(pending=pending, overdue=overdue, caught_up_at=caught_up_at)
