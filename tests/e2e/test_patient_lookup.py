"""A nurse finds a patient by prison number; the IT administrator finds nothing."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_nurse_finds_patient_and_superuser_gets_404(page, live_server):
    nurse = make_user("nurse")
    root = make_user("superuser")
    patient = make_patient(prison_number="4815162", last_name="Navigateur", first_name="Léon")
    make_patient(prison_number="4815163", last_name="Voisin", first_name="Autre")

    login(page, live_server, nurse.username, PASSWORD)
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="Patients").click()
    page.get_by_label("Numéro d'écrou").fill("4815 162")
    page.get_by_role("button", name="Rechercher").click()
    results = page.locator("#search-results")
    assert "1 patient trouvé" in results.inner_text()
    assert "VOISIN" not in results.inner_text()
    page.get_by_role("link", name="4815162").click()
    assert page.get_by_role("heading", level=1).inner_text() == "NAVIGATEUR Léon"
    patient_url = page.url
    assert patient_url.endswith(f"/patients/{patient.pk}/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "nurse-patient-page.png"), full_page=True)
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")

    login(page, live_server, root.username, PASSWORD)
    response = page.goto(patient_url)
    assert response.status == 404
    assert "NAVIGATEUR" not in page.content()
    page.goto(f"{live_server.url}/admin/")
    admin_text = page.locator("body").inner_text()
    assert "Patient" not in admin_text and "NAVIGATEUR" not in admin_text.upper()
    response = page.goto(f"{live_server.url}/admin/dossiers/patient/")
    assert response.status == 404


def test_inline_validation_shows_errors_while_typing(page, live_server):
    nurse = make_user("nurse")
    login(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/patients/new/")
    page.get_by_label("Numéro d'écrou").fill("12")
    page.get_by_label("Numéro d'écrou").press("Tab")
    feedback = page.locator("#prison_number-feedback")
    feedback.get_by_text("4 à 10 chiffres").wait_for()
    page.get_by_label("Numéro d'écrou").fill("123456")
    page.get_by_label("Numéro d'écrou").press("Tab")
    # expect() polls from Playwright's side: no string eval, which the CSP forbids.
    expect(feedback).to_have_text("")
    page.screenshot(path=str(ARTIFACTS / "patient-form.png"), full_page=True)


def test_back_after_a_search_shows_the_results_again_without_resubmitting(page, live_server):
    nurse = make_user("nurse")
    make_patient(prison_number="4815170", last_name="Retour", first_name="Arrière")
    login(page, live_server, nurse.username, PASSWORD)
    page.get_by_role("link", name="Patients").click()
    page.get_by_label("Numéro d'écrou").fill("4815170")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_url(f"{live_server.url}/patients/")  # redirected: no term in the address
    assert "1 patient trouvé" in page.locator("#search-results").inner_text()
    page.get_by_role("link", name="4815170").click()
    page.get_by_role("heading", level=1, name="RETOUR Arrière").wait_for()

    response = page.go_back()
    # A POST page would answer Back with Chromium's "Confirm Form Resubmission"
    # (ERR_CACHE_MISS) under no-store; the results page is a plain GET.
    assert response is not None and response.status == 200
    assert response.request.method == "GET"
    assert page.url == f"{live_server.url}/patients/"
    assert "RETOUR Arrière" in page.locator("#search-results").inner_text()
    page.screenshot(path=str(ARTIFACTS / "search-after-back.png"), full_page=True)
    page.reload()
    assert "RETOUR Arrière" in page.locator("#search-results").inner_text()
