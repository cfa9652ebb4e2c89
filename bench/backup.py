"""Benchmark: `manage.py backup` and `manage.py restore_verify` on a generated unit.

Run with `make bench BENCH_ARGS="bench/backup.py --patients 100000 --appointments 1000000"`.
Patients (with their identity key, a somatic dossier and its key, every identity field
encrypted and every blind index computed) and appointments (one in ten with an encrypted
motive) are generated with bulk inserts in the bench database; a second run reuses them.
Prints the generation time, then the wall time and the process CPU of the backup and of
restore_verify, the dump's size and the verdict.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from appointments.models import Appointment, MovementPoint, Specialty  # noqa: E402
from dossiers.models import Dossier, Patient  # noqa: E402
from usmp.accounts.models import User  # noqa: E402
from usmp.crypto import aead  # noqa: E402
from usmp.crypto.keyring import get_keyring  # noqa: E402
from usmp.crypto.models import DataKey  # noqa: E402

BATCH = 5000
NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
FIRST = ["Jean", "Karim", "Lucas", "Hugo", "Yanis", "Paul", "Louis", "Nathan"]


def new_key(purpose: str) -> DataKey:
    keyring = get_keyring()
    key = DataKey(id=uuid.uuid4(), purpose=purpose, master_key_id=keyring.active_id)
    plain = os.urandom(32)
    key.wrapped_key = aead.wrap(keyring.active_key, keyring.active_id, plain, key.id)
    key._plain = plain
    return key


def generate_patients(target: int, rng: random.Random) -> None:
    have = Patient.objects.count()
    for start in range(have, target, BATCH):
        n = min(BATCH, target - start)
        keys, patients, dossiers = [], [], []
        for i in range(start, start + n):
            identity, somatic = new_key("identity"), new_key("somatic")
            keys += [identity, somatic]
            patient = Patient(
                identity_key=identity,
                prison_number=f"{50_000_000 + i}",
                last_name=rng.choice(NAMES),
                first_name=rng.choice(FIRST),
                birth_date=datetime.date(1960, 1, 1)
                + datetime.timedelta(days=rng.randrange(20000)),
                sex=rng.choice(["M", "F"]),
                ins=None,
                arrival_date=datetime.date(2025, 1, 1)
                + datetime.timedelta(days=rng.randrange(600)),
            )
            patient.compute_blind_indexes()
            patients.append(patient)
            dossiers.append(Dossier(patient=patient, compartment="somatic", data_key=somatic))
        with transaction.atomic():
            DataKey.objects.bulk_create(keys)
            Patient.objects.bulk_create(patients)
            Dossier.objects.bulk_create(dossiers)


def generate_appointments(target: int, rng: random.Random) -> None:
    """Nine in ten by one INSERT ... SELECT over generate_series (no motive), the rest through
    the ORM with an encrypted motive. Each patient's appointments fall on different days."""
    have = Appointment.objects.count()
    if have >= target:
        return
    specialty = Specialty.objects.filter(compartment="somatic").first()
    point = MovementPoint.objects.first()
    author = User.objects.first()
    if specialty is None or point is None or author is None:
        raise SystemExit("no specialty, movement point or user: run load_demo first")
    need = target - have
    with_motive = need // 10
    in_sql = need - with_motive
    day0 = datetime.datetime(2000, 1, 3, 8, tzinfo=datetime.UTC) + datetime.timedelta(
        days=have // 1000
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH d AS (SELECT patient_id, data_key_id, "
            "row_number() OVER (ORDER BY patient_id) - 1 AS n FROM dossiers_dossier "
            "WHERE compartment = 'somatic'), p AS (SELECT count(*) AS total FROM d) "
            "INSERT INTO appointments_appointment (id, patient_id, specialty_id, "
            'movement_point_id, kind, start, "end", status, data_key_id, reason, side, '
            "created_by_id, created_at, updated_at) "
            "SELECT gen_random_uuid(), d.patient_id, %s, %s, 'on_site', "
            "%s + (g / p.total) * interval '1 day' + (g %% 32) * interval '15 minutes', "
            "%s + (g / p.total) * interval '1 day' + (g %% 32 + 1) * interval '15 minutes', "
            "'done', d.data_key_id, '', '', %s, now(), now() "
            "FROM generate_series(0, %s - 1) AS g CROSS JOIN p JOIN d ON d.n = g %% p.total",
            [specialty.pk, point.pk, day0, day0, author.pk, in_sql],
        )
    dossiers = list(
        Dossier.objects.filter(compartment="somatic")
        .select_related("data_key")
        .order_by("patient_id")[:with_motive]
    )
    base = day0 + datetime.timedelta(days=in_sql // max(len(dossiers), 1) + 400)
    for start in range(0, with_motive, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, with_motive)):
            dossier = dossiers[i % len(dossiers)]
            begin = base + datetime.timedelta(days=i // len(dossiers))
            rows.append(
                Appointment(
                    patient_id=dossier.patient_id,
                    specialty=specialty,
                    movement_point=point,
                    start=begin,
                    end=begin + datetime.timedelta(minutes=15),
                    status="done",
                    data_key=dossier.data_key,
                    motive="Suivi",
                    created_by=author,
                )
            )
        Appointment.objects.bulk_create(rows)


def timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--appointments", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(16)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True)
    if not User.objects.exists():
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "load_demo"], check=True)
    t0 = time.perf_counter()
    generate_patients(args.patients, rng)
    generate_appointments(args.appointments, rng)
    print(
        f"unit: {Patient.objects.count()} patients, {Appointment.objects.count()} appointments, "
        f"{DataKey.objects.count()} data keys (generated in {time.perf_counter() - t0:.1f} s)"
    )
    target = Path(tempfile.mkdtemp(prefix="cloison-bench-backup-"))
    try:
        manage = [sys.executable, str(ROOT / "manage.py")]
        wall, cpu, result = timed([*manage, "backup", "--target", str(target)])
        if result.returncode:
            print(result.stderr[-2000:])
            return 1
        (made,) = target.iterdir()
        size = (made / "database.dump").stat().st_size
        print(
            f"backup: {wall:.1f} s wall, {cpu:.1f} s CPU (command + pg_dump), dump {size / 1e6:.1f} MB"
        )
        wall, cpu, result = timed([*manage, "restore_verify", str(made)])
        print(f"restore_verify: {wall:.1f} s wall, {cpu:.1f} s CPU (command + pg_restore + check)")
        print(result.stdout.strip())
        return result.returncode
    finally:
        shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
