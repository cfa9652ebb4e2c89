"""A nurse records a care request and books it from the free-slot list; a secretary cancels
an appointment with a reason; the printable day list renders."""

from __future__ import annotations

import re

import pytest

from appointments.models import Appointment, CareRequest, Status
from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_nurse_books_a_care_request_from_the_free_slots(page, live_server):
    nurse = make_user("nurse")
    doctor = agenda.practitioner("physician")
    patient = make_patient(prison_number="5550101", last_name="Courrier", first_name="Lucien")
    ARTIFACTS.mkdir(exist_ok=True)

    login(page, live_server, nurse.username, PASSWORD)
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Demandes de soins"
    ).click()
    page.get_by_role("link", name="Enregistrer une demande de soins").first.click()
    page.get_by_label("Numéro d'écrou").fill("5550101")
    page.get_by_label("Spécialité demandée").select_option(label="Médecine générale")
    page.get_by_label("Priorité").select_option(label="Urgent")
    page.get_by_label("Texte de la demande").fill("J'ai mal au ventre depuis deux jours.")
    page.screenshot(path=str(ARTIFACTS / "agenda-care-request.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer et réserver").click()

    page.wait_for_url(re.compile(r"/agenda/book/\?care_request="))
    assert "J'ai mal au ventre" in page.locator("main").inner_text()
    first_slot = page.locator("#slots a").first
    first_slot.wait_for()
    page.screenshot(path=str(ARTIFACTS / "agenda-free-slots.png"), full_page=True)
    first_slot.click()
    page.wait_for_url(re.compile(r"start_time="))
    page.get_by_role("button", name="Réserver", exact=True).click()

    page.wait_for_url(re.compile(r"/agenda/\?date="))
    assert "Rendez-vous réservé" in page.locator(".messages").inner_text()
    grid = page.locator(".agenda-grid")
    assert "COURRIER Lucien" in grid.inner_text()
    page.screenshot(path=str(ARTIFACTS / "agenda-day-view.png"), full_page=True)
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.practitioner == doctor
    assert CareRequest.objects.get().status == CareRequest.Status.BOOKED


def test_secretary_cancels_with_a_reason_and_prints_the_day_list(page, live_server):
    secretary = make_user("secretary")
    appointment = agenda.book(
        patient=make_patient(last_name="Annulable", first_name="Jean"),
        motive="SENTINELLE-MOTIF",
    )
    day = appointment.start.astimezone(agenda.PARIS).date().isoformat()

    login(page, live_server, secretary.username, PASSWORD)
    page.goto(f"{live_server.url}/agenda/?date={day}")
    page.locator(".agenda-grid a.appt").first.click()
    assert "SENTINELLE" not in page.content()
    page.get_by_role("link", name="Annuler", exact=True).click()
    page.get_by_label("Motif d'annulation ou de non-réalisation").select_option(
        label="Patient non amené"
    )
    assert page.locator("textarea[name=comment]").count() == 0
    page.get_by_role("button", name="Annuler le rendez-vous").click()
    page.wait_for_url(re.compile(rf"/agenda/{appointment.pk}/$"))
    assert "Annulé" in page.locator("main").inner_text()
    assert "Patient non amené" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "agenda-cancelled.png"), full_page=True)
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED

    other = agenda.book(
        patient=make_patient(last_name="Imprime", first_name="Paul"),
        practitioner_user=appointment.practitioner,
        room_obj=appointment.room,
        start=appointment.start,
    )
    page.goto(f"{live_server.url}/agenda/print/?date={day}")
    page.emulate_media(media="print")
    text = page.locator("main").inner_text()
    assert "IMPRIME Paul" in text and "ANNULABLE" not in text
    assert other.specialty.name in text
    page.screenshot(path=str(ARTIFACTS / "agenda-day-list-print.png"), full_page=True)
    page.pdf(path=str(ARTIFACTS / "agenda-day-list.pdf"))
