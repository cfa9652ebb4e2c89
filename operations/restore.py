"""``manage.py restore_verify``: restore a backup into a scratch database and prove it.

The parent process checks the dump file against the manifest and the keyring against the
manifest's key ids, creates the scratch database (or takes an empty one given), runs
``pg_restore``, then runs ``restore_check`` in a child process whose default database is the
scratch one (so the audit's own verification, ``usmp.audit.chain.verify``, runs unchanged on
the copy); the child runs amcheck, decrypts every value and recomputes the audit structure,
and reports in JSON (ids, counts and digests only). The parent compares with the manifest,
prints one verdict with the first difference, and drops the scratch database.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dj_database_url
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import manifest as mf
from . import pgtools
from .backup import DUMP_NAME, BackupError, read_manifest, run_with_progress, sha256_file


@dataclass
class Verdict:
    differences: list[str] = field(default_factory=list)
    facts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences

    def text(self) -> str:
        if self.ok:
            return _(
                "Backup verified: restored into a scratch database, %(indexes)d index(es) "
                "checked, %(values)d encrypted value(s) decrypted, %(tables)d table(s) and the "
                "audit log (%(links)d link(s)) match the manifest."
            ) % {
                "indexes": self.facts.get("indexes", 0),
                "values": self.facts.get("values", 0),
                "tables": self.facts.get("tables", 0),
                "links": self.facts.get("links", 0),
            }
        head = ngettext(
            "Backup NOT verified (%(count)d difference). First difference: %(first)s",
            "Backup NOT verified (%(count)d differences). First difference: %(first)s",
            len(self.differences),
        ) % {"count": len(self.differences), "first": self.differences[0]}
        rest = [_("  then: %(difference)s") % {"difference": d} for d in self.differences[1:20]]
        return "\n".join([head, *rest])


def check_file(backup: Path, document: dict[str, Any]) -> list[str]:
    dump = backup / DUMP_NAME
    if not dump.is_file():
        return [_("The dump file %(file)s is missing from the backup.") % {"file": DUMP_NAME}]
    if sha256_file(dump) != document.get("dump", {}).get("sha256"):
        return [
            _(
                "The dump file was changed or truncated since the backup was made (its SHA-256 "
                "is not the manifest's)."
            )
        ]
    return []


def check_keyring(document: dict[str, Any]) -> list[str]:
    """The configured keyring against the manifest's key ids and fingerprints."""
    expected = document.get("keyring", {})
    found = mf.keyring_summary()
    problems = []
    masters = found["master_keys"]
    for key_id in expected.get("used_master_keys", []):
        if key_id not in masters:
            problems.append(
                _(
                    "Wrong keyring: the master key “%(id)s”, which wraps this backup's data keys, "
                    "is missing from the keyring (it holds: %(ids)s). Restore it from the "
                    "keyring's own backup."
                )
                % {"id": key_id, "ids": ", ".join(sorted(masters)) or "-"}
            )
        elif key_id in expected.get("master_keys", {}) and (
            expected["master_keys"][key_id] != masters[key_id]
        ):
            problems.append(
                _("Wrong keyring: it holds another key under the id “%(id)s”.") % {"id": key_id}
            )
    for name, what in (
        ("blind_index_key", _("the blind-index key")),
        ("audit_key", _("the audit key")),
    ):
        if expected.get(name) and expected[name] != found[name]:
            problems.append(
                _("Wrong keyring: %(what)s is not the one of this backup.") % {"what": what}
            )
    return problems


def compare(document: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """The child's findings on the restored copy against the manifest, in a fixed order."""
    problems: list[str] = []
    for failure in found["amcheck"]["failures"]:
        problems.append(_("Corrupt index: %(detail)s") % {"detail": failure})
    expected_tables: dict[str, int] = document["tables"]
    tables: dict[str, int] = found["tables"]
    for table, count in expected_tables.items():
        if table not in tables:
            problems.append(
                _("Table %(table)s is missing from the restored copy.") % {"table": table}
            )
        elif tables[table] != count:
            problems.append(
                _("Table %(table)s: %(found)d row(s) restored, %(expected)d in the manifest.")
                % {"table": table, "found": tables[table], "expected": count}
            )
    for table in sorted(set(tables) - set(expected_tables)):
        problems.append(_("Table %(table)s is not in the manifest.") % {"table": table})
    for failure in found["decrypt_failures"]:
        problems.append(_("A value does not decrypt: %(detail)s") % {"detail": failure})
    for label, expected in document["encrypted"].items():
        model = found["encrypted"].get(label)
        if model is None:
            problems.append(_("Encrypted model %(model)s is missing.") % {"model": label})
            continue
        for name, digest in expected["fields"].items():
            if model["fields"].get(name) != digest:
                problems.append(
                    _(
                        "Encrypted field %(model)s.%(field)s: the decrypted values differ from "
                        "the backup's."
                    )
                    % {"model": label, "field": name}
                )
    for problem in found["audit_problems"]:
        problems.append(_("Audit log: %(problem)s") % {"problem": problem})
    audit, expected_audit = found["audit"], document["audit"]
    if (audit["head_seq"], audit["head_hash"]) != (
        expected_audit["head_seq"],
        expected_audit["head_hash"],
    ):
        problems.append(
            _(
                "Audit log: the restored head (link %(found)d) is not the manifest's "
                "(link %(expected)d)."
            )
            % {"found": audit["head_seq"], "expected": expected_audit["head_seq"]}
        )
    if (audit["tree_size"], audit["root"]) != (expected_audit["tree_size"], expected_audit["root"]):
        problems.append(
            _("Audit log: the restored Merkle tree (%(found)d leaves) is not the manifest's.")
            % {"found": audit["tree_size"]}
        )
    if audit["checkpoint"] != expected_audit["checkpoint"]:
        problems.append(_("Audit log: the last signed checkpoint is not the manifest's."))
    return problems


def _url(settings_dict: dict[str, Any], name: str) -> str:
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    host = quote(str(settings_dict.get("HOST") or ""), safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{user}@{host}{port}/{quote(name, safe='')}"


def _is_empty(settings_dict: dict[str, Any]) -> bool:
    import psycopg

    kwargs = {
        k: v
        for k, v in {
            "dbname": settings_dict.get("NAME"),
            "user": settings_dict.get("USER"),
            "password": settings_dict.get("PASSWORD"),
            "host": settings_dict.get("HOST"),
            "port": settings_dict.get("PORT"),
        }.items()
        if v
    }
    with psycopg.connect(**kwargs) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return bool(row and row[0] == 0)


def restore_verify(
    backup: Path,
    *,
    database_url: str | None = None,
    checkpoint: Path | None = None,
    keyring_file: Path | None = None,
    progress: mf.Progress = mf._quiet,
) -> Verdict:
    verdict = Verdict()
    document = read_manifest(backup)
    verdict.differences += check_file(backup, document)
    if verdict.differences:
        return verdict
    verdict.differences += check_keyring(document)
    major = pgtools.server_major()
    if document.get("server_major") != major and not database_url:
        raise BackupError(
            f"This backup was made on PostgreSQL {document.get('server_major')}; this server "
            f"runs {major}: give --database-url of a server of that version."
        )
    pg_restore = pgtools.find("pg_restore", int(document.get("server_major") or major))
    created = None
    if database_url:
        target: dict[str, Any] = dict(dj_database_url.parse(database_url))
        if not _is_empty(target):
            raise BackupError(
                "The database given by --database-url is not empty: restore_verify restores "
                "only into an empty database."
            )
        url, env = database_url, pgtools.libpq_env(target)
    else:
        created = f"cloison_restore_{secrets.token_hex(4)}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE \"{created}\" TEMPLATE template0 ENCODING 'UTF8'")
        url = _url(connection.settings_dict, created)
        env = pgtools.libpq_env(connection.settings_dict, created)
    try:
        run_with_progress(
            [
                str(pg_restore),
                "--verbose",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={env['PGDATABASE']}",
                str(backup / DUMP_NAME),
            ],
            env,
            progress("Restoring tables", len(document["tables"])),
            "pg_restore",
        )
        found = _check_in_child(url, env, checkpoint, keyring_file)
    finally:
        if created:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
    verdict.differences += compare(document, found)
    verdict.facts = {
        "indexes": found["amcheck"]["indexes"],
        "values": found["values"],
        "tables": len(found["tables"]),
        "links": found["audit_links"],
    }
    return verdict


def _check_in_child(
    url: str, env: dict[str, str], checkpoint: Path | None, keyring_file: Path | None
) -> dict[str, Any]:
    child_env = {k: v for k, v in env.items() if not k.startswith("PGDATABASE")}
    child_env["DATABASE_URL"] = url
    child_env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
    if env.get("PGPASSWORD"):
        child_env["DATABASE_PASSWORD"] = env["PGPASSWORD"]
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "restore_check"]
    if checkpoint:
        command += ["--checkpoint", str(checkpoint)]
    if keyring_file:
        command += ["--keyring", str(keyring_file)]
    result = subprocess.run(  # noqa: S603 - this manage.py, no shell
        command, env=child_env, capture_output=True, text=True, cwd=settings.BASE_DIR, check=False
    )
    if result.stderr:
        sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise BackupError(
            "The check of the restored copy failed: "
            + (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        )
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def check_restored(
    checkpoint_note: str | None, progress: mf.Progress = mf._quiet
) -> dict[str, Any]:
    """In the child: this database (the restored copy) as the manifest describes one."""
    from usmp.audit import chain

    indexes, failures = amcheck()
    encrypted = mf.encrypted_digests(progress=progress)
    report = chain.verify(expect_note=checkpoint_note, progress=progress)
    return {
        "amcheck": {"indexes": indexes, "failures": failures},
        "tables": mf.table_counts(),
        "encrypted": encrypted.models,
        "decrypt_failures": encrypted.failures,
        "values": encrypted.values,
        "audit": mf.audit_state(),
        "audit_problems": report.problems,
        "audit_links": report.links,
        "used_master_keys": mf.used_master_key_ids(),
    }


def amcheck() -> tuple[int, list[str]]:
    """bt_index_check (with heapallindexed) on every btree index of the public schema."""
    failures = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        cursor.execute(
            "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = 'public' AND c.relpersistence != 't' "
            "ORDER BY c.relname"
        )
        indexes = cursor.fetchall()
        for oid, name in indexes:
            try:
                with transaction.atomic():
                    cursor.execute("SELECT bt_index_check(%s::regclass, true)", [oid])
            except DatabaseError as exc:  # amcheck reports a corruption as an error
                failures.append(f"{name}: {str(exc).strip().splitlines()[0]}")
    return len(indexes), failures
