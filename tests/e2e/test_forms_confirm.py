"""The care-request form names the patient whose number is typed and warns of a slip
filed twice; the move page is filled by clicking a free slot."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, CareRequest
from appointments.services import care_requests
from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_care_request_form_names_the_patient_and_warns_of_a_double(page, live_server):
    nurse = make_user("nurse")
    patient = make_patient(
        prison_number="6610001", last_name="Billet", first_name="Rose",
        birth_date=datetime.date(1979, 6, 30),
    )  # fmt: skip
    care_requests.care_request_create(
        acting_user=nurse,
        patient=patient,
        specialty=agenda.specialty(),
        received_on=timezone.localdate() - datetime.timedelta(days=2),
        priority="soon",
        text="Douleur dentaire depuis lundi.",
    )
    login(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/agenda/requests/new/")
    page.get_by_label("Numéro d'écrou").fill("6610001")
    page.get_by_label("Numéro d'écrou").press("Tab")
    feedback = page.locator("#prison_number-feedback")
    expect(feedback).to_contain_text("BILLET Rose, né(e) le 30/06/1979")
    page.get_by_label("Spécialité demandée").select_option(label="Médecine générale")
    page.get_by_label("Priorité").select_option(label="Semi-urgent")
    page.get_by_label("Texte de la demande").fill("Douleur dentaire depuis lundi.")
    page.get_by_role("button", name="Enregistrer dans la file d'attente").click()

    warning = page.locator("#likely-duplicate")
    expect(warning).to_contain_text("Cette demande est peut-être déjà enregistrée")
    expect(warning).to_contain_text("BILLET Rose")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "care-request-duplicate.png"), full_page=True)
    assert CareRequest.objects.count() == 1
    page.get_by_role("link", name="Ne pas l'enregistrer").click()
    page.wait_for_url(f"{live_server.url}/agenda/requests/")
    assert CareRequest.objects.count() == 1


def test_moving_an_appointment_by_clicking_a_free_slot(page, live_server):
    secretary = make_user("secretary")
    doctor = agenda.practitioner("physician")
    appointment = agenda.book(practitioner_user=doctor)
    login(page, live_server, secretary.username, PASSWORD)
    page.goto(f"{live_server.url}/agenda/{appointment.pk}/move/")
    slot = page.locator(".slot-list a").nth(1)
    chosen = slot.inner_text()
    slot.click()
    page.wait_for_url(re.compile(r"/move/\?date="))
    expect(page.get_by_role("status")).to_contain_text("Le créneau choisi est dans le formulaire")
    page.get_by_role("button", name="Déplacer").click()
    # A reason is asked before anything moves.
    expect(page.locator("#reason-feedback")).to_contain_text("Ce champ est obligatoire")
    page.get_by_label("Pourquoi le déplacer ?").select_option(label="Praticien absent ou en retard")
    page.screenshot(path=str(ARTIFACTS / "move-from-slot.png"), full_page=True)
    page.get_by_role("button", name="Déplacer").click()
    # (The browser keeps the slot link's #move-form fragment through the redirect.)
    page.wait_for_url(re.compile(rf"/agenda/{appointment.pk}/(#move-form)?$"))
    expect(page.locator(".messages")).to_contain_text("Rendez-vous déplacé")
    moved = Appointment.objects.get(pk=appointment.pk)
    local = moved.start.astimezone(agenda.PARIS)
    assert local.strftime("%H:%M") in chosen
    assert moved.start != appointment.start
