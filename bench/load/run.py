"""The busy-day load scenario (issue 16): locust, headless and bounded in time, against
gunicorn with production settings on loopback, with a step ramp.

    make bench BENCH_ARGS="bench/load/run.py [--steps 1,2,4,8,16] [--step-seconds 60]"

(needs the bench extra: `.venv/bin/pip install -e '.[dev,bench]'`). It creates a scratch
database `bench_load` (dropped first), fills it with the demo unit and 30 staff accounts
(bench/load/setup_unit.py), starts gunicorn as the Dockerfile does (3 workers, production
settings: no development mode, no DEBUG, HTTPS behind one trusted proxy; only the cookies'
Secure flag is off, since locust speaks plain HTTP on loopback, where the proxy's headers are
sent by the scenario) and the audit sequencer, then runs bench/load/locustfile.py once: 30
staff and the prison, their think time divided by each step's pace in turn (pace 1 is the
busy day: each person acts every 2 to 8 seconds). It samples the gunicorn processes' CPU and
memory with psutil and prints, per step: throughput, p50/p95/p99 and errors per page, the
server's CPU (in cores, and as a share of the machine) and memory; then the first pace at
which an error or a p95 above 1 s appears. Everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

try:
    import locust  # noqa: F401
    import psutil
except ImportError:
    print("the load scenario needs the bench extra: .venv/bin/pip install -e '.[dev,bench]'")
    sys.exit(2)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_database(name: str) -> str:
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def production_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("USMP_DEVELOPMENT", "DEBUG"):
        env.pop(name, None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": "127.0.0.1",
            "BEHIND_TLS_PROXY": "1",
            "USMP_TRUSTED_PROXY_COUNT": "1",
            "SECURE_COOKIES": "0",
        }
    )
    return env


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not start")


class Sampler(threading.Thread):
    """CPU (seconds, summed over a process and its children) and RSS, every second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.master = psutil.Process(pid)
        self.samples: list[tuple[float, float, int]] = []
        self.loads: list[tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            cpu, rss = 0.0, 0
            for proc in [self.master, *self.master.children(recursive=True)]:
                try:
                    times = proc.cpu_times()
                    cpu += times.user + times.system + times.children_user + times.children_system
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.samples.append((time.time(), cpu, rss))
            self.loads.append((time.time(), os.getloadavg()[0]))

    def window(self, start: float, end: float) -> tuple[float, int]:
        """Cores used on average between START and END, and the largest RSS."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return 0.0, 0
        cores = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        return cores, max(s[2] for s in inside)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="1,2,4,8,16", help="paces, comma-separated")
    parser.add_argument("--step-seconds", type=int, default=60)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=90, help="at most this long for the 30 logins first"
    )
    parser.add_argument(
        "--settle", type=int, default=30, help="then this long at pace 1, not judged"
    )
    args = parser.parse_args()
    paces = [float(p) for p in args.steps.split(",")]
    database_url = scratch_database("bench_load")
    tmp = Path(tempfile.mkdtemp(prefix="cloison-load-"))
    data, result = tmp / "data.json", tmp / "result.json"
    setup_env = {**os.environ, "DATABASE_URL": database_url, "USMP_DEVELOPMENT": "1", "DEBUG": "0"}
    print(f"filling the scratch database ({args.patients} patients, 30 staff)...", flush=True)
    subprocess.run(
        [sys.executable, str(HERE / "setup_unit.py"), str(data), str(args.patients)],
        env=setup_env,
        check=True,
    )
    env = production_env(database_url)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "usmp.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
            "--no-control-socket",
        ],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    sequencer = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "audit_sequencer"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(port)
        sampler = Sampler(server.pid)
        sampler.start()
        database = Sampler(postmaster_pid())
        database.start()
        total = args.warmup + args.settle + len(paces) * args.step_seconds
        locust_env = {
            **env,
            "LOAD_DATA": str(data),
            "LOAD_RESULT": str(result),
            "LOAD_PACES": ",".join(str(p) for p in paces),
            "LOAD_STEP_SECONDS": str(args.step_seconds),
            "LOAD_WARMUP_SECONDS": str(args.warmup),
            "LOAD_SETTLE_SECONDS": str(args.settle),
        }
        print(f"locust: 31 users, {len(paces)} steps of {args.step_seconds} s", flush=True)
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"),
                "--headless", "--users", "31", "--spawn-rate", "31",
                "--run-time", f"{total + 5}s", "--stop-timeout", "5",
                "--host", f"http://127.0.0.1:{port}", "--only-summary", "--loglevel", "WARNING",
            ],
            cwd=ROOT, env=locust_env, check=False,
        )  # fmt: skip
        sampler.stopped.set()
        database.stopped.set()
        report(json.loads(result.read_text()), sampler, database)
    finally:
        stop(sequencer)
        stop(server)
    return 0


def postmaster_pid() -> int:
    """The embedded PostgreSQL's postmaster (its backends are the database's CPU)."""
    host = os.environ.get("PGHOST", "")
    pid_file = Path(host) / "postmaster.pid"
    if pid_file.exists():
        return int(pid_file.read_text().split()[0])
    return os.getpid()


def report(result: dict, sampler: Sampler, database: Sampler) -> None:  # type: ignore[type-arg]
    cores_total = psutil.cpu_count() or 1
    first_bad = None
    warm = result.get("warmup", {})
    if warm:
        print("\nwarm-up (the 30 logins at once and the half-minute after them, not judged):")
        for name in sorted(warm):
            times = warm[name]["times"]
            print(
                f"  {name:<24} {len(times):>6} p50 {pct(times, 0.5):.0f} ms, "
                f"p95 {pct(times, 0.95):.0f} ms, {warm[name]['errors']} errors"
            )
    for step in result["steps"]:
        pace, start, end = step["pace"], step["start"], step["end"]
        seconds = max(end - start, 1e-9)
        rows = step["requests"]
        count = sum(len(r["times"]) for r in rows.values())
        errors = sum(r["errors"] for r in rows.values())
        cores, rss = sampler.window(start, end)
        db_cores, db_rss = database.window(start, end)
        refused = sum(r.get("refused", 0) for r in rows.values())
        print(
            f"\npace x{pace:g}: {count / seconds:.1f} req/s, {errors} errors "
            f"({refused} bookings or moves refused by the agenda's rules, not errors); "
            f"gunicorn CPU {cores:.2f} cores ({100 * cores / cores_total:.0f} % of "
            f"{cores_total}), RSS {rss / 2**20:.0f} MiB; PostgreSQL CPU {db_cores:.2f} cores, "
            f"RSS {db_rss / 2**20:.0f} MiB; machine load average "
            f"{max((load for t, load in sampler.loads if start <= t <= end), default=0):.1f}"
        )
        print(f"  {'page':<24} {'n':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>4}")
        worst = 0.0
        for name in sorted(rows):
            times = rows[name]["times"]
            p95 = pct(times, 0.95)
            worst = max(worst, p95)
            print(
                f"  {name:<24} {len(times):>6} {pct(times, 0.5):>6.0f}ms {p95:>6.0f}ms "
                f"{pct(times, 0.99):>6.0f}ms {rows[name]['errors']:>4}"
            )
            for message in rows[name]["messages"][:3]:
                print(f"      {message}")
        if first_bad is None and (errors or worst > 1000):
            first_bad = (pace, count / seconds, errors, worst)
    if first_bad is None:
        print("\nno step had an error or a p95 above 1 s")
    else:
        pace, rate, errors, worst = first_bad
        print(
            f"\nfirst step with errors or a p95 above 1 s: pace x{pace:g} "
            f"({rate:.1f} req/s, {errors} errors, worst p95 {worst:.0f} ms)"
        )


if __name__ == "__main__":
    sys.exit(main())
