"""While an emergency access is open, every page says so (README: "a red banner on every
page"), naming the dossier's compartment and the end, never the patient."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from dossiers.models import Compartment
from tests.factories import make_patient, make_user

from .conftest import open_break_glass

pytestmark = pytest.mark.django_db

BANNER = "Accès d'urgence ouvert"


def test_every_page_shows_the_open_emergency_access(client):
    nurse = make_user("nurse")
    patient = make_patient(last_name="Urgence")
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    client.force_login(nurse)
    dossier = reverse(
        "dossiers:dossier_detail",
        kwargs={"patient_id": patient.pk, "compartment": "psychiatric"},
    )
    for url in (
        reverse("home"),
        reverse("appointments:day"),
        reverse("dossiers:patient_search"),
        reverse("appointments:request_list"),
        "/no/such/page/",
    ):
        body = client.get(url).content.decode()
        assert BANNER in body, url
        assert f'href="{dossier}"' in body, url
        assert "dossier psychiatrique d'un patient, jusqu'à" in body
        assert "URGENCE" not in body.upper().replace("ACCÈS D'URGENCE", "")


def test_the_dossier_itself_carries_its_own_banner_only(client):
    nurse = make_user("nurse")
    patient = make_patient()
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    client.force_login(nurse)
    body = client.get(
        reverse(
            "dossiers:dossier_detail",
            kwargs={"patient_id": patient.pk, "compartment": "psychiatric"},
        )
    ).content.decode()
    assert BANNER not in body
    assert "Accès d'urgence (bris de glace)" in body


def test_the_banner_goes_when_the_access_ends_and_shows_to_nobody_else(client):
    nurse = make_user("nurse")
    open_break_glass(nurse, make_patient(), Compartment.PSYCHIATRIC, minutes=30)
    client.force_login(make_user("nurse"))
    assert BANNER not in client.get(reverse("home")).content.decode()
    client.force_login(nurse)
    assert BANNER in client.get(reverse("home")).content.decode()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=31), tick=False):
        client.force_login(nurse)
        assert BANNER not in client.get(reverse("home")).content.decode()
