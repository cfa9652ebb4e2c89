from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PERSONAS, make_patient, make_user


@pytest.fixture
def persona_client(db):
    """persona_client("nurse") -> a Client logged in as a fresh user of that persona."""

    def build(persona: str) -> Client:
        client = Client()
        if persona != "anonymous":
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


ALL_PERSONAS = ["anonymous", *PERSONAS]
