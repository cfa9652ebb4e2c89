"""Benchmark: the day view and the dossier page against bare templates rendering the same rows.

Run with `make bench BENCH_ARGS="bench/pages.py"` (options: --iterations, --appointments,
--notes, --profile). It uses the separate `bench` database:

- the agenda bench's unit (bench/agenda.py's generator: 1,000,000 appointments over 5 years
  by default, filled once and re-used; `--appointments 100000` for a smaller history, the
  measured day keeps its 400 appointments);
- one patient whose somatic dossier holds 500 notes (--notes), written with bulk_create.

Data is made only with bulk_create of models and the agenda bench's generator, and pages are
reached only through their URLs with Django's test Client (users logged in with force_login),
so that the bench survives a rewrite of the views behind them.

In one run, interleaved (every iteration requests each case once, in a rotating order, so that
machine noise hits all cases alike), it measures:

- a bare Django JSON view (same Client, middleware and session): the floor of the stack;
- a bare template (string template, no inheritance, only {% for %} and variables) rendering the
  day's 400 appointments (time, patient name and prison number, specialty, practitioner, room,
  status) from precomputed plain dicts, served through the same Client; also rendered alone;
- the day view /agenda/?date=<the day> as a physician and as a secretary;
- a bare template rendering the dossier page's 50 notes (author, date, kind, text), likewise;
- the dossier page (first page: 50 of 500 notes) as a physician.

It prints, per case, the median and p95 wall time, the CPU time per request of this process
(the test Client runs the view in-process: that is the server's Python) and of its PostgreSQL
backend (/proc), the query count, and the ratios to the bare template of the same rows. It
also counts the access events each page writes per request. The bench's own views are added
to a URLconf of its own (the product has no such URLs).

Settings are the production ones (DEBUG off, so no query log and no template debug), with the
test host allowed and no HTTPS redirect. On a shared machine, read the ratios, not the lone
absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import importlib.util
import io
import os
import pstats
import re
import statistics
import sys
import time
import types
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    DEBUG="0", ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0"
)


def _load_agenda_bench() -> Any:
    """bench/agenda.py as a module (it sets Django up on import)."""
    spec = importlib.util.spec_from_file_location("bench_agenda", ROOT / "bench" / "agenda.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


agenda = _load_agenda_bench()
# Production settings without collectstatic: whitenoise's warning says nothing about the bench.
warnings.filterwarnings("ignore", message="No directory at")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import clear_url_caches, path, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments import clock  # noqa: E402
from appointments.models import Appointment  # noqa: E402
from dossiers.models import Compartment, Dossier, Entry, EntryKind, Patient  # noqa: E402
from usmp.accounts.models import User  # noqa: E402
from usmp.accounts.roles import Role  # noqa: E402
from usmp.audit.models import AccessEvent  # noqa: E402
from usmp.crypto.models import DataKey  # noqa: E402

DOSSIER_PRISON_NUMBER = "99200500"
PAGE_NOTES = 50  # the dossier page's first page
NOTE_FILLER = "Consultation de suivi. " * 30  # ~700 characters, a realistic note

BARE_DAY = engines["django"].from_string(
    "<table>{% for r in rows %}<tr><td>{{ r.time }}</td><td>{{ r.patient }} "
    "{{ r.prison_number }}</td><td>{{ r.specialty }}</td><td>{{ r.practitioner }}</td>"
    "<td>{{ r.room }}</td><td>{{ r.status }}</td></tr>\n{% endfor %}</table>"
)
BARE_NOTES = engines["django"].from_string(
    "<ol>{% for n in notes %}<li><p>{{ n.kind }} {{ n.date }} {{ n.author }}</p>"
    "<div>{{ n.text }}</div></li>\n{% endfor %}</ol>"
)


# -- data -------------------------------------------------------------------------------------


def user_with_role(username: str, role: str, first_name: str, last_name: str) -> Any:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username=username, first_name=first_name, last_name=last_name
        )
        user.groups.add(Group.objects.get(name=role))
    return user


def dossier_with_notes(author: Any, notes: int) -> Dossier:
    """A patient of its own whose somatic dossier holds NOTES notes, one every 6 hours back
    from now, of varied kinds (bulk_create: no auditlog rows, fine for a bench database)."""
    probe = Patient(
        prison_number=DOSSIER_PRISON_NUMBER,
        last_name="Banc-Dossier",
        first_name="Patient",
        birth_date=datetime.date(1980, 1, 1),
        sex="M",
        arrival_date=datetime.date(2020, 1, 1),
    )
    probe.compute_blind_indexes()
    patient = Patient.objects.filter(prison_number_bidx=probe.prison_number_bidx).first()
    if patient is None:
        identity = agenda._key(DataKey.Purpose.IDENTITY)
        probe.identity_key = identity
        agenda._seal(probe)
        keys = [agenda._key(c.value) for c in Compartment]
        with transaction.atomic():
            DataKey.objects.bulk_create([identity, *keys])
            Patient.objects.bulk_create([probe])
            Dossier.objects.bulk_create(
                [
                    Dossier(patient=probe, compartment=c, data_key=k)
                    for c, k in zip(Compartment, keys, strict=True)
                ]
            )
        patient = probe
    dossier = Dossier.objects.select_related("data_key").get(
        patient=patient, compartment=Compartment.SOMATIC
    )
    have = Entry.objects.filter(dossier=dossier).count()
    if have < notes:
        print(f"writing {notes - have} notes into the bench dossier")
        now = timezone.now()
        kinds = [EntryKind.CONSULTATION, EntryKind.NURSING, EntryKind.OBSERVATION]
        rows = []
        for i in range(have, notes):
            when = now - datetime.timedelta(hours=6 * (notes - i))
            entry = Entry(
                dossier=dossier,
                data_key=dossier.data_key,
                kind=kinds[i % len(kinds)],
                text=f"Note {i:04d} du banc. {NOTE_FILLER}",
                author=author,
                created_at=when,
                occurred_at=when,
            )
            agenda._seal(entry)
            rows.append(entry)
        with transaction.atomic():
            Entry.objects.bulk_create(rows)
    return dossier


def day_rows(day: datetime.date) -> list[dict[str, str]]:
    """The day's appointments as plain, already formatted strings, read from the models."""
    start, end = clock.day_bounds(day)
    rows = []
    appointments = (
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .select_related("patient__identity_key", "specialty", "practitioner", "room")
        .order_by("start")
    )
    for a in appointments:
        practitioner = a.practitioner
        rows.append(
            {
                "time": f"{timezone.localtime(a.start):%H:%M}\u2013{timezone.localtime(a.end):%H:%M}",
                "patient": f"{a.patient.last_name.upper()} {a.patient.first_name}",
                "prison_number": a.patient.prison_number,
                "specialty": a.specialty.name,
                "practitioner": (practitioner.get_full_name() or practitioner.username)
                if practitioner
                else "",
                "room": a.room.name if a.room else "",
                "status": str(a.get_status_display()),
            }
        )
    return rows


def note_rows(dossier: Dossier) -> list[dict[str, str]]:
    """The dossier page's first page of notes (newest first) as plain strings."""
    entries = (
        Entry.objects.filter(dossier=dossier)
        .select_related("author", "data_key")
        .order_by("-occurred_at", "-created_at")[:PAGE_NOTES]
    )
    return [
        {
            "kind": str(e.get_kind_display()),
            "date": f"{timezone.localtime(e.occurred_at):%d/%m/%Y %H:%M}",
            "author": e.author.get_full_name() or e.author.username,
            "text": e.text,
        }
        for e in entries
    ]


# -- the bench's own views ----------------------------------------------------------------------

BARE_JSON_PATH = "/bench-bare-json"
BARE_DAY_PATH = "/bench-bare-day"
BARE_NOTES_PATH = "/bench-bare-notes"


def mount_bench_views(day: list[dict[str, str]], notes: list[dict[str, str]]) -> None:
    """A URLconf of the bench: its bare views in front of the product's URLs. They require
    a login like the pages (same session and user loading, same middleware)."""
    import usmp.urls

    def bare_json(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True, "items": list(range(20))})

    def bare_day(request: HttpRequest) -> HttpResponse:
        return HttpResponse(BARE_DAY.render({"rows": day}))

    def bare_notes(request: HttpRequest) -> HttpResponse:
        return HttpResponse(BARE_NOTES.render({"notes": notes}))

    module = types.ModuleType("bench_pages_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path(BARE_JSON_PATH.lstrip("/"), bare_json),
        path(BARE_DAY_PATH.lstrip("/"), bare_day),
        path(BARE_NOTES_PATH.lstrip("/"), bare_notes),
        *usmp.urls.urlpatterns,
    ]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(usmp.urls, name))
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()


# -- measuring --------------------------------------------------------------------------------


def backend_cpu_reader() -> tuple[int, Callable[[], float]]:
    """This connection's PostgreSQL backend pid, and a function returning the CPU seconds it
    used so far (Linux /proc: schedstat, in nanoseconds, else stat, in clock ticks; NaN
    elsewhere)."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    schedstat, stat = Path(f"/proc/{pid}/schedstat"), Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def read() -> float:
        try:
            return int(schedstat.read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            pass
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / tick

    return pid, read


@dataclass
class Case:
    label: str
    run: Callable[[], Any]
    baseline: str = ""  # label of the bare case it is compared with
    http: bool = True
    check: Callable[[bytes], str] | None = None  # returns a warning, or ""
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    pg: list[float] = field(default_factory=list)
    queries: int | None = None
    events: Counter[str] = field(default_factory=Counter)


def get(client: Client, url: str) -> Callable[[], Any]:
    def run() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"bench: {url} answered {response.status_code}")
        return response

    return run


def all_present(what: str, needles: list[str]) -> Callable[[bytes], str]:
    def check(body: bytes) -> str:
        html = body.decode("utf-8")
        missing = [n for n in needles if n not in html]
        if not missing:
            return ""
        return f"{len(missing)} of the {len(needles)} {what} are missing from the page"

    return check


def access_events() -> Counter[str]:
    return Counter(
        {
            f"{row['action']}/{row['outcome']}": row["n"]
            for row in AccessEvent.objects.values("action", "outcome").annotate(n=Count("id"))
        }
    )


def probe(case: Case) -> None:
    """One request outside the timings: its query count, the access events it wrote and the
    sanity check of its content."""
    before = access_events()
    with CaptureQueriesContext(connection) as ctx:
        result = case.run()
    case.queries = len(ctx.captured_queries) if case.http else 0
    case.events = access_events() - before
    if case.check is not None:
        body = result.content if hasattr(result, "content") else result.encode()
        warning = case.check(body)
        if warning:
            print(f"WARNING {case.label}: {warning}")


def measure(cases: list[Case], iterations: int, pg_cpu: Callable[[], float]) -> None:
    for i in range(iterations):
        shift = i % len(cases)
        for case in cases[shift:] + cases[:shift]:
            pg0, cpu0, t0 = pg_cpu(), time.process_time(), time.perf_counter()
            case.run()
            t1, cpu1, pg1 = time.perf_counter(), time.process_time(), pg_cpu()
            case.wall.append((t1 - t0) * 1000)
            case.cpu.append((cpu1 - cpu0) * 1000)
            case.pg.append((pg1 - pg0) * 1000)
        if (i + 1) % 10 == 0 or i + 1 == iterations:
            print(f"  iteration {i + 1}/{iterations}", flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def report(cases: list[Case]) -> None:
    by_label = {c.label: c for c in cases}
    print()
    print(
        "| case | median ms | p95 ms | CPU ms/request (Python + PostgreSQL) | queries "
        "| xbare (median / CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for c in cases:
        median = statistics.median(c.wall)
        cpu, pg = statistics.fmean(c.cpu), statistics.fmean(c.pg)
        ratio = ""
        if c.baseline:
            base = by_label[c.baseline]
            base_cpu = statistics.fmean(base.cpu) + statistics.fmean(base.pg)
            ratio = f"{median / statistics.median(base.wall):.2f}x / {(cpu + pg) / base_cpu:.2f}x"
        queries = "-" if not c.http else str(c.queries)
        print(
            f"| {c.label} | {median:.1f} | {p95(c.wall):.1f} | {cpu + pg:.1f} "
            f"({cpu:.1f} + {pg:.1f}) | {queries} | {ratio} |"
        )
    print()
    print("Access events written by one request (action/outcome x count):")
    for c in cases:
        if c.http:
            events = ", ".join(f"{k} x {n}" for k, n in sorted(c.events.items())) or "none"
            print(f"- {c.label}: {sum(c.events.values())} ({events})")


def profile(run: Callable[[], Any], label: str, top: int = 15) -> None:
    """cProfile one request: the project's own functions (and Django's render) by cumulative
    time, then every function by own time (cProfile's overhead inflates many small calls, templates first)."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # The project's code, and Django's render() to show the template's share.
    own_code = re.escape(str(ROOT)) + r"/(?!\.venv/)|django/shortcuts\.py"
    stats.sort_stats("cumulative").print_stats(own_code, top)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\ncProfile of one request, {label}:")
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=30, help="requests per case")
    parser.add_argument(
        "--appointments",
        type=int,
        default=1_000_000,
        help="size of the agenda's history (the measured day keeps 400)",
    )
    parser.add_argument("--notes", type=int, default=500, help="notes in the bench dossier")
    parser.add_argument("--profile", action="store_true", help="also cProfile one day-view request")
    args = parser.parse_args()

    started = time.perf_counter()
    print("ensuring the data (the first fill takes long; later runs re-use it)", flush=True)
    call_command("migrate", verbosity=0)
    the_day = agenda.measured_day()
    agenda.fill(args.appointments, the_day)
    physician = user_with_role("bench-physician", Role.PHYSICIAN, "Médecin", "Banc")
    secretary = user_with_role("bench-secretary", Role.SECRETARY, "Secrétaire", "Banc")
    dossier = dossier_with_notes(physician, args.notes)
    day = day_rows(the_day)
    notes = note_rows(dossier)
    mount_bench_views(day, notes)
    data_seconds = time.perf_counter() - started
    print(
        f"data ready in {data_seconds:.0f} s: {Appointment.objects.count():,} appointments, "
        f"{len(day)} on {the_day}; dossier of {Entry.objects.filter(dossier=dossier).count()} "
        f"notes, {len(notes)} on its first page",
        flush=True,
    )

    as_physician, as_secretary = Client(), Client()
    as_physician.force_login(physician)
    as_secretary.force_login(secretary)
    day_url = f"{reverse('appointments:day')}?date={the_day.isoformat()}"
    dossier_url = reverse(
        "dossiers:dossier_detail",
        kwargs={"patient_id": dossier.patient_id, "compartment": Compartment.SOMATIC},
    )
    prison_numbers = [r["prison_number"] for r in day]
    markers = [n["text"].split(" du banc.")[0] for n in notes]
    bare_day, bare_notes = f"bare template, {len(day)} rows", f"bare template, {len(notes)} notes"
    cases = [
        Case("bare Django JSON view (floor)", get(as_physician, BARE_JSON_PATH)),
        Case(bare_day, get(as_physician, BARE_DAY_PATH), baseline=bare_day),
        Case(
            f"bare template, {len(day)} rows, render only (no HTTP)",
            lambda: BARE_DAY.render({"rows": day}),
            baseline=bare_day,
            http=False,
        ),
        Case(
            f"day view, {len(day)} appointments, physician",
            get(as_physician, day_url),
            baseline=bare_day,
            check=all_present("prison numbers", prison_numbers),
        ),
        Case(
            f"day view, {len(day)} appointments, secretary",
            get(as_secretary, day_url),
            baseline=bare_day,
            check=all_present("prison numbers", prison_numbers),
        ),
        Case(bare_notes, get(as_physician, BARE_NOTES_PATH), baseline=bare_notes),
        Case(
            f"dossier page, {len(notes)} of {args.notes} notes, physician",
            get(as_physician, dossier_url),
            baseline=bare_notes,
            check=all_present("notes", markers),
        ),
    ]
    for case in cases:  # warm-up (template loading, translations, connections)
        for _ in range(3):
            case.run()
    for case in cases:
        probe(case)
    backend_pid, pg_cpu = backend_cpu_reader()
    print(
        f"measuring {len(cases)} cases x {args.iterations} iterations, interleaved "
        f"(PostgreSQL backend pid {backend_pid})",
        flush=True,
    )
    measured = time.perf_counter()
    measure(cases, args.iterations, pg_cpu)
    if backend_cpu_reader()[0] != backend_pid:
        print("WARNING: the database connection changed during the run: PostgreSQL CPU is wrong")
    print(
        f"\n{Appointment.objects.count():,} appointments, measured day {the_day}; "
        f"{args.iterations} requests per case; DEBUG={settings.DEBUG}; "
        f"measuring took {time.perf_counter() - measured:.0f} s"
    )
    report(cases)
    if args.profile:
        for prefix in ("day view", "dossier page"):
            profiled = next(c for c in cases if c.label.startswith(prefix))
            profile(profiled.run, profiled.label)
    print(f"whole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
