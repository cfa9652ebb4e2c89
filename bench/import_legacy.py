"""Benchmark: manage.py import_legacy of N patients (default 100,000), in rows per second.

Run with `make bench BENCH_ARGS="bench/import_legacy.py --patients 100000"`. It creates a
scratch database `bench_import` (dropped first), migrates it, writes a CSV file of N invented
patients (1 % bad lines), then times the command, and as a baseline the service alone
(`patient_admit` in a loop, the same fields, no file, no run record) on the first
--baseline patients of another series: the ratio is what the import adds.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")
# Django keeps every query under DEBUG: not what a production import does.
os.environ["DEBUG"] = "0"

SYLLABLES = ["ba", "cor", "da", "fen", "gal", "lor", "mi", "nar", "po", "ri", "sa", "tel", "vo"]


def word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(n)).capitalize()


def write_file(path: Path, count: int, prefix: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("numero_ecrou;nom;prenom;date_naissance;sexe;date_arrivee;ins\n")
        for i in range(count):
            birth = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2004)}"
            if i % 100 == 99:
                birth = "31/02/1990"
            fh.write(f"{prefix + i};{word(rng, 3)};{word(rng, 2)};{birth};M;01/10/2025;\n")


def scratch_database(name: str) -> None:
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    args = parser.parse_args()
    scratch_database("bench_import")

    import django

    django.setup()
    from django.core.management import call_command

    from appointments.services.custody import patient_admit
    from dossiers.models import Patient
    from tests.factories import make_user

    call_command("migrate", verbosity=0)
    clerk = make_user("secretary")
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patients.csv"
        write_file(path, args.patients, 10_000_000, rng)
        size = path.stat().st_size
        started, cpu = time.perf_counter(), time.process_time()
        call_command("import_legacy", str(path), "--user", clerk.username, stdout=io.StringIO())
        wall, client_cpu = time.perf_counter() - started, time.process_time() - cpu
    imported = Patient.objects.count()

    import datetime

    started = time.perf_counter()
    for i in range(args.baseline):
        patient_admit(
            acting_user=clerk,
            prison_number=str(20_000_000 + i),
            last_name=word(rng, 3),
            first_name=word(rng, 2),
            birth_date=datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20_000)),
            sex="M",
            arrival_date=datetime.date(2025, 10, 1),
            ins=None,
        )
    base = (time.perf_counter() - started) / args.baseline
    rate = args.patients / wall
    print(f"file: {args.patients} lines, {size / 1e6:.1f} MB; imported {imported} patients")
    print(
        f"import_legacy: {wall:.1f} s, {rate:.0f} rows/s "
        f"({client_cpu / args.patients * 1e3:.2f} ms of this process's CPU per row)"
    )
    print(
        f"baseline patient_admit alone: {base * 1e3:.2f} ms per patient ({1 / base:.0f}/s); "
        f"import/baseline time per row: {(wall / args.patients) / base:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
