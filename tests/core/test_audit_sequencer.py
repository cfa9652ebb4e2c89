"""The audit sequencer: writers never wait, every committed row is linked exactly once, no
rolled-back row is, a long transaction holds nobody back, a killed sequencer loses nothing."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client

from tests.factories import make_patient, make_user
from usmp.audit import chain, sequencer
from usmp.audit.models import AccessEvent, ChainLink, SequencerState
from usmp.audit.writer import write_event

ROOT = Path(__file__).resolve().parents[2]
A = AccessEvent.Action
# CLOISON_LONG_TESTS=1 runs the full size (16 writers x 500 events).
LONG = os.environ.get("CLOISON_LONG_TESTS") == "1"


class Rollback(Exception):
    pass


def linked_access_ids() -> list[int]:
    return list(
        ChainLink.objects.filter(source=ChainLink.Source.ACCESS).values_list("source_id", flat=True)
    )


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def raw_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})


@pytest.mark.django_db(transaction=True)
def test_sixteen_writers_with_rollbacks_and_delays_leave_each_committed_row_once(settings):
    """16 threads write events, a fifth rolled back, some commits delayed; a sequencer loop
    and the writers' own step-in race for the lock meanwhile (try-locks: nobody waits)."""
    settings.USMP_AUDIT_WRITER_STEP_IN = "background"
    per_writer = 500 if LONG else 60
    users = [make_user("nurse") for _ in range(16)]
    committed: list[int] = []
    rolled_back: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)
    record_lock = threading.Lock()

    def writer(n: int, user) -> None:
        rng = random.Random(n)
        try:
            barrier.wait()
            for i in range(per_writer):
                rollback = rng.random() < 0.2
                event_id = None
                try:
                    with transaction.atomic():
                        event_id = write_event(
                            actor=user, action=A.DOSSIER_VIEW, object_id=f"w{n}-{i}"
                        ).pk
                        if rng.random() < 0.3:
                            time.sleep(rng.uniform(0, 0.01))  # a page rendering slowly
                        if rollback:
                            raise Rollback
                except Rollback:
                    pass
                with record_lock:
                    (rolled_back if rollback else committed).append(event_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    loop = sequencer.Loop(interval=0.05, batch=200).start()
    threads = [threading.Thread(target=writer, args=(n, u)) for n, u in enumerate(users)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        loop.stop()
        sequencer.join_step_in()
    assert errors == []
    assert len(committed) + len(rolled_back) == 16 * per_writer
    assert rolled_back and committed
    assert loop.linked > 0  # the loop linked rows while the writers were at work
    chain.sequence()  # whatever the last commits left
    linked = linked_access_ids()
    assert len(linked) == len(set(linked))  # once each
    assert set(linked) == set(committed) == set(AccessEvent.objects.values_list("id", flat=True))
    assert not set(rolled_back) & set(linked)
    report = chain.verify()
    assert report.ok and report.pending == 0, report.problems[:3]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_open_for_ten_seconds_holds_no_one_back_and_is_linked_after_it_commits():
    nurse, physician = make_user("nurse"), make_user("physician")
    recorded, finished, errors = threading.Event(), threading.Event(), []

    def long_page() -> None:
        try:
            with transaction.atomic():
                write_event(actor=nurse, action=A.DOSSIER_VIEW, object_id="held")
                recorded.set()
                time.sleep(10)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            finished.set()
            connections.close_all()

    loop = sequencer.Loop(interval=0.05).start()
    holder = threading.Thread(target=long_page)
    holder.start()
    try:
        assert recorded.wait(10)
        with connection.cursor() as cursor:
            # Waiting on any lock fails here instead of hanging: nobody may wait.
            cursor.execute("SET lock_timeout = '1s'")
        others = [
            write_event(actor=physician, action=A.PATIENT_VIEW, object_id=f"other{i}").pk
            for i in range(20)
        ]
        make_patient()  # a write-history row too
        assert wait_until(lambda: set(others) <= set(linked_access_ids()), 5)
        assert not finished.is_set()  # linked while the long transaction is still open
        assert ChainLink.objects.filter(source=ChainLink.Source.WRITE).exists()
        assert not AccessEvent.objects.filter(object_id="held").exists()  # not committed yet
        holder.join(30)
        assert errors == []
        held = AccessEvent.objects.get(object_id="held").pk
        assert wait_until(lambda: held in linked_access_ids(), sequencer.bound())
    finally:
        loop.stop()
        holder.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    report = chain.verify()
    assert report.ok and report.pending == 0, report.problems[:3]


def _subprocess_env() -> dict[str, str]:
    db = connection.settings_dict
    host = f"{db['HOST']}:{db['PORT'] or 5432}" if db["HOST"] else ""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "usmp.settings_test"
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{host}/{db['NAME']}"
    return env


BACKLOG = (
    "INSERT INTO audit_accessevent (at, action, outcome, compartment, object_type, object_id, "
    "search_index, break_glass, purpose, count) SELECT clock_timestamp(), 'patient_view', "
    "'allowed', '', '', 'backlog-' || g, '', false, '', 1 FROM generate_series(1, %s) g"
)


@pytest.mark.django_db(transaction=True)
def test_kill_9_of_the_sequencer_mid_batch_loses_nothing():
    with connection.cursor() as cursor:
        cursor.execute(BACKLOG, [20_000])
    command = [sys.executable, str(ROOT / "manage.py"), "audit_sequencer"]
    process = subprocess.Popen(
        [*command, "--batch", "100", "--interval", "0.05"],
        env=_subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_until(lambda: len(linked_access_ids()) >= 1000, 60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == -signal.SIGKILL
    done = len(linked_access_ids())
    assert 1000 <= done < 20_000, "the sequencer was not killed mid-backlog"
    # What it committed is a valid prefix; the rest waits, none is lost.
    report = chain.verify()
    assert report.ok and report.pending == 20_000 - done, report.problems[:3]
    restarted = subprocess.run(
        [*command, "--once"], env=_subprocess_env(), capture_output=True, text=True, timeout=120
    )
    assert restarted.returncode == 0, restarted.stderr
    assert f"Linked {20_000 - done} audit row(s)." in restarted.stdout
    assert sorted(linked_access_ids()) == list(
        AccessEvent.objects.order_by("id").values_list("id", flat=True)
    )
    report = chain.verify()
    assert report.ok and report.pending == 0, report.problems[:3]
    assert len(linked_access_ids()) == 20_000


def test_sequencer_command_refuses_bad_options(db):
    from django.core.management import CommandError

    for args in (["--interval", "0"], ["--interval", "60"], ["--batch", "0"]):
        with pytest.raises(CommandError):
            call_command("audit_sequencer", *args)


@pytest.mark.django_db(transaction=True)
def test_writers_step_in_when_no_sequencer_runs(settings):
    settings.USMP_AUDIT_WRITER_STEP_IN = "background"
    settings.USMP_AUDIT_SEQUENCE_BOUND = 0.4
    nurse = make_user("nurse")
    events = [write_event(actor=nurse, action=A.PATIENT_VIEW).pk for _ in range(5)]
    with transaction.atomic():  # one attempt armed per transaction, after its commit
        events += [write_event(actor=nurse, action=A.PATIENT_VIEW).pk for _ in range(3)]
    assert wait_until(lambda: set(events) <= set(linked_access_ids()), 5)
    sequencer.join_step_in()
    assert chain.verify().ok


@pytest.mark.django_db(transaction=True)
def test_step_in_leaves_a_live_sequencer_alone_and_never_waits_for_the_lock():
    write_event(actor=None, action=A.LOGIN_FAILED, outcome="denied")
    assert chain.sequence() >= 1
    assert sequencer.step_in(since=1) == "covered"  # a pass has caught up since
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_sequencerstate SET caught_up_at = now() - interval '1 hour'")
    write_event(actor=None, action=A.LOGIN_FAILED, outcome="denied")
    holder = raw_connection()
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [chain.LOCK_KEY])
        started = time.monotonic()
        assert sequencer.step_in(since=1) == "busy"
        assert time.monotonic() - started < 1  # a try, not a wait
        assert len(linked_access_ids()) == 1
    finally:
        holder.close()
    assert sequencer.step_in(since=1) == "done"
    assert len(linked_access_ids()) == 2


@pytest.mark.django_db
def test_rows_waiting_past_the_bound_are_reported_by_verify_and_healthz():
    chain.sequence()  # the rows of the test database's creation
    with connection.cursor() as cursor:
        # The sequencer stopped an hour ago.
        cursor.execute("UPDATE audit_sequencerstate SET caught_up_at = now() - interval '1 hour'")
        cursor.execute(BACKLOG.replace("clock_timestamp()", "now() - interval '10 seconds'"), [3])
        cursor.execute(BACKLOG, [2])  # written just now: pending, not overdue
    waiting = sequencer.status()
    assert (waiting.pending, waiting.overdue, waiting.behind) == (5, 3, True)
    health = Client().get("/healthz")
    assert health.status_code == 200
    assert json.loads(health.content) == {
        "status": "ok",
        "audit_sequencer": "behind",
        "audit_unsequenced_overdue": 3,
    }
    out, err = io.StringIO(), io.StringIO()
    call_command("audit_verify", stdout=out, stderr=err)
    assert "5 row(s) await their link" in out.getvalue()
    assert "3 committed row(s) unsequenced beyond the 2 s bound" in err.getvalue()
    chain.sequence()
    assert SequencerState.objects.get().caught_up_at is not None
    assert sequencer.status() == sequencer.Status(
        pending=0, overdue=0, caught_up_at=SequencerState.objects.get().caught_up_at
    )
    assert json.loads(Client().get("/healthz").content)["audit_sequencer"] == "ok"


def test_the_live_server_runs_a_sequencer(live_server):
    # An anonymous refusal (no session) is an access event written by the server's thread.
    url = f"{live_server.url}/patients/"
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=10)  # noqa: S310 - the test server, loopback
    assert wait_until(lambda: AccessEvent.objects.exists(), 5)
    assert wait_until(
        lambda: set(AccessEvent.objects.values_list("id", flat=True)) <= set(linked_access_ids()),
        sequencer.bound() + 1,
    )


WRITER = """
import sys
from django.db import transaction
from usmp.audit.writer import write_event
for i in range(200):
    with transaction.atomic():
        write_event(actor=None, action="patient_view", object_id=f"killed-{i}")
print("committed", flush=True)
sys.stdin.read()  # the step-in is armed for later: killed before it runs
"""


@pytest.mark.django_db(transaction=True)
def test_kill_9_of_a_writer_between_its_commits_and_their_sequencing_loses_nothing():
    env = {
        **_subprocess_env(),
        "USMP_AUDIT_WRITER_STEP_IN": "background",
        "USMP_AUDIT_SEQUENCE_BOUND": "60",
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "shell", "--no-imports", "-c", WRITER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "committed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    written = set(
        AccessEvent.objects.filter(object_id__startswith="killed-").values_list("id", flat=True)
    )
    assert len(written) == 200
    assert not written & set(linked_access_ids())  # the writer died before its step-in
    loop = sequencer.Loop(interval=0.05).start()  # the sequencer, restarted
    try:
        assert wait_until(lambda: written <= set(linked_access_ids()), 10)
    finally:
        loop.stop()
    assert chain.verify().ok
