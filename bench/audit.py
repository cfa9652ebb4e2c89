"""Benchmark: the coordinator's audit page over N access events (default 5,000,000), filtered
by patient; audit_verify throughput.

Run with `make bench BENCH_ARGS="bench/audit.py --events 5000000"`. Events and their chain
links are written with COPY (bench database only), with real HMAC links and Merkle leaves
and nodes so that the chain and the tree verify; a second run reuses them.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.signals import request_started  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from usmp.audit import chain, merkle, tree  # noqa: E402
from usmp.audit.models import AccessEvent, ChainLink, SequencerState  # noqa: E402

COLUMNS = chain.ACCESS_FIELDS


def fill(target: int, patients: list[uuid.UUID], actors: list[int]) -> None:
    have = AccessEvent.objects.count()
    if have >= target:
        return
    print(f"generating {target - have} access events with their chain links (COPY)...")
    rng = random.Random(have)
    start_time = datetime.datetime(2021, 11, 1, tzinfo=datetime.UTC)
    span = (datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC) - start_time).total_seconds()
    with transaction.atomic():
        chain.lock()
        seq, prev = chain.head()
        tree_offset, _size, frontier = tree.state()
        next_id = (
            AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        ) + 1
        raw = connection.cursor().cursor
        t0 = time.perf_counter()
        batch = 200_000
        for offset in range(0, target - have, batch):
            n = min(batch, target - have - offset)
            events, links, nodes = [], [], []
            # Times increase with ids, as they do in production.
            base = start_time + datetime.timedelta(seconds=span * (have + offset) / target)
            step = span / target
            for i in range(n):
                values = {
                    "id": next_id,
                    "at": base
                    + datetime.timedelta(seconds=step * i, microseconds=rng.randrange(1000)),
                    "actor_id": rng.choice(actors),
                    "action": "dossier_view",
                    "outcome": "allowed" if rng.random() > 0.01 else "denied",
                    "patient_id": rng.choice(patients),
                    "compartment": rng.choice(["somatic", "somatic", "psychiatric"]),
                    "object_type": "",
                    "object_id": "",
                    "search_index": "",
                    "break_glass": rng.random() < 0.001,
                    "source_ip": None,
                }
                seq += 1
                content = chain.canonical("access", values)
                row_hash = chain.link_hash(prev, "access", values, content=content)
                leaf = merkle.leaf_hash(content)
                for level, index, value in frontier.append(leaf):
                    if level and level % tree.STRIDE == 0:
                        nodes.append((level, index, value))
                events.append([values[c] for c in COLUMNS])
                links.append((seq, "access", next_id, prev, row_hash, leaf))
                prev = row_hash
                next_id += 1
            with raw.copy(f"COPY audit_accessevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
            with raw.copy(
                "COPY audit_chainlink (seq, source, source_id, prev_hash, row_hash, leaf_hash) "
                "FROM STDIN"
            ) as copy:
                for row in links:
                    copy.write_row(row)
            with raw.copy("COPY audit_treenode (level, index, hash) FROM STDIN") as copy:
                for row in nodes:
                    copy.write_row(row)
            print(f"  {have + offset + n}/{target} ({time.perf_counter() - t0:.0f} s)")
        raw.execute(
            "SELECT setval(pg_get_serial_sequence('audit_accessevent', 'id'), %s)", [next_id]
        )
        SequencerState.objects.update_or_create(
            pk=1,
            defaults={
                "tree_offset": tree_offset,
                "tree_size": frontier.size,
                "frontier": frontier.packed(),
            },
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_accessevent; ANALYZE audit_chainlink;")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--patients", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group

    from dossiers.models import Patient
    from dossiers.services import patient_create
    from usmp.accounts.models import User

    coordinator, created = User.objects.get_or_create(username="bench-coordinator")
    if created:
        coordinator.groups.add(Group.objects.get(name="coordinator"))
    actors = list(User.objects.values_list("id", flat=True)[:40]) or [coordinator.pk]
    while Patient.objects.count() < 20:  # a few real patients, found by prison number
        n = Patient.objects.count()
        patient_create(
            acting_user=None, prison_number=f"77{n:05d}", last_name="Audit", first_name=f"Bench{chr(65 + n)}",
            birth_date=datetime.date(1980, 1, 1), sex="M", arrival_date=datetime.date(2025, 1, 1),
        )  # fmt: skip
    real = list(Patient.objects.order_by("created_at").values_list("id", flat=True)[:20])
    patients = real + [uuid.uuid4() for _ in range(args.patients - len(real))]
    fill(args.events, patients, actors)

    request_started.disconnect(reset_queries)
    client = Client(HTTP_HOST="localhost")
    client.force_login(coordinator)
    number = Patient.objects.select_related("identity_key").get(pk=real[3]).prison_number
    url = "/coordination/audit/"
    params = {"prison_number": number}
    assert client.get(url, params).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    query_count = len(queries)
    timings = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - t0) * 1000)
    assert response.status_code == 200
    import re
    from urllib.parse import unquote

    cursor = re.search(r"after=([^\"&]+)", response.content.decode())
    assert cursor, "no next page"
    t0 = time.perf_counter()
    older = client.get(url, {**params, "after": unquote(cursor.group(1))})
    print(f"next page: {(time.perf_counter() - t0) * 1000:.1f} ms")
    assert older.status_code == 200
    total = AccessEvent.objects.count()
    print(f"access events: {total}; events of the filtered patient: "
          f"{AccessEvent.objects.filter(patient_id=real[3]).count()}")  # fmt: skip
    print(f"audit page filtered by patient: median {statistics.median(timings):.1f} ms, "
          f"p95 {sorted(timings)[int(len(timings) * .95)]:.1f} ms, {query_count} queries")  # fmt: skip
    unfiltered = []
    for _ in range(10):
        t0 = time.perf_counter()
        client.get(url)
        unfiltered.append((time.perf_counter() - t0) * 1000)
    print(f"audit page unfiltered (newest): median {statistics.median(unfiltered):.1f} ms")
    if not args.skip_verify:
        t0 = time.perf_counter()
        report = chain.verify()
        elapsed = time.perf_counter() - t0
        print(
            f"audit_verify: {report.links} links in {elapsed:.1f} s = {report.links / elapsed:,.0f} rows/s, ok={report.ok}"
        )
        if not report.ok:
            print("  first problem:", report.problems[0])
    print(f"chain links: {ChainLink.objects.count()}")


if __name__ == "__main__":
    main()
