"""A round trip between two Cloison units: unit A is the test database and keyring; unit B
is a second database on the same PostgreSQL server with its own keyring, driven only through
``manage.py transfer_import`` and a reporting script in separate processes."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from dossiers.access.export import access_dossier_export
from dossiers.models import Compartment, Consent
from dossiers.services import consent_record, consent_withdraw
from tests.dossiers.conftest import write_entry
from tests.factories import make_patient, make_user
from transfers import fhir
from transfers.keys import own_keys
from usmp.access.viewer import Viewer

from .helpers import UNIT_B_KEYRING, build, fill, keys_of_b, register

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = 120


def _dsn(name: str) -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=name,
        user=s["USER"] or "postgres",
        host=s["HOST"] or os.environ.get("PGHOST"),
        port=s["PORT"] or os.environ.get("PGPORT"),
    )


@pytest.fixture
def unit_b(tmp_path, transactional_db):
    """A second database, a copy of the migrated test database taken before any data."""
    source = connection.settings_dict["NAME"]
    name = f"{source}_unit_b"
    connection.close()
    with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    keyring = tmp_path / "keyring-b.json"
    keyring.write_text(UNIT_B_KEYRING)
    s = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.transfers.settings_unit_b",
        "DATABASE_URL": f"postgres://{s['USER'] or 'postgres'}@/{name}",
        "USMP_KEYRING_FILE": str(keyring),
    }
    env.pop("USMP_KEYRING", None)
    yield {"env": env, "dsn": _dsn(name)}
    with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(env, *args, check=True):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)


def _sent_digests(physician, patient) -> dict:
    export = access_dossier_export(
        viewer=Viewer.system(physician), patient_id=patient.pk, compartment=Compartment.SOMATIC
    )
    return {
        "entries": {
            str(e.id): fhir.digest_of(
                fhir.entry_facts(
                    e,
                    str(e.supersedes_id) if e.supersedes_id else None,
                    str(e.addendum_to_id) if e.addendum_to_id else None,
                )
            )
            for e in export.entries
        },
        "documents": {str(d.id): fhir.digest_of(fhir.document_facts(d)) for d in export.documents},
        "consents": {str(c.id): fhir.digest_of(fhir.consent_facts(c)) for c in export.consents},
    }


def test_round_trip_between_two_units(unit_b, tmp_path):
    env, dsn = unit_b["env"], unit_b["dsn"]
    keys_a = own_keys()
    _run(env, "-m", "tests.transfers.unit_b", "setup", keys_a.recipient, keys_a.verify_key)

    coordinator = make_user("coordinator")
    recipient = register(coordinator, keys_of_b(), "Fictiveville")
    physician = make_user("physician")
    patient = make_patient(last_name="Voyageur", first_name="Paul", ins="185047512345678")
    fill(patient, physician, entries=ENTRIES, documents=3)
    consent = consent_record(
        acting_user=physician,
        patient=patient,
        kind=Consent.Kind.TELECONSULTATION,
        decision=Consent.Decision.OPPOSITION,
        given_on=datetime.date(2026, 1, 10),
    )
    consent_withdraw(acting_user=physician, consent=consent, on=datetime.date(2026, 2, 10))
    psychiatrist = make_user("psychiatrist")
    write_entry(psychiatrist, patient, Compartment.PSYCHIATRIC, "PSY-ONLY note")
    package = tmp_path / "somatic.cloison"
    package.write_bytes(build(physician, patient, recipient).data)
    sent = _sent_digests(physician, patient)

    command = [
        "manage.py",
        "transfer_import",
        str(package),
        "--user",
        "dr_b",
        "--create",
        "--prison-number",
        "424242",
        "--arrival-date",
        "2026-03-01",
    ]
    # Killed halfway (SIGKILL: no cleanup), then resumed.
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _count(dsn, "transfers_importedresource") < 30:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = _count(dsn, "transfers_importedresource")
    assert 30 <= partial < ENTRIES
    with psycopg.connect(dsn) as c:
        assert (
            c.execute("SELECT status FROM transfers_packageimport").fetchone()[0] == "in_progress"
        )

    resumed = _run(env, *command)
    assert "complete" in resumed.stdout
    assert "DIFFÉRENT" not in resumed.stdout
    counts = [
        _count(dsn, t)
        for t in ("dossiers_entry", "dossiers_document", "dossiers_consent", "dossiers_patient")
    ]
    # The same package again creates nothing.
    again = _run(env, *command)
    assert "complete" in again.stdout
    assert [
        _count(dsn, t)
        for t in ("dossiers_entry", "dossiers_document", "dossiers_consent", "dossiers_patient")
    ] == counts

    received = json.loads(_run(env, "-m", "tests.transfers.unit_b", "report", "dr_b").stdout)
    assert received["patients"] == 1
    assert received["identity"] == ["Voyageur", "Paul", "1985-04-12", "185047512345678"]
    # Every entry version, document and consent, identical; nothing more.
    assert received["entries"] == sent["entries"]
    assert received["documents"] == sent["documents"]
    assert received["consents"] == sent["consents"]
    assert counts[:3] == [ENTRIES, 3, 2]
    with psycopg.connect(dsn) as c:
        reconciliation = c.execute("SELECT reconciliation FROM transfers_packageimport").fetchone()[
            0
        ]
        assert reconciliation["matches"] is True
        plain = fhir.summary(sent)
        assert {k: v["count"] for k, v in reconciliation["sent"].items()} == {
            k: v["count"] for k, v in plain.items()
        }
        assert reconciliation["sent"] == reconciliation["received"]
        # Kept keyed with the receiving unit's key, never as the package's plain digests.
        assert all(reconciliation["sent"][k]["digest"] != v["digest"] for k, v in plain.items())
        # The psychiatric dossier received nothing.
        psy = c.execute(
            "SELECT count(*) FROM dossiers_entry e JOIN dossiers_dossier d ON d.id = e.dossier_id "
            "WHERE d.compartment = 'psychiatric'"
        ).fetchone()[0]
        assert psy == 0

    # A later package of the other compartment finds the patient by INS.
    psy_package = tmp_path / "psy.cloison"
    psy_package.write_bytes(build(psychiatrist, patient, recipient, Compartment.PSYCHIATRIC).data)
    listing = _run(
        env, "manage.py", "transfer_import", str(psy_package), "--user", "psy_b", check=False
    )
    assert listing.returncode != 0
    assert "INS identique" in listing.stdout
