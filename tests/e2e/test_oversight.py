"""The coordinator finds the break-the-glass access in the audit log and marks it reviewed;
a nurse cannot reach the page."""

import pytest

from dossiers.models import Compartment
from tests.dossiers.conftest import open_break_glass
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_reviews_the_emergency_access(page, live_server, client):
    coordinator = make_user("coordinator")
    nurse = make_user("nurse")
    patient = make_patient(prison_number="6020031")
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    # The nurse reads the dossier under the emergency access (an audited, flagged read).
    client.force_login(nurse)
    assert client.get(f"/patients/{patient.pk}/dossiers/psychiatric/").status_code == 200

    login(page, live_server, nurse.username, PASSWORD)
    response = page.goto(f"{live_server.url}/coordination/audit/")
    assert response.status == 403
    page.get_by_role("button", name="Se déconnecter").click()

    login(page, live_server, coordinator.username, PASSWORD)
    page.get_by_role("link", name="Journal d'audit").click()
    page.get_by_label("Patient (numéro d'écrou)").fill("6020031")
    page.get_by_label("Accès refusés ou d'urgence seulement").check()
    page.get_by_role("button", name="Filtrer").click()
    table = page.locator("table.audit-table")
    assert "urgence" in table.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "audit-log.png"), full_page=True)
    page.get_by_role("link", name="1 accès d'urgence attend votre contrôle.").click()
    page.get_by_label("Commentaire de contrôle").fill("Malaise réel, accès proportionné.")
    page.get_by_role("button", name="Marquer comme contrôlé").click()
    page.get_by_text("Accès d'urgence marqué comme contrôlé.").wait_for()
    assert "Malaise réel, accès proportionné." in page.content()
    page.screenshot(path=str(ARTIFACTS / "break-glass-reviewed.png"), full_page=True)
