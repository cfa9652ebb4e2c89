"""Benchmark: opening a dossier with 500 entries, and the cost of one access event.

Run with `make bench BENCH_ARGS="bench/dossier_open.py"`. Uses the separate `bench` database.
Measures the dossier page through Django's test client (the whole view: access check, access
event, timeline query, decryption of every entry, template rendering), the share of that
time spent decrypting, and an access event alone.
"""

from __future__ import annotations

import argparse
import os
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
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from dossiers.access import dossier as dossier_access  # noqa: E402
from dossiers.models import Compartment, Dossier, Entry  # noqa: E402
from dossiers.permissions import dossier_access_for  # noqa: E402
from dossiers.services import entry_create, patient_create  # noqa: E402
from usmp.access import record  # noqa: E402
from usmp.accounts.models import User  # noqa: E402
from usmp.audit.models import AccessEvent  # noqa: E402
from usmp.audit.writer import write_event  # noqa: E402


def setup(entries: int) -> tuple[User, Dossier]:
    from django.contrib.auth.models import Group

    user, created = User.objects.get_or_create(username="bench-physician")
    if created:
        user.groups.add(Group.objects.get(name="physician"))
    marker = f"Bench{entries}"
    import datetime

    from dossiers.selectors import patient_by_prison_number

    patient = patient_by_prison_number(f"99{entries:06d}")
    if patient is None:
        patient = patient_create(
            acting_user=user,
            prison_number=f"99{entries:06d}",
            last_name=marker,
            first_name="Bench",
            birth_date=datetime.date(1980, 1, 1),
            sex="M",
            arrival_date=datetime.date(2025, 1, 1),
        )
    dossier = Dossier.objects.select_related("patient__identity_key", "data_key").get(
        patient=patient, compartment=Compartment.SOMATIC
    )
    have = Entry.objects.filter(dossier=dossier).count()
    access = dossier_access_for(user, dossier)
    text = "Consultation de suivi. " * 30  # ~700 characters, a realistic note
    with transaction.atomic():
        for i in range(have, entries):
            entry_create(acting_user=user, access=access, kind="consultation", text=f"{i} {text}")
    return user, dossier


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, dossier = setup(args.entries)
    # Django empties the query log at each request start: keep it for the count below.
    from django.core.signals import request_started
    from django.db import reset_queries

    request_started.disconnect(reset_queries)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = f"/patients/{dossier.patient_id}/dossiers/somatic/"
    assert client.get(url).status_code == 200  # warm-up
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    query_count = len(queries)  # now: later requests empty the log it reads
    page = timed(lambda: client.get(url), args.runs)

    # Decryption of a full page of the timeline, as the view does it (one data key).
    from dossiers.selectors import TIMELINE_PAGE_SIZE, dossier_timeline, with_dossier_key

    def decrypt_all() -> None:
        for entry in with_dossier_key(dossier_timeline(dossier)[:TIMELINE_PAGE_SIZE], dossier):
            entry.text  # noqa: B018
        dossier.data_key.__dict__.pop("_plain", None)
        dossier.data_key.__dict__.pop("_cipher", None)

    def load_only() -> None:
        list(with_dossier_key(dossier_timeline(dossier)[:TIMELINE_PAGE_SIZE], dossier))

    decrypt = [
        a - b
        for a, b in zip(timed(decrypt_all, args.runs), timed(load_only, args.runs), strict=True)
    ]

    def one_event() -> None:
        with transaction.atomic():
            write_event(
                actor=user,
                action=AccessEvent.Action.DOSSIER_VIEW,
                patient_id=dossier.patient_id,
                compartment="somatic",
            )

    event = timed(one_event, args.runs * 10)
    original = record.allowed
    with_event, without = [], []
    for _ in range(args.runs):  # interleaved, so that drift affects both alike
        with_event += timed(lambda: client.get(url), 1)
        dossier_access.record.allowed = lambda *args, **kwargs: None  # type: ignore[assignment]
        without += timed(lambda: client.get(url), 1)
        dossier_access.record.allowed = original

    med = statistics.median
    print(f"dossier with {Entry.objects.filter(dossier=dossier).count()} entries, {args.runs} runs")
    print(
        f"  page: median {med(page):.1f} ms, p95 {sorted(page)[int(len(page) * 0.95)]:.1f} ms, {query_count} queries"
    )
    print(
        f"  decrypting every entry: median {med(decrypt):.1f} ms ({100 * med(decrypt) / med(page):.0f}% of the page)"
    )
    print(f"  access event alone (insert, own transaction): median {med(event):.3f} ms")
    print(
        f"  page with / without its access event (interleaved): {med(with_event):.1f} / "
        f"{med(without):.1f} ms (difference {med(with_event) - med(without):+.2f} ms)"
    )


if __name__ == "__main__":
    main()
