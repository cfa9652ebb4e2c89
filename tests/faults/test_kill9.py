"""Faults: kill -9 of PostgreSQL, gunicorn and the writers in the middle of patient admissions,
bookings, note writes, bridge pushes, key rotation and a first-day import, on a cluster of their own (tests/faults/cluster.py). After restart:
every write the client saw confirmed is there, nothing is half there, every value decrypts,
the sequencer links the committed but unsequenced audit rows and the audit verifies,
rotate_keys resumes and completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from dossiers.models import prison_number_index
from tests.faults.cluster import Cluster
from tests.faults.harness import ROOT, Gunicorn, env, manage, sequence_and_verify
from usmp.crypto.keyring import add_master_key

pytestmark = pytest.mark.faults


class Writer:
    """The worker process, its lines collected as they come."""

    def __init__(self, cluster: Cluster, prefix: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "worker.py"), prefix, "1000000"],
            env=env(cluster), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.split())

    def wait_for(self, status: str, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for line in list(self.lines) if line[0] == status) < n:
            assert time.monotonic() < deadline, f"{n} {status} lines expected: {self.lines[-5:]}"
            assert self.process.poll() is None, "the writer died"
            time.sleep(0.05)

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.thread.join(5)

    def seen(self, status: str, kind: str) -> set[str]:
        return {line[2] for line in self.lines if line[0] == status and line[1] == kind}


def test_kill_9_of_postgresql_and_of_the_writer_mid_writes_loses_no_confirmed_write(cluster):
    writer = Writer(cluster, "7")
    try:
        writer.wait_for("OK", 30)
        cluster.kill9()  # PostgreSQL dies under the writer's transactions
        writer.wait_for("FAIL", 3)
        cluster.start()  # crash recovery
        ok_before = sum(1 for line in writer.lines if line[0] == "OK")
        writer.wait_for("OK", ok_before + 30)
    finally:
        writer.kill9()  # and the writer dies mid-write
    assert writer.seen("FAIL", "patient") | writer.seen("FAIL", "entry"), "nothing was cut"

    patients = {row[0] for row in cluster.query("SELECT prison_number_bidx FROM dossiers_patient")}
    entries = {str(row[0]) for row in cluster.query("SELECT id FROM dossiers_entry")}
    # Every confirmed write is there.
    for number in writer.seen("OK", "patient"):
        assert prison_number_index(number) in patients, number
    assert writer.seen("OK", "entry") <= entries
    # Nothing is half there: every patient has both dossiers, its visit tasks' transaction
    # and its write history; a write seen failing is either whole or absent.
    incomplete = cluster.query(
        "SELECT p.id FROM dossiers_patient p WHERE (SELECT count(*) FROM dossiers_dossier d "
        "WHERE d.patient_id = p.id) <> (SELECT count(*) FROM dossiers_dossier d "
        "WHERE d.patient_id = (SELECT id FROM dossiers_patient LIMIT 1))"
    )
    assert incomplete == []
    unlogged = cluster.query(
        "SELECT p.id FROM dossiers_patient p WHERE NOT EXISTS (SELECT 1 FROM auditlog_logentry "
        "l WHERE l.object_pk = p.id::text AND l.action = 0)"
    )
    assert unlogged == []
    # A series of four is booked whole or not at all; every confirmed one is there.
    series = dict(
        cluster.query(
            "SELECT p.prison_number_bidx, count(a.id) FROM dossiers_patient p "
            "LEFT JOIN appointments_appointment a ON a.patient_id = p.id "
            "AND a.kind = 'extraction' GROUP BY p.prison_number_bidx"
        )
    )
    assert set(series.values()) <= {0, 4}, series
    assert writer.seen("OK", "booking"), "no booking was confirmed"
    for number in writer.seen("OK", "booking"):
        assert series[prison_number_index(number)] == 4, number
    # Every stored value decrypts (no torn ciphertext), and the audit verifies once the
    # sequencer has linked what was committed but not yet linked.
    pending = cluster.query(
        "SELECT count(*) FROM auditlog_logentry l WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_chainlink c WHERE c.source = 'write' AND c.source_id = l.id)"
    )[0][0]
    assert pending > 0, "the test left nothing for the sequencer to pick up"
    result = manage(cluster, "rotate_keys", "--verify-only")
    assert result.returncode == 0, result.stderr
    sequence_and_verify(cluster)


def test_kill_9_of_rotate_keys_and_of_postgresql_then_rotate_keys_resumes(cluster):
    writer = Writer(cluster, "8")
    try:
        writer.wait_for("OK", 60)
    finally:
        writer.kill9()
    keyring = add_master_key(settings.USMP_KEYRING, "m2")
    rotation = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "rotate_keys", "--batch-size", "1"],
        env=env(cluster, FAULTS_KEYRING=keyring), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    total = cluster.query("SELECT count(*) FROM crypto_datakey")[0][0]
    deadline = time.monotonic() + 120
    while cluster.query("SELECT count(*) FROM crypto_datakey WHERE master_key_id = 'm2'")[0][0] < 5:
        assert time.monotonic() < deadline and rotation.poll() is None
        time.sleep(0.02)
    cluster.kill9()  # PostgreSQL first, then the rotation itself
    rotation.send_signal(signal.SIGKILL)
    rotation.wait()
    cluster.start()
    done = cluster.query("SELECT count(*) FROM crypto_datakey WHERE master_key_id = 'm2'")[0][0]
    assert 5 <= done < total, "the rotation was not interrupted mid-way"
    result = manage(cluster, "rotate_keys", "--batch-size", "50", FAULTS_KEYRING=keyring)
    assert result.returncode == 0, result.stderr
    assert "Verified" in result.stdout
    assert cluster.query("SELECT count(*) FROM crypto_datakey WHERE master_key_id <> 'm2'") == [
        (0,)
    ]
    sequence_and_verify(cluster)


SETUP_BRIDGE = """
from appointments.services.custody import patient_admit
from bridge import services
from bridge.models import Scope
from django.utils import timezone
from usmp.accounts.models import User
coordinator = User.objects.create(username="faults-coordinator")
for i in range(20):
    patient_admit(acting_user=None, prison_number=f"{9_100_000 + i}", last_name="Pont",
                  first_name="Essai", birth_date=timezone.localdate().replace(year=1975),
                  sex="M", arrival_date=timezone.localdate().replace(day=1), ins=None)
issued = services.client_create(acting_user=coordinator, establishment="Maison d'arrêt de Démo",
    scopes=[Scope.CUSTODY_WRITE], allowed_networks=[], rate_limit_per_minute=10_000)
print(issued.token)
"""


def test_kill_9_of_gunicorn_and_of_postgresql_mid_pushes_what_the_client_saw_is_stored(cluster):
    import http.client
    import json
    import uuid

    from django.utils import timezone

    result = manage(cluster, "shell", "-c", SETUP_BRIDGE)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    server = Gunicorn(cluster)
    server.start()
    seen: dict[str, list[str]] = {"ok": [], "refused": [], "cut": []}
    stop = threading.Event()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            ref = f"faults-{n}-{i}-{uuid.uuid4().hex[:6]}"
            body = json.dumps(
                {"id": ref, "prison_number": f"{9_100_000 + (n * 7 + i) % 20}",
                 "kind": "arrival", "date": timezone.localdate().isoformat()}
            )  # fmt: skip
            i += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                conn.request(
                    "POST", "/bridge/v1/custody-events", body=body,
                    headers={"Authorization": f"Bearer {token}",
                             "Content-Type": "application/json"},
                )  # fmt: skip
                status = conn.getresponse().status
                conn.close()
            except OSError:
                seen["cut"].append(ref)
                time.sleep(0.05)
                continue
            seen["ok" if status in (200, 201) else "refused"].append(ref)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()

    def wait_ok(n: int) -> None:
        deadline = time.monotonic() + 120
        while len(seen["ok"]) < n:
            assert time.monotonic() < deadline, seen["refused"][-3:]
            time.sleep(0.05)

    try:
        wait_ok(40)
        server.kill9()  # the application server dies with requests in flight
        time.sleep(0.5)
        server.start()
        wait_ok(len(seen["ok"]) + 40)
        cluster.kill9()  # then PostgreSQL under the workers
        time.sleep(0.5)
        cluster.start()
        wait_ok(len(seen["ok"]) + 40)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        if server.process is not None:
            server.kill9()
    assert seen["cut"] or seen["refused"], "no request was cut"
    stored = {row[0] for row in cluster.query("SELECT client_ref FROM appointments_custodyevent")}
    # Every push the client saw accepted is stored; none it saw refused (a 5xx while the
    # database was down) is, and a cut one is whole or absent (its access event with it).
    assert set(seen["ok"]) <= stored
    assert not set(seen["refused"]) & stored
    orphans = cluster.query(
        "SELECT e.client_ref FROM appointments_custodyevent e WHERE e.client_ref LIKE 'faults-%%' "
        "AND NOT EXISTS (SELECT 1 FROM audit_accessevent a WHERE a.object_id LIKE "
        "'%%' || e.client_ref || '%%')"
    )
    assert orphans == []
    sequence_and_verify(cluster)


SETUP_IMPORTER = """
from django.contrib.auth.models import Group
from usmp.accounts.models import User
user = User.objects.create(username="faults-importer")
user.groups.add(Group.objects.get(name="secretary"))
"""
IMPORT_ROWS = 600


def _letters(n: int) -> str:
    """A first name for line N (names take letters only)."""
    word = ""
    for _ in range(3):
        n, r = divmod(n, 26)
        word += chr(ord("a") + r)
    return "Ligne" + word


def _import(cluster: Cluster, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "import_legacy", str(path),
         "--user", "faults-importer"],
        env=env(cluster), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        start_new_session=True,
    )  # fmt: skip


def _imported(cluster: Cluster) -> int:
    return cluster.query(
        "SELECT count(*) FROM dossiers_patient WHERE prison_number_bidx = ANY(%s)",
        [[prison_number_index(str(6_200_000 + i)) for i in range(IMPORT_ROWS)]],
    )[0][0]


def test_kill_9_of_postgresql_and_of_import_legacy_then_the_import_resumes_whole(cluster, tmp_path):
    result = manage(cluster, "shell", "-c", SETUP_IMPORTER)
    assert result.returncode == 0, result.stderr
    source = tmp_path / "patients.csv"
    rows = ["numero_ecrou;nom;prenom;date_naissance;sexe;date_arrivee;ins"]
    rows += [
        f"{6_200_000 + i};Reprise;{_letters(i)};{1 + i % 28:02d}/{1 + i // 28 % 12:02d}/"
        f"{1950 + i // 336};M;02/11/2026;"
        for i in range(IMPORT_ROWS)
    ]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    importing = _import(cluster, source)
    deadline = time.monotonic() + 300
    while _imported(cluster) < 60:
        assert importing.poll() is None, importing.communicate()
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.05)
    cluster.kill9()  # PostgreSQL under the import's batch, then the import itself
    os.killpg(importing.pid, signal.SIGKILL)
    importing.wait()
    cluster.start()
    cut = _imported(cluster)
    assert 0 < cut < IMPORT_ROWS, "the import was not interrupted mid-way"
    # Never half a patient: every imported one has its two dossiers and its write history.
    half = cluster.query(
        "SELECT p.id FROM dossiers_patient p WHERE (SELECT count(*) FROM dossiers_dossier d "
        "WHERE d.patient_id = p.id) <> 2 OR NOT EXISTS (SELECT 1 FROM auditlog_logentry l "
        "WHERE l.object_pk = p.id::text AND l.action = 0)"
    )
    assert half == []
    resumed = _import(cluster, source)
    _out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert _imported(cluster) == IMPORT_ROWS  # each line once: none lost, none twice
    again = _import(cluster, source)
    _out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert _imported(cluster) == IMPORT_ROWS  # a finished file changes nothing
    sequence_and_verify(cluster)
