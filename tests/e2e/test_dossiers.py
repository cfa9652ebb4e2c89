"""A psychiatrist writes a note; a somatic nurse sees no trace of the psychiatric dossier;
a break-the-glass access shows the warning banner."""

import pytest

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_psychiatric_note_is_invisible_to_the_somatic_nurse(page, live_server):
    psychiatrist = make_user("psychiatrist")
    nurse = make_user("nurse")
    patient = make_patient(prison_number="7310042", last_name="Cloisonné", first_name="Anatole")
    patient_url = f"{live_server.url}/patients/{patient.pk}/"
    psy_url = f"{patient_url}dossiers/psychiatric/"

    login(page, live_server, psychiatrist.username, PASSWORD)
    page.goto(patient_url)
    page.get_by_role("link", name="Dossier psychiatrique").click()
    page.get_by_label("Type").first.select_option("consultation")
    page.get_by_role("textbox", name="Note").fill("Idées noires ; suivi hebdomadaire proposé.")
    page.get_by_role("button", name="Ajouter au dossier").click()
    page.get_by_text("Idées noires ; suivi hebdomadaire proposé.").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "psychiatric-dossier.png"), full_page=True)
    page.get_by_role("button", name="Se déconnecter").click()

    login(page, live_server, nurse.username, PASSWORD)
    page.goto(patient_url)
    body = page.locator("main").inner_text()
    assert "Dossier somatique" in body
    assert page.locator("a[href$='/dossiers/psychiatric/']").count() == 0
    assert "Idées noires" not in page.content()
    response = page.goto(psy_url)
    assert response.status == 404
    assert "Idées noires" not in page.content()

    # Emergency: the nurse breaks the glass and sees the warning banner.
    page.goto(patient_url)
    page.get_by_role("link", name="Accès d'urgence au dossier psychiatrique").click()
    page.get_by_label("Motif de l'accès d'urgence").fill(
        "Malaise en cellule, traitement en cours inconnu"
    )
    page.get_by_label("Votre mot de passe, pour confirmer").fill(PASSWORD)
    page.get_by_role("button", name="Ouvrir le dossier en urgence").click()
    page.wait_for_url(psy_url)
    banner = page.get_by_role("alert").filter(has_text="Accès d'urgence")
    assert banner.is_visible()
    assert "Idées noires" in page.content()
    page.screenshot(path=str(ARTIFACTS / "break-the-glass.png"), full_page=True)
