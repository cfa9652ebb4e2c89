"""The prison says a detainee cannot be brought (court hearing) through the bridge; the nurse
sees it on the home page and on the booking screen, and booking over it is refused."""

from __future__ import annotations

import datetime
import json
import re
import urllib.request

import pytest

from appointments.models import Appointment
from bridge import services
from bridge.models import Scope
from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _push(live_server, token: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 - the test's live server
        f"{live_server.url}/bridge/v1/unavailabilities",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def test_nurse_sees_the_window_and_cannot_book_over_it(page, live_server):
    nurse = make_user("nurse")
    coordinator = make_user("coordinator")
    doctor = agenda.practitioner("physician", start=datetime.time(9), end=datetime.time(12))
    patient = make_patient(prison_number="5550202", last_name="Tribunal", first_name="Paul")
    day = agenda.next_weekday(1)  # a Tuesday at least a week ahead
    booked = agenda.book(patient=patient, practitioner_user=doctor, start=agenda.at(day, 9))
    token = services.client_create(
        acting_user=coordinator,
        establishment="Maison d'arrêt de Démo",
        scopes=[Scope.CUSTODY_WRITE],
    ).token
    status = _push(
        live_server,
        token,
        {
            "id": "audience-42",
            "prison_number": "5550202",
            "start": agenda.at(day, 8).isoformat(),
            "end": agenda.at(day, 11).isoformat(),
        },
    )
    assert status == 201
    ARTIFACTS.mkdir(exist_ok=True)

    login(page, live_server, nurse.username, PASSWORD)
    panel = page.locator(
        "section", has=page.get_by_role("heading", name="Rendez-vous à reprogrammer")
    )
    assert "TRIBUNAL Paul" in panel.inner_text()
    page.screenshot(path=str(ARTIFACTS / "bridge-to-reschedule.png"), full_page=True)
    panel.get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf"/agenda/{booked.pk}/$"))
    assert "déplacez ce rendez-vous" in page.locator("main").inner_text()

    page.goto(f"{live_server.url}/agenda/book/?patient={patient.pk}")
    warning = page.locator("section.card-warning")
    assert "Ne peut pas être conduit" in warning.inner_text()
    form = page.locator("form", has=page.get_by_role("button", name="Réserver", exact=True))
    form.locator("[name=specialty]").select_option(label="Médecine générale")
    form.locator("[name=date]").fill(day.isoformat())
    form.locator("[name=start_time]").fill("10:00")
    form.locator("[name=end_time]").fill("10:20")
    form.locator("[name=practitioner]").select_option(label=doctor.get_full_name())
    form.locator("[name=room]").select_option(index=1)
    page.get_by_role("button", name="Réserver", exact=True).click()
    page.wait_for_load_state()
    refusal = form.locator(".errorlist, .form-errors, [role=alert]").first.inner_text()
    assert "ne peut pas être conduit du" in refusal
    assert "ne consulte pas" not in refusal  # the only reason given is the prison's
    page.screenshot(path=str(ARTIFACTS / "bridge-booking-refused.png"), full_page=True)
    assert Appointment.objects.filter(patient=patient).count() == 1
