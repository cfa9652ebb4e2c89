"""Faults of the audit sequencer: kill -9 of ``manage.py audit_sequencer`` and of a gunicorn
worker whose step-in pass is linking a batch (real processes, the fault cluster on loopback).
The batch under way is rolled back whole, the batches before it stay, and after a restart
every committed audit row is a leaf exactly once and the audit verifies."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.utils import timezone

from tests.faults.cluster import Cluster
from tests.faults.harness import ROOT, Gunicorn, env, manage, sequence_and_verify
from usmp.audit.chain import LOCK_KEY

pytestmark = pytest.mark.faults

BACKLOG = 30_000

# Committed access events written outside any request, the step-in off: what a sequencer
# finds after an outage of its own (the rows wait, their writers never did).
WRITE_BACKLOG = f"""
from django.db import transaction
from usmp.audit.writer import write_event
for chunk in range({BACKLOG} // 1000):
    with transaction.atomic():
        for i in range(1000):
            write_event(actor=None, action="patient_view", object_type="faults",
                        object_id=f"backlog-{{chunk}}-{{i}}")
"""

SETUP_CLIENT = """
from appointments.services.custody import patient_admit
from bridge import services
from django.utils import timezone
from bridge.models import Scope
from usmp.accounts.models import User
coordinator, _ = User.objects.get_or_create(username="faults-sequencer-coordinator")
patient_admit(acting_user=None, prison_number="9300000", last_name="Pont", first_name="Essai",
              birth_date=timezone.localdate().replace(year=1975), sex="M",
              arrival_date=timezone.localdate().replace(day=1), ins=None)
issued = services.client_create(acting_user=coordinator, establishment="Maison d'arrêt de Démo",
    scopes=[Scope.CUSTODY_WRITE], allowed_networks=[], rate_limit_per_minute=10_000)
print(issued.token)
"""


def linked(cluster: Cluster) -> int:
    return cluster.query("SELECT count(*) FROM audit_chainlink")[0][0]


def pass_holder(cluster: Cluster) -> int | None:
    """The backend holding the chain's lock: a pass with a batch under way."""
    rows = cluster.query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = 0 AND objid = %s",
        [LOCK_KEY],
    )
    return rows[0][0] if rows else None


def kill_mid_batch(cluster: Cluster, process_id: int, *, timeout: float = 180) -> int:
    """Wait until a batch has committed and the next one holds the lock, then kill -9
    PROCESS_ID; return the links committed at that moment."""
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "no pass was seen mid-batch"
        done = linked(cluster)
        if done > 0 and pass_holder(cluster) is not None:
            os.kill(process_id, signal.SIGKILL)
            return done
        time.sleep(0.005)


def assert_each_row_a_leaf_once(cluster: Cluster) -> None:
    """Every committed audit row is linked exactly once, no link names a missing row, and the
    links are numbered 1..n with no gap (no batch half kept)."""
    for source, table in (("access", "audit_accessevent"), ("write", "auditlog_logentry")):
        unlinked_or_twice = cluster.query(
            f"SELECT count(*) FROM {table} r WHERE (SELECT count(*) FROM audit_chainlink c "  # noqa: S608
            f"WHERE c.source = %s AND c.source_id = r.id) <> 1",
            [source],
        )[0][0]
        assert unlinked_or_twice == 0, (source, unlinked_or_twice)
        orphans = cluster.query(
            f"SELECT count(*) FROM audit_chainlink c WHERE c.source = %s AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {table} r WHERE r.id = c.source_id)",
            [source],
        )[0][0]
        assert orphans == 0, (source, orphans)
    count, low, high = cluster.query("SELECT count(*), min(seq), max(seq) FROM audit_chainlink")[0]
    assert (low, high) == (1, count)


def wait_until_linked(cluster: Cluster, total: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while linked(cluster) < total:
        assert time.monotonic() < deadline, f"{linked(cluster)} of {total} rows linked"
        time.sleep(0.1)


def audit_rows(cluster: Cluster) -> int:
    return cluster.query(
        "SELECT (SELECT count(*) FROM audit_accessevent) + (SELECT count(*) FROM auditlog_logentry)"
    )[0][0]


def write_backlog(cluster: Cluster) -> int:
    result = manage(cluster, "shell", "-c", WRITE_BACKLOG)
    assert result.returncode == 0, result.stderr
    total = audit_rows(cluster)
    assert total - linked(cluster) >= BACKLOG
    return total


def test_kill_9_of_the_sequencer_mid_batch_loses_nothing(cluster):
    total = write_backlog(cluster)
    before = linked(cluster)
    command = [sys.executable, str(ROOT / "manage.py"), "audit_sequencer", "--batch", "2000"]
    sequencer = subprocess.Popen(
        command, env=env(cluster), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        cut = kill_mid_batch(cluster, sequencer.pid)
    finally:
        sequencer.kill()
        sequencer.wait()
    # The killed pass's batch is rolled back with its connection: only whole batches stay.
    deadline = time.monotonic() + 30
    while pass_holder(cluster) is not None:
        assert time.monotonic() < deadline, "the killed pass's lock was never released"
        time.sleep(0.05)
    kept = linked(cluster)
    assert before < kept < total, "the sequencer was not cut mid-way"
    assert kept >= cut  # the batches committed before the kill stay
    result = manage(cluster, "audit_verify")
    assert result.returncode == 0, result.stdout + result.stderr  # what is linked verifies
    # A sequencer started again links the rest (a loop, as docker-compose restarts it).
    sequencer = subprocess.Popen(
        command, env=env(cluster), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_linked(cluster, total)
    finally:
        sequencer.send_signal(signal.SIGTERM)
        sequencer.wait(timeout=60)
    assert sequencer.returncode == 0
    assert_each_row_a_leaf_once(cluster)
    sequence_and_verify(cluster)


def push(server: Gunicorn, token: str) -> int:
    """One custody event pushed: a request that writes audit rows, arming the step-in."""
    body = json.dumps(
        {"id": f"faults-seq-{uuid.uuid4().hex[:12]}", "prison_number": "9300000",
         "kind": "arrival", "date": timezone.localdate().isoformat()}
    )  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "POST", "/bridge/v1/custody-events", body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    status = conn.getresponse().status
    conn.close()
    return status


def test_kill_9_of_a_gunicorn_worker_mid_step_in_loses_nothing(cluster):
    """No sequencer runs: the worker that served a write steps in and links the backlog;
    killed mid-batch, the arbiter starts another worker, whose step-in links the rest."""
    result = manage(cluster, "shell", "-c", SETUP_CLIENT)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    write_backlog(cluster)
    server = Gunicorn(cluster, workers=1, FAULTS_STEP_IN="background")
    server.start()
    try:
        (worker,) = server.worker_pids()
        assert push(server, token) in (200, 201)
        cut = kill_mid_batch(cluster, worker)
        deadline = time.monotonic() + 60
        while not (pids := server.worker_pids()) or pids == [worker]:
            assert time.monotonic() < deadline, "the arbiter started no new worker"
            time.sleep(0.1)
        kept = linked(cluster)
        assert kept < audit_rows(cluster), "the worker's pass was not cut mid-way"
        assert kept >= cut
        # The next write to the new worker arms its step-in, which links everything.
        deadline = time.monotonic() + 60
        while True:
            try:
                assert push(server, token) in (200, 201)
                break
            except OSError:
                assert time.monotonic() < deadline, "the new worker never answered"
                time.sleep(0.2)
        wait_until_linked(cluster, audit_rows(cluster))
    finally:
        server.kill9()
    assert_each_row_a_leaf_once(cluster)
    sequence_and_verify(cluster)
