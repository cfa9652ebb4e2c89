"""The production image (Dockerfile) holds every part of the application and starts: it
copies the application path by path (so that var/, .venv/, .git/ and secrets/ never enter
it), and a package left out of that list is an image that cannot build. There is no Docker
engine on our machines: these tests lay out /app as the COPY lines do, in a temporary
directory, run the image's own build steps there (translations, collectstatic) with the
repository and the development extras out of reach, load every URL, view and management
command, then start the image's CMD with the compose file's environment and ask it for its
health and its login page."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .deployment import (
    ROOT,
    command,
    compiled,
    compose_app_environment,
    container_env,
    copies,
    lay_out,
    not_in_image,
    own_packages,
)


def test_every_application_package_is_copied_and_compiled():
    copied = {source.rstrip("/") for source, _ in copies()}
    missing = own_packages() - copied
    assert not missing, f"packages not copied into the image: {sorted(missing)}"
    assert compiled() == own_packages(), "compileall must name exactly the packages copied"


def test_nothing_private_is_copied():
    for source, _ in copies():
        top = source.split("/")[0]
        assert top not in {".", "var", ".venv", ".git", "secrets", "tests", "bench"}, source


@dataclass(frozen=True)
class Image:
    app: Path
    static_root: Path
    build: subprocess.CompletedProcess[str]


def _isolated(app: Path) -> str:
    """Python lines that leave only APP importable of the project (not the repository's
    editable install) and none of the development extras."""
    return (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]\n"
        "sys.path_hooks[:] = [h for h in sys.path_hooks if '__editable__' not in repr(h)]\n"
        "sys.path_importer_cache.clear()\n"
        f"sys.path[:] = [{str(app)!r}] + [p for p in sys.path if p and p != {str(ROOT)!r}]\n"
        f"absent = {sorted(not_in_image())!r}\n"
        "class NotInImage:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in absent:\n"
        "            raise ModuleNotFoundError(f'{name} is not in the image')\n"
        "sys.meta_path.insert(0, NotInImage())\n"
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Image:
    root = tmp_path_factory.mktemp("image")
    app = root / "app"
    lay_out(app)
    # The image's build steps, then every URL and view imported (as a worker does before
    # its first request) and every management command loaded.
    script = _isolated(app) + (
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
        "from django.core.management import get_commands, load_command_class\n"
        "for name, app_name in get_commands().items():\n"
        "    load_command_class(app_name, name)\n"
        "from django.apps import apps\n"
        f"own = {sorted(own_packages())!r}\n"
        "for c in apps.get_app_configs():\n"
        "    if c.name.split('.')[0] in own:\n"
        f"        assert c.path.startswith({str(app)!r}), c.path\n"
    )
    # The build's environment: the Dockerfile's ENV and DEBUG=0, nothing of this machine's
    # (no secret, keyring or database is given to the build).
    static_root = root / "staticfiles"
    env = container_env(root, {"STATIC_ROOT": str(static_root), "DEBUG": "0"})
    assert env["DJANGO_SETTINGS_MODULE"] == "usmp.settings"
    build = subprocess.run(
        [sys.executable, "-c", script],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return Image(app, static_root, build)


def test_the_image_builds_and_loads_every_view_and_command(image):
    assert image.build.returncode == 0, image.build.stderr[-3000:]
    assert int(image.build.stdout.rpartition("views ")[2]) > 100
    assert (image.static_root / "css" / "cloison.css").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, host: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host, "X-Forwarded-Proto": "https"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_the_images_command_starts_and_answers(image, tmp_path):
    """The CMD (gunicorn, one worker here, on loopback) with the compose file's environment
    and secrets: the worker passes its start-up refusal and warming, and answers. The
    database ("db") is out of reach here, so health is 503, and nothing is written."""
    assert image.build.returncode == 0, "the build failed (see the test above)"
    argv = command()
    assert argv[:2] == ["gunicorn", "usmp.wsgi:application"]
    port = _free_port()
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"
    env = container_env(
        tmp_path,
        compose_app_environment(tmp_path / "secrets"),
        {
            "STATIC_ROOT": str(image.static_root),
            "USMP_BRIDGE_ADMISSION_FILE": str(tmp_path / "admission"),
            "USMP_AUDIT_WRITER_STEP_IN": "off",
        },
    )
    host = env["ALLOWED_HOSTS"].split(",")[0]
    # gunicorn imports the application from its working directory, /app.
    server = subprocess.Popen(
        [sys.executable, "-c", _isolated(image.app) + "from gunicorn.app.wsgiapp import run\nrun()",
         *argv[1:]],
        cwd=image.app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(port, "/healthz", host)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.communicate(timeout=10)[0][-3000:]) from None
                time.sleep(0.2)
        assert (status, body) == (503, b'{"status": "unavailable"}')
        status, page = _get(port, "/accounts/login/", host)
        assert status == 200, page[:500]
        assert b"Se connecter" in page
        css = page.split(b'href="/static/css/cloison.', 1)[1].split(b'"', 1)[0]
        assert _get(port, "/static/css/cloison." + css.decode(), host)[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
