"""What the fault tests share: the environment of a process on the fault cluster, a
management command run there, gunicorn on loopback, and the audit's final check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.faults.cluster import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def env(cluster: Cluster, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE", "USMP_KEY"))}
    out.update(
        DJANGO_SETTINGS_MODULE="tests.faults.settings_faults",
        DATABASE_URL=cluster.url("faults"),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return out


def manage(cluster: Cluster, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env(cluster, **extra), capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip


def sequence_and_verify(cluster: Cluster) -> None:
    result = manage(cluster, "audit_sequencer", "--once")
    assert result.returncode == 0, result.stderr
    result = manage(cluster, "audit_verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit chain intact" in result.stdout
    assert "await their link" not in result.stdout


class Gunicorn:
    """gunicorn (gthread) on a free loopback port, with the fault settings and EXTRA env."""

    def __init__(self, cluster: Cluster, *, workers: int = 2, **extra: str) -> None:
        self.cluster, self.workers, self.extra = cluster, workers, extra
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "usmp.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
            env=env(self.cluster, **self.extra), cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None
                time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """The arbiter's children: its workers."""
        assert self.process is not None
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        return [int(pid) for pid in found]

    def kill9(self) -> None:
        """SIGKILL to the arbiter and its workers at once, requests in flight."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
