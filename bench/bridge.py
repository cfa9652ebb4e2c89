"""Benchmark: GET /bridge/v1/movements under gunicorn, against a bare Django JSON view.

Run with `make bench BENCH_ARGS="bench/bridge.py"`. It re-uses the agenda bench's generated
unit (bench/agenda.py: 1,000,000 appointments by default, filled once in the `bench`
database), adds the demo waves and a bridge client, then starts gunicorn on loopback and
sends requests from 16 keep-alive connections to:

- a bare Django JSON view (same middleware, no database): the floor of the stack;
- GET /bridge/v1/movements (200: facts, decryption of prison numbers, grouping, rendering,
  audit event with its chain link);
- the same with If-None-Match (304: everything but the rendering).

It prints median and p99 latencies, the throughput, and the ratio to the bare view.

This file is also gunicorn's configuration file for the run (`-c bench/bridge.py`): its
``post_worker_init`` adds the bare view's URL to each worker.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BARE_PATH = "/bench-bare-json"
PORT = 8765

# -- gunicorn configuration (this file passed as -c) -------------------------------------------
bind = f"127.0.0.1:{PORT}"
workers = int(os.environ.get("BENCH_WORKERS", "4"))
threads = 4
worker_class = "gthread"
keepalive = 30
accesslog = None
loglevel = "warning"


def post_worker_init(worker: Any) -> None:
    """Add the bare JSON view to this worker's URLconf (the product has no such URL)."""
    import types

    from django.conf import settings
    from django.contrib.auth.decorators import login_not_required
    from django.http import JsonResponse
    from django.urls import path

    import usmp.urls

    @login_not_required
    def bare(request: Any) -> JsonResponse:
        return JsonResponse({"ok": True, "items": list(range(20))})

    module = types.ModuleType("bench_bridge_urls")
    module.urlpatterns = [path(BARE_PATH.lstrip("/"), bare), *usmp.urls.urlpatterns]  # type: ignore[attr-defined]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(usmp.urls, name))
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__


# -- the load generator -------------------------------------------------------------------------


def _load(path: str, headers: dict[str, str], seconds: float, connections: int) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    errors: list[str] = []

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        local: list[float] = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            local.append((time.perf_counter() - t0) * 1000)
            if response.status not in (200, 304):
                errors.append(f"{path}: {response.status}")
                break
        conn.close()
        with lock:
            timings.extend(local)

    pool = [threading.Thread(target=run) for _ in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise SystemExit(f"bench: unexpected status {errors[0]}")
    return timings


def _wait_for_server() -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench: gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
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
    from bridge import auth, feeds, policy
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
    token = auth.client_create(
        acting_user=coordinator,
        establishment="bench",
        scopes=[Scope.MOVEMENTS_READ],
        rate_limit_per_minute=10_000,
    ).token
    feed = feeds.build_feed()
    etag = feeds.etag(feed, "json")
    print(
        f"appointments: {Appointment.objects.count():,}; movements in the horizon: "
        f"{len(feed.movements)}; JSON body {len(feeds.as_json(feed)) / 1024:.0f} KiB"
    )

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            str(Path(__file__).resolve()),
            "usmp.wsgi:application",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        _wait_for_server()
        auth_header = {"Authorization": f"Bearer {token}"}
        cases = [
            ("bare Django JSON view", BARE_PATH, {}),
            ("GET /bridge/v1/movements (200)", "/bridge/v1/movements", auth_header),
            (
                "GET /bridge/v1/movements, If-None-Match (304)",
                "/bridge/v1/movements",
                {**auth_header, "If-None-Match": etag},
            ),
        ]
        results = []
        for label, path, headers in cases:
            _load(path, headers, 1.0, args.connections)  # warm-up
            timings = sorted(_load(path, headers, args.seconds, args.connections))
            results.append(
                (
                    label,
                    statistics.median(timings),
                    timings[min(len(timings) - 1, int(len(timings) * 0.99))],
                    len(timings) / args.seconds,
                )
            )
        base_median, base_p99 = results[0][1], results[0][2]
        print(f"{args.connections} connections, {workers} gunicorn workers x {threads} threads")
        for label, median, p99, rate in results:
            print(
                f"{label:<48} median {median:7.2f} ms  p99 {p99:7.2f} ms  {rate:8.0f} req/s  "
                f"x{median / base_median:5.1f} median  x{p99 / base_p99:5.1f} p99"
            )
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def datetime_days(n: int) -> Any:
    import datetime

    return datetime.timedelta(days=n)


if __name__ == "__main__":
    main()
