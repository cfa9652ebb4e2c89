"""From the home page's "Ma journée" to the dossier of the first consultation in at most
two clicks; the secretary's day by practitioner; the patient's page as a crossroads; the
product's error page. Screenshots of each go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
import time_machine

from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = agenda.next_weekday(3)


@pytest.fixture
def morning():
    """The browser and the server at 08:00 on a working day (the clock keeps ticking)."""
    with time_machine.travel(agenda.at(DAY, 8), tick=True):
        yield


def _doctors_day():
    doctor = agenda.practitioner("physician")
    first = make_patient(prison_number="4410001", last_name="Premier", first_name="Louis")
    second = make_patient(prison_number="4410002", last_name="Second", first_name="Marc")
    agenda.book(patient=second, practitioner_user=doctor, start=agenda.at(DAY, 11))
    agenda.book(patient=first, practitioner_user=doctor, start=agenda.at(DAY, 9))
    return doctor, first


def test_from_my_day_to_the_first_consultations_dossier_in_one_click(page, live_server, morning):
    doctor, first = _doctors_day()
    login(page, live_server, doctor.username, PASSWORD)
    my_day = page.get_by_role("region", name=re.compile("Ma journée"))
    rows = my_day.locator("tbody tr")
    assert rows.count() == 2
    assert "PREMIER Louis" in rows.first.inner_text()
    assert "4410001" in rows.first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-my-day.png"), full_page=True)

    rows.first.get_by_role("link", name=re.compile("Dossier somatique")).click()  # click 1
    page.wait_for_url(f"{live_server.url}/patients/{first.pk}/dossiers/somatic/")
    assert "PREMIER Louis" in page.locator("main").inner_text()


def test_from_my_day_through_the_appointment_to_the_dossier_in_two_clicks(
    page, live_server, morning
):
    doctor, first = _doctors_day()
    login(page, live_server, doctor.username, PASSWORD)
    my_day = page.get_by_role("region", name=re.compile("Ma journée"))
    my_day.locator("tbody tr").first.get_by_role("link", name="09:00\u201309:30").click()  # 1
    page.wait_for_url(re.compile(r"/agenda/[0-9a-f-]+/$"))
    page.screenshot(path=str(ARTIFACTS / "appointment-ways.png"), full_page=True)
    page.locator("main").get_by_role("link", name=re.compile("Dossier somatique")).click()  # 2
    page.wait_for_url(f"{live_server.url}/patients/{first.pk}/dossiers/somatic/")

    # And back: the dossier's breadcrumb leads to the patient's page, which lists the day's
    # appointment, one click from the appointment.
    page.get_by_role("navigation", name="Fil d'Ariane").get_by_role("link").first.click()
    page.wait_for_url(f"{live_server.url}/patients/{first.pk}/")
    assert "Prochains rendez-vous" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "patient-crossroads.png"), full_page=True)


def test_the_secretary_sees_the_units_day_by_practitioner(page, live_server, morning):
    _doctors_day()
    secretary = make_user("secretary")
    login(page, live_server, secretary.username, PASSWORD)
    unit_day = page.get_by_role("region", name=re.compile("La journée de l'unité"))
    assert unit_day.locator("h3").count() == 1
    assert unit_day.locator("tbody tr").count() == 2
    assert page.locator("a[href*='/dossiers/']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "home-unit-day.png"), full_page=True)


def test_an_unknown_address_is_the_products_page_in_french(page, live_server):
    nurse = make_user("nurse")
    login(page, live_server, nurse.username, PASSWORD)
    response = page.goto(f"{live_server.url}/agenda/nowhere/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page introuvable").is_visible()
    page.get_by_role("link", name="Retour à l'accueil").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/agenda/nowhere/")
    page.screenshot(path=str(ARTIFACTS / "error-404.png"), full_page=True)


def test_the_emergency_banner_follows_the_clinician_everywhere(page, live_server):
    from dossiers.models import Compartment
    from tests.dossiers.conftest import open_break_glass

    nurse = make_user("nurse")
    patient = make_patient(last_name="Bandeau")
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    login(page, live_server, nurse.username, PASSWORD)
    for path in ("/", "/agenda/", "/patients/"):
        page.goto(f"{live_server.url}{path}")
        banner = page.get_by_role("alert").filter(has_text="Accès d'urgence ouvert")
        assert banner.is_visible(), path
        assert "BANDEAU" not in banner.inner_text()
    page.screenshot(path=str(ARTIFACTS / "emergency-banner.png"), full_page=True)
    banner.get_by_role("link").click()
    page.wait_for_url(f"{live_server.url}/patients/{patient.pk}/dossiers/psychiatric/")


def test_the_dossier_opens_on_its_summary(page, live_server):
    from dossiers.models import Compartment
    from tests.dossiers.conftest import write_entry

    physician = make_user("physician")
    patient = make_patient(last_name="Resume")
    write_entry(physician, patient, Compartment.SOMATIC, "Pénicilline : urticaire", "allergy")
    write_entry(physician, patient, Compartment.SOMATIC, "Metformine 500 mg x2", "treatment")
    write_entry(physician, patient, Compartment.SOMATIC, "Consultation de suivi.", "consultation")
    login(page, live_server, physician.username, PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/dossiers/somatic/")
    summary = page.get_by_role("region", name="Résumé")
    assert "Pénicilline : urticaire" in summary.inner_text()
    assert "Metformine 500 mg x2" in summary.inner_text()
    assert "Consultation de suivi" not in summary.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dossier-summary.png"), full_page=True)
