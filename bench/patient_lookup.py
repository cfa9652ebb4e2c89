"""Benchmark: patient lookup by prison number among N patients (default 100,000).

Run with `make bench BENCH_ARGS="bench/patient_lookup.py --patients 100000"`. It fills a
dedicated `bench` database once (re-used on later runs), then measures the selector that the
search page uses (blind index computation + indexed query + decryption of the row), and prints
the median and p95 server-side times and the query plan.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from dossiers.models import Patient, prison_number_index  # noqa: E402
from dossiers.selectors import PatientQuery, patient_search  # noqa: E402
from usmp.crypto import aead  # noqa: E402
from usmp.crypto.fields import encrypted_fields  # noqa: E402
from usmp.crypto.keyring import get_keyring  # noqa: E402
from usmp.crypto.models import DataKey  # noqa: E402


def build(i: int, rng: random.Random) -> tuple[DataKey, Patient]:
    """A data key and a patient exactly as the service writes them, without saving."""
    keyring = get_keyring()
    plain = secrets.token_bytes(32)
    key = DataKey(purpose=DataKey.Purpose.IDENTITY, master_key_id=keyring.active_id)
    key.wrapped_key = aead.wrap(keyring.active_key, keyring.active_id, plain, key.id)
    key._plain = plain
    patient = Patient(
        identity_key=key,
        prison_number=f"{1_000_000 + i}",
        last_name=f"Nom{rng.randint(0, 20_000)}",
        first_name=f"Prenom{rng.randint(0, 500)}",
        birth_date=datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20_000)),
        sex="M",
        arrival_date=datetime.date(2025, 1, 1),
    )
    patient.compute_blind_indexes()
    for field in encrypted_fields(Patient):
        patient.__dict__[field.attname] = field.pre_save(patient, add=True)
    return key, patient


def fill(target: int) -> None:
    """Top the bench database up to TARGET patients. bulk_create skips django-auditlog: fine
    for a throw-away bench database, never for the product."""
    have = Patient.objects.count()
    if have >= target:
        return
    print(f"generating {target - have} patients (kept in the bench database for later runs)")
    rng = random.Random(have)
    start = time.perf_counter()
    for chunk in range(have, target, 5000):
        pairs = [build(i, rng) for i in range(chunk, min(chunk + 5000, target))]
        with transaction.atomic():
            DataKey.objects.bulk_create([k for k, _ in pairs])
            Patient.objects.bulk_create([p for _, p in pairs])
        print(f"  {chunk + len(pairs)}/{target} ({time.perf_counter() - start:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dossiers_patient; ANALYZE crypto_datakey;")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    fill(args.patients)
    rng = random.Random(7)
    numbers = [f"{1_000_000 + rng.randrange(args.patients)}" for _ in range(args.lookups)]
    for number in numbers[:50]:  # warm-up
        patient_search(PatientQuery(prison_number=number))
    timings = []
    for number in numbers:
        t0 = time.perf_counter()
        found = patient_search(PatientQuery(prison_number=number))
        found[0].last_name  # noqa: B018 - include the decryption of a displayed field
        timings.append((time.perf_counter() - t0) * 1000)
        assert found[0].prison_number == number
    timings.sort()
    print(f"patients: {Patient.objects.count()}, lookups: {len(timings)}")
    print(
        f"median {statistics.median(timings):.3f} ms, p95 {timings[int(len(timings) * 0.95)]:.3f} ms"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN ANALYZE SELECT * FROM dossiers_patient p JOIN crypto_datakey k "
            "ON k.id = p.identity_key_id WHERE p.prison_number_bidx = %s LIMIT 50",
            [prison_number_index(numbers[0])],
        )
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
