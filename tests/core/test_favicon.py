"""The application's icon: every browser asks for one, and a missing icon was a refused
"page" in the coordinator's audit trail at every new session."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from usmp.audit.models import AccessEvent, RefusalCounter

pytestmark = pytest.mark.django_db

ICON = "/static/img/cloison.svg"


def test_favicon_ico_leads_to_the_icon_and_records_no_refusal():
    answer = Client().get("/favicon.ico")
    assert answer.status_code == 301
    assert answer["Location"] == ICON
    assert not AccessEvent.objects.filter(outcome=AccessEvent.Outcome.DENIED).exists()
    assert not RefusalCounter.objects.exists()


def test_the_icon_is_a_static_file():
    found = finders.find("img/cloison.svg")
    assert found is not None
    with open(found, encoding="utf-8") as icon:
        assert icon.read().startswith("<svg")


def test_pages_name_the_icon(persona_client, client):
    """The base template, and the guards' print pages' shared head."""
    pages = {
        "login": client.get("/accounts/login/"),
        "home": persona_client("nurse").get("/"),
        "print enrolment": client.get("/bridge/print/enrol/"),
        "print refused": client.get("/bridge/print/"),
    }
    for name, page in pages.items():
        assert f'<link rel="icon" href="{ICON}"' in page.content.decode(), name
