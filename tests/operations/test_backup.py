"""manage.py backup and restore_verify on a unit with every kind of data: a clean verdict,
then each kind of damage named in the verdict."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from dossiers.models import Patient
from operations.backup import MANIFEST_NAME
from tests.operations.helpers import SENTINEL, build_unit, scratch_databases, tamper
from usmp.crypto.keyring import parse_keyring

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def unit_backup(django_db_setup, django_db_blocker, tmp_path_factory) -> tuple[Path, dict]:
    """One unit, backed up once (the tests below damage copies of it); its secrets kept
    to look for them in the files. The database is emptied afterwards."""
    target = tmp_path_factory.mktemp("backups")
    with django_db_blocker.unblock():
        build_unit()
        patient = Patient.objects.order_by("pk").first()
        secrets = {
            "pk": str(patient.pk),
            "patients": Patient.objects.count(),
            "plain": [SENTINEL, patient.last_name, patient.prison_number],
        }
        call_command("backup", "--target", str(target))
        call_command("flush", "--noinput")
    (made,) = target.iterdir()
    return made, secrets


@pytest.fixture
def backup(unit_backup, tmp_path: Path) -> Path:
    copy = tmp_path / unit_backup[0].name
    shutil.copytree(unit_backup[0], copy)
    return copy


def verify(backup: Path, *args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("restore_verify", str(backup), *args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_backup_then_restore_verify_is_clean_and_leaves_no_scratch_database(backup, unit_backup):
    assert sorted(p.name for p in backup.iterdir()) == ["database.dump", "manifest.json"]
    manifest = json.loads((backup / MANIFEST_NAME).read_text())
    assert manifest["tables"]["dossiers_patient"] == unit_backup[1]["patients"] > 0
    assert set(manifest["encrypted"]) >= {"dossiers.Patient", "dossiers.Entry", "dossiers.Document"}
    assert manifest["encrypted"]["dossiers.Document"]["fields"]["content"]["values"] == 3
    assert manifest["audit"]["head_seq"] > 0 and manifest["audit"]["checkpoint"]["note"]
    assert manifest["keyring"]["used_master_keys"] == ["test1"]
    code, out = verify(backup)
    assert code == 0, out
    assert "Sauvegarde vérifiée" in out
    assert scratch_databases() == []


def test_the_manifest_and_the_dump_reveal_no_plaintext_and_no_key(backup, unit_backup):
    text = (backup / MANIFEST_NAME).read_text()
    dump = (backup / "database.dump").read_bytes()
    keyring = parse_keyring(settings.USMP_KEYRING)
    for secret in unit_backup[1]["plain"]:
        assert secret not in text
        assert secret.encode() not in dump
    for key in (*keyring.master_keys.values(), keyring.blind_index_key, keyring.audit_key):
        assert base64.b64encode(key).decode() not in text
        assert key.hex() not in text


def test_one_byte_of_a_ciphertext_changed_is_named(backup, unit_backup):
    pk = unit_backup[1]["pk"]
    tamper(
        backup,
        "UPDATE dossiers_patient SET last_name = set_byte(last_name, 40, "
        "get_byte(last_name, 40) # 1) "
        "WHERE id = (SELECT id FROM dossiers_patient ORDER BY id LIMIT 1)",
    )
    code, out = verify(backup)
    assert code == 1
    assert "Première différence : Une valeur ne se déchiffre pas" in out
    assert f"dossiers.Patient {pk} last_name" in out


def test_a_deleted_row_is_named(backup):
    tamper(
        backup,
        "DELETE FROM dossiers_entry WHERE id = (SELECT id FROM dossiers_entry ORDER BY id LIMIT 1)",
    )
    code, out = verify(backup)
    assert code == 1
    assert "Table dossiers_entry : 2 ligne(s) restaurée(s), 3 dans le manifeste" in out


def test_an_altered_audit_row_is_named(backup):
    tamper(
        backup,
        "UPDATE auditlog_logentry SET object_repr = 'rewritten' "
        "WHERE id = (SELECT min(id) FROM auditlog_logentry)",
    )
    code, out = verify(backup)
    assert code == 1
    assert "Journal d'audit" in out and "the row was altered" in out


def test_a_changed_dump_file_is_named(backup):
    dump = backup / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    code, out = verify(backup)
    assert code == 1
    assert "SHA-256" in out


def test_the_wrong_keyring_names_the_missing_key_id(backup, tmp_path):
    from usmp.crypto.keyring import generate_keyring_document

    other = tmp_path / "other-keyring.json"
    other.write_text(generate_keyring_document("m2099"))
    code, out = verify(backup, "--keyring", str(other))
    assert code == 1
    assert "Mauvais trousseau : la clé maîtresse « test1 »" in out
    assert "(il contient : m2099)" in out

    same_id = tmp_path / "same-id.json"
    same_id.write_text(generate_keyring_document("test1"))
    code, out = verify(backup, "--keyring", str(same_id))
    assert code == 1
    assert "une autre clé sous l'identifiant « test1 »" in out


def test_an_external_checkpoint_is_checked(backup, tmp_path):
    note = json.loads((backup / MANIFEST_NAME).read_text())["audit"]["checkpoint"]["note"]
    kept = tmp_path / "checkpoint.txt"
    kept.write_text(note)
    code, out = verify(backup, "--checkpoint", str(kept))
    assert code == 0, out
    forged = tmp_path / "forged.txt"
    forged.write_text(note.replace("\n", "\n\n", 1))
    code, out = verify(backup, "--checkpoint", str(forged))
    assert code == 1 and "Journal d'audit" in out


def test_backup_refuses_the_keyring_directory(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.mkdir()
    monkeypatch.setenv("USMP_KEYRING_FILE", str(keys / "keyring.json"))
    with pytest.raises(CommandError, match="keyring lives there"):
        call_command("backup", "--target", str(keys / "backups"))
    with pytest.raises(CommandError, match="keyring lives there"):
        call_command("backup", "--target", str(Path(settings.BASE_DIR) / "var" / "backups"))
    assert not (keys / "backups").exists()


def test_a_failed_dump_leaves_nothing(tmp_path, monkeypatch):
    from operations import pgtools

    major = pgtools.server_major()
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] && echo "pg_dump (PostgreSQL) {major}.0" && exit 0\n'
        'echo "pg_dump: error: disk full" >&2; exit 1\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("USMP_PG_BIN", str(fake))
    target = tmp_path / "backups"
    with pytest.raises(CommandError, match="disk full"):
        call_command("backup", "--target", str(target))
    assert list(target.iterdir()) == []


def test_restore_verify_refuses_bad_input(tmp_path):
    with pytest.raises(CommandError, match="manifest"):
        call_command("restore_verify", str(tmp_path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore_verify", str(tmp_path), "--checkpoint", str(tmp_path / "none"))
    assert os.listdir(tmp_path) == []


def test_a_write_committed_between_the_manifest_and_the_dump_is_in_neither(tmp_path, monkeypatch):
    """The manifest and the dump share one snapshot: a note committed by another connection
    after the manifest was computed, before pg_dump started, is in neither, and the restore
    verifies (without the shared snapshot the dump would hold one entry more)."""
    import threading

    from django.db import connections
    from django.utils import timezone

    from dossiers.models import Dossier, Entry
    from operations import backup as backup_module
    from usmp.accounts.models import User

    build_unit(patients=2)
    before = Entry.objects.count()
    computed = backup_module.mf.audit_state

    def audit_state_then_a_write():
        state = computed()

        def write() -> None:
            dossier = Dossier.objects.first()
            Entry(
                dossier=dossier,
                data_key=dossier.data_key,
                kind="consultation",
                text="written during the backup",
                author=User.objects.first(),
                occurred_at=timezone.now(),
            ).save(force_insert=True)
            connections.close_all()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join()
        return state

    monkeypatch.setattr(backup_module.mf, "audit_state", audit_state_then_a_write)
    call_command("backup", "--target", str(tmp_path))
    assert Entry.objects.count() == before + 1
    (made,) = tmp_path.iterdir()
    assert json.loads((made / MANIFEST_NAME).read_text())["tables"]["dossiers_entry"] == before
    code, out = verify(made)
    assert code == 0, out


def test_restore_verify_into_a_given_empty_database_and_refuses_a_non_empty_one(backup):
    from django.db import connection

    name = "cloison_given_restore_test"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        code, out = verify(backup, "--database-url", f"postgres://postgres@/{name}")
        assert code == 0, out
        with pytest.raises(CommandError, match="not empty"):
            call_command(
                "restore_verify", str(backup), "--database-url", f"postgres://postgres@/{name}"
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_interrupted_backup_is_swept_by_the_next_and_two_never_write_at_once(tmp_path):
    import fcntl

    target = tmp_path / "backups"
    target.mkdir()
    left = target / ".cloison-20261201T020000Z.1a2b3c4d.partial"
    left.mkdir()
    (left / "cloison.dump").write_bytes(b"half a dump")
    # Another backup holds the directory: refused, nothing touched.
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(CommandError, match="Another backup is being written"):
            call_command("backup", "--target", str(target))
        assert left.exists()
    finally:
        os.close(fd)
    call_command("backup", "--target", str(target))
    names = sorted(p.name for p in target.iterdir())
    assert len(names) == 1 and names[0].startswith("cloison-") and not left.exists()
