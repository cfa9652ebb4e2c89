"""Benchmark: GET /bridge/v1/movements under gunicorn, against a bare Django JSON view.

Run with `make bench BENCH_ARGS="bench/bridge.py"`. It re-uses the agenda bench's generated
unit (bench/agenda.py: 1,000,000 appointments by default, filled once in the `bench`
database), adds the demo waves and a bridge client, then starts gunicorn on loopback and
sends requests from 16 keep-alive connections to:

- a bare Django JSON view (the whole middleware stack, no database): the floor of the stack;
- the same view under the API's prefix, through the API's shorter middleware stack
  (settings.BRIDGE_API_MIDDLEWARE), which every bridge request takes;
- GET /bridge/v1/movements (200: facts, decryption of prison numbers, grouping, rendering,
  audit event with its chain link);
- the same with If-None-Match (304: everything but the rendering);
- the floor of any pull (in the API's stack too): the token and rate limit alone, then with
  the access event as a remembered client's pull writes it (one INSERT), and as the full
  path does (in a transaction of its own: BEGIN, INSERT, COMMIT); no feed. The sequencer's
  linking of the events runs in the workers' background step-in (or, with --sequencer
  process, in `manage.py audit_sequencer` as docker-compose.yml runs it), so its CPU is
  counted too.

With --rate R the connections send R requests a second together on a fixed schedule (open
loop) instead of each sending as soon as it has its answer: a closed loop saturates the two
cores, so its latencies measure the queue (a request's median is about connections /
throughput), where an open loop below saturation measures what each step adds to a
request.

It prints median and p99 latencies, the throughput, the server's CPU time per request
(gunicorn workers and PostgreSQL backends, from /proc), and the ratios to the bare view.

gunicorn runs with production settings (DEBUG off, so no query log; the loopback address
allowed, no HTTPS redirect) unless --debug is given: `make bench` itself sets DEBUG=1 for the
scripts it runs. The 304 case sends the ETag of a pull made just before it, and every case
counts its answers, so that a feed changing under the load shows up.

This file is also gunicorn's configuration file for the run (`-c bench/bridge.py`): its
``post_worker_init`` adds the bench's own views to each worker.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BARE_PATH = "/bench-bare-json"
# Under the API's prefix, so that they take the API's middleware stack as the pulls do.
API_BARE_PATH = "/bridge/v1/bench-bare-json"
FLOOR_PATH = "/bridge/v1/bench-audited-floor"
PORT = 8765

# -- gunicorn configuration (this file passed as -c) -------------------------------------------
bind = f"127.0.0.1:{PORT}"
workers = int(os.environ.get("BENCH_WORKERS", "4"))
threads = int(os.environ.get("BENCH_THREADS", "4"))
worker_class = "gthread"
keepalive = 30
accesslog = None
loglevel = "warning"


def post_worker_init(worker: Any) -> None:
    """Add the bench's own views to this worker's URLconf (the product has no such URLs):
    the bare JSON view, and the floor of a pull (token, address, scope and rate limit, then
    the BRIDGE_PULL access event unless ?audit=0, in a transaction of its own with ?audit=tx;
    no feed)."""
    import types

    from django.conf import settings
    from django.contrib.auth.decorators import login_not_required
    from django.db import transaction
    from django.http import HttpResponse, JsonResponse
    from django.urls import path

    import usmp.urls
    from bridge import access, auth
    from bridge.models import Scope

    @login_not_required
    def bare(request: Any) -> JsonResponse:
        return JsonResponse({"ok": True, "items": list(range(20))})

    @login_not_required
    def audit_floor(request: Any) -> HttpResponse:
        auth.authorize(request, scope=Scope.MOVEMENTS_READ)
        if request.GET.get("audit") == "tx":
            # As the full path records: in a transaction of its own (BEGIN, INSERT, COMMIT).
            with transaction.atomic():
                access.pulled(request)
        elif request.GET.get("audit") != "0":
            # As a remembered client's pull records: one INSERT, its own transaction.
            access.pulled(request)
        return HttpResponse(status=304)

    module = types.ModuleType("bench_bridge_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path(BARE_PATH.lstrip("/"), bare),
        path(API_BARE_PATH.lstrip("/"), bare),
        path(FLOOR_PATH.lstrip("/"), audit_floor),
        *usmp.urls.urlpatterns,
    ]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(usmp.urls, name))
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__


# -- the load generator -------------------------------------------------------------------------


def _load(
    path: str,
    headers: dict[str, str],
    seconds: float,
    connections: int,
    tokens: list[str] | None = None,
    rate: float = 0.0,
) -> tuple[list[float], Counter[int]]:
    """Closed loop (each connection sends as soon as it has its answer), or with RATE
    (requests per second, all connections together) open loop: each connection sends on a
    fixed schedule, and a latency counts from the time the request was due, so that a
    server falling behind shows in the figures (no coordinated omission)."""
    timings: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    errors: list[str] = []

    def run(index: int) -> None:
        mine = dict(headers)
        if tokens and "Authorization" in mine:  # connection INDEX polls as its own client
            mine["Authorization"] = f"Bearer {tokens[index % len(tokens)]}"
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        local: list[float] = []
        seen: Counter[int] = Counter()
        interval = connections / rate if rate else 0.0
        due = time.perf_counter() + interval * index / connections
        # Open loop: every request due before the deadline is sent, however late (those
        # are the slow ones), and none due after it.
        while (due < deadline) if interval else (time.perf_counter() < deadline):
            if interval:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                t0, due = due, due + interval
            else:
                t0 = time.perf_counter()
            conn.request("GET", path, headers=mine)
            response = conn.getresponse()
            response.read()
            local.append((time.perf_counter() - t0) * 1000)
            seen[response.status] += 1
            if response.status not in (200, 304):
                errors.append(f"{path}: {response.status}")
                break
        conn.close()
        with lock:
            timings.extend(local)
            statuses.update(seen)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise SystemExit(f"bench: unexpected status {errors[0]}")
    return timings, statuses


def _current_etag(path: str, headers: dict[str, str]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"bench: {path} answered {response.status}")
    return str(response.getheader("ETag"))


def _server_cpu(gunicorn_pid: int, *others: int) -> tuple[dict[int, float], set[int]]:
    """CPU seconds used so far by the server side, per pid: the gunicorn workers and the
    PostgreSQL backends serving the bench database (Linux /proc; empty elsewhere), and the
    pids of those backends. Unlike latencies, CPU per request hardly moves when other work
    shares the machine."""
    from django.db import connection

    proc = Path("/proc")
    if not proc.is_dir():
        return {}, set()
    tick = os.sysconf("SC_CLK_TCK")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = {row[0] for row in cursor.fetchall()}
    usage: dict[int, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        # fields[1] is the parent pid; fields[11] and [12] are utime and stime, in ticks.
        if pid in pids or pid in others or int(fields[1]) == gunicorn_pid:
            usage[pid] = (int(fields[11]) + int(fields[12])) / tick
    return usage, pids


def _worker_peaks(gunicorn_pid: int) -> list[int]:
    """Peak resident memory (VmHWM, KiB) of each gunicorn worker."""
    peaks = []
    try:
        children = Path(f"/proc/{gunicorn_pid}/task/{gunicorn_pid}/children").read_text()
        for child in children.split():
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]))
    except OSError:
        return []
    return peaks


def _write_overhead(rounds: int = 300) -> tuple[float, float]:
    """Median time of a transaction that moves one appointment (a feed fact), with the
    facts-version triggers on and off: (on, off) in ms."""
    from django.db import connection, transaction

    from appointments.models import Appointment

    row = Appointment.objects.order_by("-start").first()
    assert row is not None
    start, end = row.start, row.end

    def one_round() -> float:
        began = time.perf_counter()
        with transaction.atomic():
            Appointment.objects.filter(pk=row.pk).update(
                start=start + datetime_days(0) + _minute(), end=end + _minute()
            )
        with transaction.atomic():
            Appointment.objects.filter(pk=row.pk).update(start=start, end=end)
        return (time.perf_counter() - began) * 500  # ms per transaction

    results = {}
    for enabled in (True, False, True, False):
        with connection.cursor() as cursor:
            verb = "ENABLE" if enabled else "DISABLE"
            cursor.execute(
                f"ALTER TABLE appointments_appointment {verb} TRIGGER appointment_fact_written"
            )
        timings = [one_round() for _ in range(rounds)]
        results.setdefault(enabled, []).extend(timings)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE appointments_appointment ENABLE TRIGGER appointment_fact_written"
        )
    return statistics.median(results[True]), statistics.median(results[False])


def _minute() -> Any:
    import datetime

    return datetime.timedelta(minutes=1)


def _wait_for_server(seconds: float = 90) -> None:
    """Until gunicorn answers (its workers warm up first: a cold start after a change
    compiles the modules and templates of four workers on two cores)."""
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise SystemExit(f"bench: gunicorn did not answer within {seconds:.0f} s ({last})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", default="", help="only the cases whose label has this text (and the bare views)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests per second of all connections together, on a fixed schedule (open "
        "loop), instead of each connection sending as soon as it has its answer: latencies "
        "below saturation, where a closed loop measures the queue",
    )
    parser.add_argument(
        "--debug", action="store_true", help="run gunicorn with DEBUG=1 (query log on)"
    )
    parser.add_argument(
        "--sequencer",
        choices=("step-in", "process"),
        default="step-in",
        help="who links the events: the workers' background step-in (a unit with one "
        "gunicorn and nothing else), or `manage.py audit_sequencer` as a process of its own "
        "(docker-compose.yml's sequencer service), its CPU counted with the server's",
    )
    args = parser.parse_args()

    # The agenda bench fills the unit (once) and sets Django up.
    spec = importlib.util.spec_from_file_location("bench_agenda", ROOT / "bench" / "agenda.py")
    assert spec and spec.loader
    agenda = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agenda)
    from django.core.management import call_command
    from django.utils import timezone

    from appointments import clock
    from appointments.models import Appointment
    from bridge import feeds, policy, services
    from bridge.models import BridgeClient, MovementWave, Scope
    from usmp.accounts.models import User

    call_command("migrate", verbosity=0)
    target_day = clock.week_monday(clock.today()) + datetime_days(9)
    agenda.fill(args.appointments, target_day)
    for wave in policy.DEFAULT_WAVES:
        MovementWave.objects.get_or_create(time=wave)
    coordinator = User.objects.filter(is_superuser=False).first() or User.objects.create_user(
        username="bench-coordinator"
    )
    BridgeClient.objects.filter(establishment="bench").update(revoked_at=timezone.now())
    # The load exceeds the highest limit a client may have (10,000 a minute): each
    # connection polls as a client of its own, so that every request is counted and decided
    # as usual but none is refused, and each case measures its own path, not 429s.
    tokens = [
        services.client_create(
            acting_user=coordinator,
            establishment="bench",
            scopes=[Scope.MOVEMENTS_READ],
            rate_limit_per_minute=10_000,
        ).token
        for _ in range(args.connections)
    ]
    feed = feeds.build_feed()
    print(
        f"appointments: {Appointment.objects.count():,}; movements in the horizon: "
        f"{len(feed.movements)}; JSON body {len(feeds.as_json(feed)) / 1024:.0f} KiB"
    )

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not args.debug:
        env.update(
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="0",
            SECURE_HSTS_SECONDS="0",
        )
    if args.sequencer == "process":
        env["USMP_AUDIT_WRITER_STEP_IN"] = "off"
    with contextlib.ExitStack() as processes:
        sequencer = (
            processes.enter_context(
                _process([sys.executable, str(ROOT / "manage.py"), "audit_sequencer"], env)
            )
            if args.sequencer == "process"
            else None
        )
        server = processes.enter_context(
            _process(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "-c",
                    str(Path(__file__).resolve()),
                    "usmp.wsgi:application",
                ],
                env,
            )
        )
        _measure(args, server, sequencer, tokens)
    on, off = _write_overhead()
    print(
        f"a transaction moving one appointment: median {on:.3f} ms with the facts-version "
        f"trigger, {off:.3f} ms without ({on - off:+.3f} ms)"
    )


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """COMMAND running in a session of its own, stopped (then killed) however the bench
    ends."""
    from scripts.devenv import stop_process_group

    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    try:
        yield process
    finally:
        stop_process_group(process)


def _measure(
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
    sequencer: subprocess.Popen[bytes] | None,
    tokens: list[str],
) -> None:
    token = tokens[0]
    others = (sequencer.pid,) if sequencer is not None else ()
    _wait_for_server()
    auth_header = {"Authorization": f"Bearer {token}"}
    movements = "/bridge/v1/movements"
    cases = [
        ("bare Django JSON view", BARE_PATH, dict),
        ("bare JSON view, API middleware stack", API_BARE_PATH, dict),
        ("token + rate limit only", f"{FLOOR_PATH}?audit=0", lambda: auth_header),
        ("token + rate limit + audit event (floor)", FLOOR_PATH, lambda: auth_header),
        (
            "floor, event in BEGIN/INSERT/COMMIT",
            f"{FLOOR_PATH}?audit=tx",
            lambda: auth_header,
        ),
        ("GET /bridge/v1/movements (200)", movements, lambda: auth_header),
        (
            "GET /bridge/v1/movements, If-None-Match (304)",
            movements,
            lambda: {**auth_header, "If-None-Match": _current_etag(movements, auth_header)},
        ),
    ]
    if args.only:
        # The two bare views stay: every ratio is to them.
        cases = cases[:2] + [c for c in cases[2:] if args.only in c[0]]
    # Rounds of every case in turn: a drift of the shared machine hits every case alike,
    # and each figure is the median of its rounds.
    rounds: list[list[tuple[float, float, float, float, float]]] = [[] for _ in cases]
    answered: list[Counter[int]] = [Counter() for _ in cases]
    headers_of = [make_headers() for _label, _path, make_headers in cases]
    for _round in range(args.rounds):
        for index, (label, path, _make) in enumerate(cases):
            headers = headers_of[index]
            _load(path, headers, 1.0, args.connections, tokens, args.rate)  # warm-up
            if args.rate:
                # The warm-up's events linked before the count begins, not in it.
                time.sleep(2.5)
            if sequencer is not None and sequencer.poll() is not None:
                raise SystemExit(f"bench: the sequencer stopped ({sequencer.returncode})")
            print(f"bench: measuring {label}", flush=True)
            before, _ = _server_cpu(server.pid, *others)
            timings, statuses = _load(
                path, headers, args.seconds, args.connections, tokens, args.rate
            )
            after, backends = _server_cpu(server.pid, *others)
            spent = {pid: cpu - before.get(pid, 0.0) for pid, cpu in after.items()}
            used = sum(spent.values())
            postgres = sum(cpu for pid, cpu in spent.items() if pid in backends)
            timings.sort()
            rounds[index].append(
                (
                    statistics.median(timings),
                    timings[min(len(timings) - 1, int(len(timings) * 0.99))],
                    len(timings) / args.seconds,
                    used * 1000 / len(timings) if after else float("nan"),
                    postgres * 1000 / len(timings) if after else float("nan"),
                )
            )
            answered[index].update(statuses)
    # Per case: the median of each figure over the rounds.
    medians = [
        [statistics.median(column) for column in zip(*measured, strict=True)] for measured in rounds
    ]
    base_median, base_p99, _rate, base_cpu, _postgres = medians[0]
    api_cpu = medians[1][3]
    print(
        f"{args.connections} connections, {workers} gunicorn workers x {threads} threads, "
        f"DEBUG={'1' if args.debug else '0'}, {args.rounds} rounds of {args.seconds:.0f} s "
        "per case (medians of the rounds), "
        + (f"open loop at {args.rate:.0f} req/s" if args.rate else "closed loop")
        + f", events linked by the {args.sequencer}"
    )
    print(
        "server CPU: gunicorn workers + PostgreSQL backends, per request; ratios to the "
        "bare view (whole stack), and of CPU to the bare view in the API's stack"
    )
    for (label, _path, _make), figures, statuses in zip(cases, medians, answered, strict=True):
        median, p99, rate, cpu, pg_cpu = figures
        answers = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
        print(
            f"{label:<44} median {median:7.2f} ms  p99 {p99:7.2f} ms  {rate:7.1f} req/s  "
            f"CPU {cpu:6.2f} ms (PostgreSQL {pg_cpu:4.2f})  x{median / base_median:6.1f} median  "
            f"x{p99 / base_p99:6.1f} p99  x{cpu / base_cpu:6.1f} CPU  "
            f"x{cpu / api_cpu:6.1f} API-stack CPU  ({answers})"
        )
    peaks = _worker_peaks(server.pid)
    print(f"worker peak memory (VmHWM): {', '.join(f'{p / 1024:.0f}' for p in peaks)} MiB")


def datetime_days(n: int) -> Any:
    import datetime

    return datetime.timedelta(days=n)


if __name__ == "__main__":
    main()
