"""The deployment files read as the Docker engine would read them (there is none on our
machines): the Dockerfile's COPY, ENV, compileall and CMD, docker-compose.yml's application
environment and secrets, and /app laid out from the COPY lines."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
from importlib import metadata
from pathlib import Path

import yaml
from django.apps import apps
from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from usmp.crypto.keyring import generate_keyring_document

ROOT = Path(settings.BASE_DIR)
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _runtime_distributions() -> set[str]:
    """The distributions `pip install .` brings: cloison's requirements without its extras,
    and theirs (with the extras they ask for), recursively."""
    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [("cloison", frozenset())]
    visited: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), extras)
        if key in visited:
            continue
        visited.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python
        seen.add(canonicalize_name(dist.metadata["Name"]))
        for line in dist.requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            )
            if wanted:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def not_in_image() -> set[str]:
    """Top-level modules installed here that the image does not have: those of the
    distributions outside the runtime requirements (the `dev` and `bench` extras and what
    only they bring). The standard library and the project's own packages are not listed;
    pip and setuptools are, although the base image has them: the application imports
    neither."""
    runtime = _runtime_distributions()
    assert {"django", "psycopg", "cryptography", "gunicorn"} <= runtime
    return {
        module
        for module, dists in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in runtime for d in dists)
        and module not in sys.stdlib_module_names
    } - own_packages()


def _joined(text: str) -> str:
    return text.replace("\\\n", " ")


def copies() -> list[tuple[str, str]]:
    """The (source, destination) of every COPY instruction, in order. Any other form (ADD,
    flags, several sources, the JSON form) is refused: this reading would miss what it
    brings into the image."""
    found = []
    for instruction, arguments in re.findall(
        r"^(COPY|ADD)\b((?:.*\\\n)*.*)$", DOCKERFILE, re.M | re.I
    ):
        parts = _joined(arguments).split()
        assert instruction == "COPY" and len(parts) == 2, (
            f"not understood: {instruction} {arguments}"
        )
        assert not parts[0].startswith(("--", "[")), f"not understood: COPY {arguments}"
        found.append((parts[0], parts[1]))
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


def compose_app_environment(
    secrets_dir: Path, dotenv: dict[str, str] | None = None
) -> dict[str, str]:
    """The containers' environment with DOTENV as .env (each ${NAME:-default} is .env's
    value, else its default), and the secret files, as ./secrets/ holds them, written under
    SECRETS_DIR."""

    def interpolated(value: str) -> str:
        def one(match: re.Match[str]) -> str:
            return (dotenv or {}).get(match.group(1)) or match.group(2)

        done = re.sub(r"\$\{([A-Z_]+):-([^${}]*)\}", one, value)
        assert "$" not in done, f"not understood: {value}"
        return done

    environment = COMPOSE["x-app"]["environment"]
    env = {name: interpolated(str(value)) for name, value in environment.items()}
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


def container_env(home: Path, *layers: dict[str, str]) -> dict[str, str]:
    """A process environment as the image gives it: PATH, HOME, the Dockerfile's ENV, then
    each of LAYERS over the one before; nothing else of this machine's (no secret, keyring
    or database of its own)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **image_env()}
    for layer in layers:
        env |= layer
    return env
