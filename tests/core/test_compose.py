"""The deployment (docker-compose.yml) as the host would run it, without a Docker engine: its
gate (`check --deploy --fail-level WARNING`, the `migrate` service) passes with the
environment and secret files the stack gives the containers, and every command its
services run is one of the application's."""

from __future__ import annotations

import re
import subprocess
import sys

from django.core.management import get_commands

from .deployment import COMPOSE, ROOT, compose_app_environment, container_env


def _gate(tmp_path, dotenv):
    env = container_env(tmp_path, compose_app_environment(tmp_path / "secrets", dotenv))
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deployment_gate_passes_with_the_stacks_environment_and_a_dotenv(tmp_path):
    # The .env of deploy/secrets.example/README.md.
    dotenv = {
        "CLOISON_HOSTNAME": "cloison.chu-exemple.fr",
        "USMP_AUDIT_LOG_ORIGIN": "cloison.chu-exemple.fr/audit",
        "USMP_UNIT_NAME": "Centre pénitentiaire d'Exemple",
    }
    done = _gate(tmp_path, dotenv)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_the_deployment_gate_stops_until_the_audit_log_is_named(tmp_path):
    done = _gate(tmp_path, {"CLOISON_HOSTNAME": "cloison.chu-exemple.fr"})
    assert done.returncode != 0
    assert "usmp.W013" in done.stderr


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
