"""A guard's workstation enrolled in Chromium by pasting the client's token, then printing
the movement list without any token in its address; a revoked workstation is refused."""

from __future__ import annotations

import datetime

import pytest

from bridge import services
from bridge.models import BridgeDevice, Scope
from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS
from tests.factories import make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_workstation_enrols_with_the_token_then_prints(page, live_server):
    from bridge.models import MovementWave
    from bridge.policy import DEFAULT_WAVES

    for wave in DEFAULT_WAVES:
        MovementWave.objects.get_or_create(time=wave)
    coordinator = make_user("coordinator")
    token = services.client_create(
        acting_user=coordinator,
        establishment="Maison d'arrêt de Démo",
        scopes=[Scope.MOVEMENTS_READ],
    ).token
    patient = make_patient(prison_number="5550303")
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    agenda.book(patient=patient, start=agenda.at(tomorrow, 10))

    page.goto(f"{live_server.url}/bridge/print/")
    assert "pas enregistré" in page.content()
    page.get_by_role("link", name="Enregistrer ce poste").click()
    page.get_by_label("Le jeton du client").fill("clb_mal-recopie")
    page.get_by_label("Nom de ce poste").fill("Poste bâtiment A")
    page.get_by_role("button", name="Enregistrer").click()
    assert "pas valable" in page.content()  # a clear message, nothing enrolled
    assert not BridgeDevice.objects.exists()
    page.get_by_label("Le jeton du client").fill(token)
    page.get_by_label("Nom de ce poste").fill("Poste bâtiment A")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{live_server.url}/bridge/print/")
    assert "5550303" in page.content()
    assert token not in page.url
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["cloison_bridge_device"]["httpOnly"]
    assert cookies["cloison_bridge_device"]["sameSite"] == "Strict"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bridge-print-enrolled.png"), full_page=True)

    services.device_revoke(acting_user=coordinator, device_id=BridgeDevice.objects.get().pk)
    page.reload()
    assert "pas enregistré" in page.content()
    assert "5550303" not in page.content()
