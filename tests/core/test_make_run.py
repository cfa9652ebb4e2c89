"""`make run PORT=...`: the port is checked before anything starts, with a clear message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def devenv_run(port: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["PORT"] = port
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "devenv.py"), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_taken_port_is_a_clear_message_not_a_traceback():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = devenv_run(str(port))
    assert result.returncode == 2
    assert f"port {port} is already in use" in result.stdout
    assert f"make run PORT={port + 1}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "starting embedded PostgreSQL" not in result.stdout


def test_a_port_that_is_not_a_number_is_refused_clearly():
    result = devenv_run("80a")
    assert result.returncode == 2
    assert "PORT must be a number from 1 to 65535" in result.stdout
