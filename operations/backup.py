"""``manage.py backup``: a consistent dump and its manifest, written atomically.

The manifest's counts and digests and the dump come from one snapshot: this process opens a
REPEATABLE READ transaction, exports its snapshot (``pg_export_snapshot``), computes the
manifest in it and runs ``pg_dump --snapshot`` on it while the transaction stays open. The
files are written into a temporary directory beside the target, synced, then renamed: a
backup directory either is complete or does not exist.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import manifest as mf
from . import pgtools

logger = logging.getLogger(__name__)

DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
TABLE_LINE = re.compile(r"(dumping contents of table|processing data for table) ")


class BackupError(Exception):
    """The backup cannot be made (the message says why); nothing was written."""


def keyring_directories() -> list[Path]:
    """Where a backup must never go: beside the keyring file, and the repository's var/
    (the development keyring)."""
    dirs = [Path(settings.BASE_DIR) / "var"]
    path = os.environ.get("USMP_KEYRING_FILE")
    if path:
        dirs.append(Path(path).resolve().parent)
    return [d.resolve() for d in dirs]


def check_target(target: Path) -> Path:
    resolved = target.resolve()
    for forbidden in keyring_directories():
        if resolved == forbidden or forbidden in resolved.parents:
            raise BackupError(
                f"Refusing to write a backup under {forbidden}: the keyring lives there. "
                "A backup and the keys that decrypt it are kept apart (see README, Backups)."
            )
    if resolved.exists() and not resolved.is_dir():
        raise BackupError(f"{target} is not a directory.")
    return resolved


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def run_with_progress(
    command: list[str], env: dict[str, str], bar: Any, what: str, timeout: float | None = None
) -> None:
    """Run a pg_dump/pg_restore with --verbose, a tick of BAR per table; raise ToolError with
    the last lines of its output when it fails."""
    tail: deque[str] = deque(maxlen=15)
    process = subprocess.Popen(  # noqa: S603 - our own pg_dump or pg_restore, no shell
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if process.stderr is None:  # pragma: no cover - stderr=PIPE
        raise pgtools.ToolError(f"{what}: no output")
    for line in process.stderr:
        tail.append(line.rstrip())
        if TABLE_LINE.search(line):
            bar.advance()
    code = process.wait(timeout=timeout)
    bar.close()
    if code != 0:
        errors = [line for line in tail if "error" in line.lower()] or list(tail)
        raise pgtools.ToolError(f"{what} failed (exit {code}): " + " | ".join(errors[-5:]))


def make_backup(
    target: Path, *, progress: mf.Progress = mf._quiet, now: datetime.datetime | None = None
) -> Path:
    """Write TARGET/cloison-<UTC time>/ (the dump and its manifest); return its path."""
    target = check_target(target)
    if connection.in_atomic_block:
        raise BackupError("backup must run outside a transaction (it opens its own snapshot).")
    major = pgtools.server_major()
    pg_dump = pgtools.find("pg_dump", major)
    target.mkdir(parents=True, exist_ok=True)
    with _only_writer(target):
        _sweep_unfinished(target)
        return _write(target, major, pg_dump, progress=progress, now=now)


@contextlib.contextmanager
def _only_writer(target: Path) -> Iterator[None]:
    """One backup at a time in TARGET (an exclusive lock on the directory itself, released
    by the kernel when the process ends, however it ends)."""
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"Another backup is being written in {target}.") from None
        yield
    finally:
        os.close(fd)


def _sweep_unfinished(target: Path) -> None:
    """Remove what an interrupted backup left (killed before its rename): with the lock
    held, no other backup is writing, so every scratch directory here is abandoned."""
    for leftover in sorted(target.glob(".cloison-*.partial")):
        shutil.rmtree(leftover, ignore_errors=True)
        logger.warning("removed an unfinished backup left by an interrupted run: %s", leftover.name)


def _write(
    target: Path,
    major: int,
    pg_dump: Path,
    *,
    progress: mf.Progress,
    now: datetime.datetime | None,
) -> Path:
    stamp = (now or timezone.now()).astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    final = target / f"cloison-{stamp}"
    if final.exists():
        raise BackupError(f"{final} already exists.")
    scratch = target / f".{final.name}.{secrets.token_hex(4)}.partial"
    scratch.mkdir(mode=0o700)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), transaction_timestamp()")
            snapshot, taken_at = cursor.fetchone()
            counts = mf.table_counts()
            encrypted = mf.encrypted_digests(progress=progress)
            if encrypted.failures:
                raise BackupError(
                    f"{len(encrypted.failures)} value(s) do not decrypt with this keyring, "
                    f"first: {encrypted.failures[0]}. Fix the keyring before backing up."
                )
            document: dict[str, Any] = {
                "format": mf.FORMAT,
                "taken_at": taken_at.astimezone(datetime.UTC).isoformat(),
                "server_major": major,
                "database": connection.settings_dict["NAME"],
                "tables": counts,
                "encrypted": encrypted.models,
                "audit": mf.audit_state(),
                "keyring": {**mf.keyring_summary(), "used_master_keys": mf.used_master_key_ids()},
            }
            dump = scratch / DUMP_NAME
            env = pgtools.libpq_env(connection.settings_dict)
            run_with_progress(
                [
                    str(pg_dump),
                    "--format=custom",
                    "--verbose",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                ],
                env,
                progress("Dumping tables", len(counts)),
                "pg_dump",
            )
        document["dump"] = {
            "file": DUMP_NAME,
            "bytes": dump.stat().st_size,
            "sha256": sha256_file(dump),
            "pg_dump": str(pgtools.major_version(pg_dump)),
        }
        path = scratch / MANIFEST_NAME
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for written in (dump, path, scratch):
            _fsync(written)
        scratch.rename(final)
        _fsync(target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return final


def read_manifest(backup: Path) -> dict[str, Any]:
    path = backup / MANIFEST_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"Cannot read {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != mf.FORMAT:
        raise BackupError(f"{path} is not a Cloison backup manifest ({mf.FORMAT}).")
    return document
