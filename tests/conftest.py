from __future__ import annotations

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations
from django.test import Client

from tests.accounts.otp import enrol_totp, mark_verified
from tests.factories import PERSONAS, make_patient, make_user
from usmp.core.db import MAINTENANCE_SETTING

_sql_flush = DatabaseOperations.sql_flush


def _sql_flush_in_maintenance(self, style, tables, **kwargs):
    """Transactional tests empty the database with TRUNCATE, which the append-only triggers
    refuse unless the session deliberately declares maintenance (usmp.core.db)."""
    statements = _sql_flush(self, style, tables, **kwargs)
    return [f"SET LOCAL {MAINTENANCE_SETTING} = 'on'", *statements] if statements else statements


DatabaseOperations.sql_flush = _sql_flush_in_maintenance


# The test client's force_login completes the login as the browser does, second factor
# included (tests.accounts.otp.mark_verified): tests of pages need a complete login. A
# session with the password alone is ``force_login_password_only``.
_force_login = Client.force_login


def _force_login_verified(self, user, backend=None):
    _force_login(self, user, backend)
    mark_verified(self, user)


Client.force_login = _force_login_verified
Client.force_login_password_only = _force_login

# A physician with a second factor enrolled who typed only the password: treated as
# anonymous by every page (sent to the second step instead of the login page).
PASSWORD_ONLY = "password_only"


@pytest.fixture
def persona_client(db):
    """persona_client("nurse") -> a Client logged in as a fresh user of that persona."""

    def build(persona: str) -> Client:
        client = Client()
        if persona == PASSWORD_ONLY:
            user = make_user("physician")
            enrol_totp(user)
            client.force_login_password_only(user)
        elif persona != "anonymous":
            client.force_login(make_user(persona))
        return client

    return build


@pytest.fixture
def nurse(db):
    return make_user("nurse")


@pytest.fixture
def secretary(db):
    return make_user("secretary")


@pytest.fixture
def superuser(db):
    return make_user("superuser")


@pytest.fixture
def patient(db):
    return make_patient()


@pytest.fixture
def live_server(live_server, transactional_db):
    """The live server with its audit sequencer (a loop in a thread, as `make run` has a
    sequencer process beside its server), stopped before the database is emptied."""
    from usmp.audit import sequencer

    loop = sequencer.Loop().start()
    yield live_server
    loop.stop()


ALL_PERSONAS = ["anonymous", *PERSONAS, PASSWORD_ONLY]
