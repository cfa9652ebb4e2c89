"""A unit with every kind of data, and a way to tamper with a backup's dump (restore it,
change it by SQL with triggers off, dump it again, keep the manifest's file digest true so
that the change is found by the restored copy's checks, not by the file's digest)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import psycopg
from django.db import connection
from django.utils import timezone

from dossiers.models import Document, Dossier, Entry
from operations import pgtools
from operations.backup import DUMP_NAME, MANIFEST_NAME, sha256_file
from usmp.accounts.models import User
from usmp.audit import chain

SENTINEL = "SENTINELLE-SECRET-7f3a"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + SENTINEL.encode()


def build_unit(patients: int = 8) -> None:
    from demo.unit import load_demo

    load_demo(patients=patients)
    author = User.objects.filter(is_superuser=False).first()
    for dossier in Dossier.objects.all()[:3]:
        Entry(
            dossier=dossier,
            data_key=dossier.data_key,
            kind="consultation",
            text=f"{SENTINEL} note",
            author=author,
            occurred_at=timezone.now(),
        ).save(force_insert=True)
        Document(
            dossier=dossier,
            data_key=dossier.data_key,
            title=f"{SENTINEL} titre",
            filename="sentinelle.png",
            content=PNG,
            content_type="image/png",
            size=len(PNG),
            uploaded_by=author,
        ).save(force_insert=True)
    chain.sequence()
    chain.checkpoint()


def _params(name: str) -> dict[str, str]:
    d = connection.settings_dict
    out = {"dbname": name}
    for key, arg in (
        ("USER", "user"),
        ("HOST", "host"),
        ("PORT", "port"),
        ("PASSWORD", "password"),
    ):
        if d.get(key):
            out[arg] = str(d[key])
    return out


def tamper(backup: Path, sql: str) -> None:
    major = pgtools.server_major()
    name = f"cloison_tamper_{secrets.token_hex(4)}"
    env = pgtools.libpq_env(connection.settings_dict, name)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        dump = backup / DUMP_NAME
        subprocess.run(
            [str(pgtools.find("pg_restore", major)), "--no-owner", "--exit-on-error",
             f"--dbname={name}", str(dump)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        with psycopg.connect(**_params(name), autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            result = conn.execute(sql)
            assert result.rowcount == 1, sql
        subprocess.run(
            [str(pgtools.find("pg_dump", major)), "--format=custom", "--no-owner",
             f"--file={dump}"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    manifest = backup / MANIFEST_NAME
    document = json.loads(manifest.read_text())
    document["dump"]["sha256"] = sha256_file(dump)
    manifest.write_text(json.dumps(document))


def scratch_databases() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'cloison_restore_%'")
        return [row[0] for row in cursor.fetchall()]
