"""Benchmark: what one access event adds to a request, and the sequencer's throughput.

Run with `make bench BENCH_ARGS="bench/audit_sequencer.py"`. Starts gunicorn on loopback
(production settings, this file as its configuration) with `manage.py audit_sequencer`
beside it, and sends requests from 16 keep-alive connections, side by side in one run, to:

- a bare Django JSON view (same middleware, no database): the baseline;
- the same view writing one access event (``writer.write_event`` in its transaction: the
  INSERT; the sequencer links it afterwards, off the request);
- the same view running one query in a transaction (what any request that reads the
  database pays already: the event's own cost is the difference).

It prints median and p99 latency, throughput and server CPU per request (gunicorn workers and
PostgreSQL backends, from /proc), the ratios to the bare view, the added cost of the event,
and the sequencer process's CPU per event. Then it measures the sequencer alone: a backlog of
--backlog committed rows linked by ``chain.sequence`` (leaves/s, chain and tree included),
and ``chain.verify`` over the result (rows/s). bench/audit.py measures verify over 5,000,000.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BARE_PATH = "/bench-bare-json"
EVENT_PATH = "/bench-one-event"
QUERY_PATH = "/bench-one-query"
PORT = 8766

# -- gunicorn configuration (this file passed as -c) -------------------------------------------
bind = f"127.0.0.1:{PORT}"
workers = int(os.environ.get("BENCH_WORKERS", "4"))
threads = 4
worker_class = "gthread"
keepalive = 30
accesslog = None
loglevel = "warning"


def post_worker_init(worker: Any) -> None:
    """The bench's two views, added to this worker's URLconf."""
    import types
    import uuid

    from django.conf import settings
    from django.contrib.auth.decorators import login_not_required
    from django.db import transaction
    from django.http import JsonResponse
    from django.urls import path

    import usmp.urls
    from usmp.audit import writer

    @login_not_required
    def bare(request: Any) -> JsonResponse:
        return JsonResponse({"ok": True, "items": list(range(20))})

    @login_not_required
    def one_query(request: Any) -> JsonResponse:
        from django.db import connection

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"ok": True, "items": list(range(20))})

    @login_not_required
    def one_event(request: Any) -> JsonResponse:
        with transaction.atomic():
            writer.write_event(
                actor=None,
                action=writer.Action.DOSSIER_VIEW,
                patient_id=uuid.uuid4(),
                compartment="somatic",
                purpose=writer.Purpose.DISPLAY,
                source_ip="127.0.0.1",
            )
        return JsonResponse({"ok": True, "items": list(range(20))})

    module = types.ModuleType("bench_audit_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path(BARE_PATH.lstrip("/"), bare),
        path(EVENT_PATH.lstrip("/"), one_event),
        path(QUERY_PATH.lstrip("/"), one_query),
        *usmp.urls.urlpatterns,
    ]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(usmp.urls, name))
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__


def _bridge_bench() -> Any:
    """bench/bridge.py's load generator and CPU probe (same method, other port)."""
    spec = importlib.util.spec_from_file_location("bench_bridge", ROOT / "bench" / "bridge.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PORT = PORT
    return module


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--no-verify", action="store_true", help="skip audit_verify")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from usmp.audit import chain

    bridge = _bridge_bench()
    call_command("migrate", verbosity=0)
    chain.sequence()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        # The sequencer process links; the writers' step-in would only check it is alive.
        "USMP_AUDIT_WRITER_STEP_IN": "off",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", __file__, "usmp.wsgi:application"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    sequencer = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "audit_sequencer"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    results = []
    try:
        bridge._wait_for_server()
        for label, path in (
            ("bare Django JSON view", BARE_PATH),
            ("+ one access event", EVENT_PATH),
            ("+ a transaction, SELECT 1", QUERY_PATH),
        ):
            bridge._load(path, {}, 1.0, args.connections)  # warm-up
            before, _ = bridge._server_cpu(server.pid)
            sequencer_before = _process_cpu(sequencer.pid)
            timings, _statuses = bridge._load(path, {}, args.seconds, args.connections)
            after, _ = bridge._server_cpu(server.pid)
            sequencer_used = _process_cpu(sequencer.pid) - sequencer_before
            used = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
            timings.sort()
            results.append(
                (
                    label,
                    statistics.median(timings),
                    timings[min(len(timings) - 1, int(len(timings) * 0.99))],
                    len(timings) / args.seconds,
                    used * 1000 / len(timings),
                    sequencer_used * 1000 / len(timings),
                )
            )
        time.sleep(1)
        pending = chain.verify().pending
    finally:
        os.killpg(server.pid, 15)
        os.killpg(sequencer.pid, 15)
        server.wait(timeout=30)
        sequencer.wait(timeout=30)
    print(
        f"{args.connections} connections, {workers} gunicorn workers x {threads} threads, "
        f"DEBUG=0, {args.seconds:.0f} s per case, audit_sequencer running beside"
    )
    base = results[0]
    for label, median, p99, rate, cpu, seq_cpu in results:
        print(
            f"{label:<24} median {median:6.2f} ms  p99 {p99:6.2f} ms  {rate:7.1f} req/s  "
            f"CPU {cpu:5.2f} ms (+ sequencer {seq_cpu:4.2f} ms)  x{median / base[1]:4.2f} median  "
            f"x{p99 / base[2]:4.2f} p99  x{cpu / base[4]:4.2f} CPU"
        )
    event, query = results[1], results[2]
    print(
        f"added by one access event: {event[1] - base[1]:+.2f} ms median, "
        f"{event[4] - base[4]:+.2f} ms server CPU, {event[5]:.2f} ms sequencer CPU "
        f"(a transaction with one query alone: {query[1] - base[1]:+.2f} ms median, "
        f"{query[4] - base[4]:+.2f} ms CPU); rows left unsequenced 1 s after the load: {pending}"
    )

    # -- the sequencer alone over a backlog --------------------------------------------------
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_accessevent (at, action, outcome, patient_id, compartment, "
            "object_type, object_id, search_index, break_glass, purpose, count) "
            "SELECT clock_timestamp(), 'dossier_view', 'allowed', gen_random_uuid(), "
            "'somatic', '', '', '', false, 'display', 1 FROM generate_series(1, %s)",
            [args.backlog],
        )
    t0 = time.perf_counter()
    linked = chain.sequence()
    elapsed = time.perf_counter() - t0
    print(
        f"sequencer: {linked:,} leaves in {elapsed:.2f} s = {linked / elapsed:,.0f} leaves/s "
        f"(batches of {chain.BATCH}, chain link, leaf hash, tree nodes, signed checkpoint)"
    )
    if args.no_verify:
        return
    t0 = time.perf_counter()
    report = chain.verify()
    elapsed = time.perf_counter() - t0
    print(
        f"audit_verify: {report.links:,} links in {elapsed:.2f} s = "
        f"{report.links / elapsed:,.0f} rows/s, ok={report.ok}"
    )


if __name__ == "__main__":
    main()
