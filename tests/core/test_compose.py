"""The deployment (docker-compose.yml) as the host would run it, without a Docker engine: its
gate (`check --deploy --fail-level WARNING`, the `migrate` service) passes with the
environment and secret files the stack gives the containers, and every command its
services run is one of the application's."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands

from usmp.crypto.keyring import generate_keyring_document

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _defaults(value: str) -> str:
    """Compose's ${NAME:-default} with nothing set in .env: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _app_environment(tmp_path: Path) -> dict[str, str]:
    env = {name: _defaults(str(value)) for name, value in COMPOSE["x-app"]["environment"].items()}
    # The secret files, as ./secrets/ holds them (deploy/secrets.example/README.md).
    files = {
        "secret_key": secrets.token_urlsafe(50),
        "keyring.json": generate_keyring_document(),
        "db_password": secrets.token_urlsafe(32),
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content + "\n")
    assert set(COMPOSE["x-app"]["secrets"]) == set(files)
    for name, value in env.items():
        if value.startswith("/run/secrets/"):
            env[name] = str(tmp_path / value.removeprefix("/run/secrets/"))
    return env


def test_the_deployment_gate_passes_with_the_stacks_environment(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    env.update(_app_environment(tmp_path))
    env["DJANGO_SETTINGS_MODULE"] = "usmp.settings"  # the image's ENV
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_every_service_runs_a_command_of_the_application():
    commands = get_commands()
    found = []
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        if command is None:
            continue
        text = " ".join(command) if isinstance(command, list) else str(command)
        for match in re.finditer(r"manage\.py (\w+)", text):
            assert match.group(1) in commands, (name, match.group(1))
            found.append(match.group(1))
    assert {"check", "migrate", "audit_sequencer", "backup", "restore_verify"} <= set(found)
