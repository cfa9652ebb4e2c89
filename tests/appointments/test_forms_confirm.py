"""Forms that confirm what they act on: the patient behind a typed prison number, a slip
filed twice, a move filled from a clicked free slot."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import CareRequest
from appointments.services import care_requests
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

from . import factories as f

pytestmark = pytest.mark.django_db


def _check(client, form: str, number: str):
    return client.post(
        f"{reverse('appointments:validate')}?form={form}&field=prison_number",
        {"prison_number": number},
        HTTP_HX_REQUEST="true",
    )


@pytest.mark.parametrize(("persona", "form"), [("nurse", "care_request"), ("secretary", "booking")])
def test_a_typed_prison_number_shows_whose_it_is(client, persona, form):
    patient = make_patient(
        prison_number="7720001", last_name="Confirme", first_name="Jeanne",
        birth_date=datetime.date(1990, 2, 3),
    )  # fmt: skip
    client.force_login(make_user(persona))
    body = _check(client, form, "7720 001").content.decode()
    assert "CONFIRME Jeanne, né(e) le 03/02/1990" in body
    event = AccessEvent.objects.latest("id")
    assert (event.action, event.purpose, event.patient_id) == ("patient_view", "check", patient.pk)


def test_an_unknown_number_shows_no_one_and_reads_nothing(client):
    client.force_login(make_user("nurse"))
    before = AccessEvent.objects.count()
    body = _check(client, "care_request", "7729999").content.decode()
    assert "Aucun patient" in body and "né(e) le" not in body
    assert AccessEvent.objects.count() == before


def _slip(client, patient, **overrides):
    data = {
        "prison_number": patient.prison_number,
        "received_on": timezone.localdate().isoformat(),
        "specialty": f.specialty().pk,
        "priority": "soon",
        "text": "Mal au dos depuis une semaine.",
        "then": "queue",
        **overrides,
    }
    return client.post(reverse("appointments:request_create"), data)


def test_the_same_slip_twice_is_shown_before_saving(client):
    nurse = make_user("nurse")
    patient = make_patient(last_name="Deuxfois")
    care_requests.care_request_create(
        acting_user=nurse,
        patient=patient,
        specialty=f.specialty(),
        received_on=timezone.localdate() - datetime.timedelta(days=3),
        priority="soon",
        text="Mal au dos.",
    )
    client.force_login(nurse)
    response = _slip(client, patient)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Cette demande est peut-être déjà enregistrée" in body
    assert "DEUXFOIS" in body and "Mal au dos." in body
    assert CareRequest.objects.count() == 1

    recorded = _slip(client, patient, confirm_duplicate="1")
    assert recorded.status_code == 302
    assert CareRequest.objects.count() == 2


@pytest.mark.parametrize("case", ["other specialty", "15 days ago"])
def test_no_warning_for_another_specialty_or_an_old_slip(client, case):
    nurse = make_user("nurse")
    patient = make_patient()
    care_requests.care_request_create(
        acting_user=nurse,
        patient=patient,
        specialty=f.specialty("psychiatry" if case == "other specialty" else "general-medicine"),
        received_on=timezone.localdate()
        - datetime.timedelta(days=15 if case == "15 days ago" else 1),
        priority="soon",
        text="Demande.",
    )
    client.force_login(nurse)
    assert _slip(client, patient).status_code == 302
    assert CareRequest.objects.count() == 2


def test_the_psychiatric_text_of_a_likely_duplicate_stays_behind_the_wall(client):
    psy_nurse = make_user("psychiatrist")
    patient = make_patient()
    care_requests.care_request_create(
        acting_user=psy_nurse,
        patient=patient,
        specialty=f.specialty("psychiatry"),
        received_on=timezone.localdate(),
        priority="soon",
        text="PSY-SECRET",
    )
    client.force_login(make_user("nurse"))
    response = _slip(client, patient, specialty=f.specialty("psychiatry").pk)
    assert "Cette demande est peut-être déjà enregistrée" in response.content.decode()
    assert "PSY-SECRET" not in response.content.decode()


def test_a_clicked_free_slot_fills_the_move_form(client):
    doctor = f.practitioner("physician")
    appointment = f.book(practitioner_user=doctor)
    booked_at = appointment.start
    client.force_login(make_user("secretary"))
    url = reverse("appointments:appointment_move", kwargs={"appointment_id": appointment.pk})
    page = client.get(url)
    slots = page.context["slots"]
    assert slots, "free slots are offered"
    chosen = slots[0]
    assert f'href="{chosen["url"]}"' in page.content.decode().replace("&amp;", "&")
    filled = client.get(chosen["url"])
    form = filled.context["form"]
    start = chosen["slot"].start.astimezone(f.PARIS)
    assert form.initial["date"] == start.date().isoformat()
    assert form.initial["start_time"] == start.strftime("%H:%M")
    assert "Le créneau choisi est dans le formulaire" in filled.content.decode()
    # Nothing moves until the form is sent.
    appointment.refresh_from_db()
    assert appointment.start == booked_at


def test_a_move_asks_its_reason_and_the_history_keeps_it(client):
    from auditlog.models import LogEntry

    doctor = f.practitioner("physician")
    appointment = f.book(practitioner_user=doctor)
    client.force_login(make_user("secretary"))
    url = reverse("appointments:appointment_move", kwargs={"appointment_id": appointment.pk})
    later = appointment.start.astimezone(f.PARIS) + datetime.timedelta(hours=1)
    data = {
        "date": later.date().isoformat(),
        "start_time": later.strftime("%H:%M"),
        "end_time": (later + datetime.timedelta(minutes=30)).strftime("%H:%M"),
        "practitioner": doctor.pk,
        "room": appointment.room_id,
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "Ce champ est obligatoire" in refused.content.decode()
    appointment.refresh_from_db()
    assert appointment.start.astimezone(f.PARIS) != later

    for bad in ("because", "practitioner_absent'--"):
        assert client.post(url, {**data, "reason": bad}).status_code == 400
    moved = client.post(url, {**data, "reason": "patient_unavailable"})
    assert moved.status_code == 302
    entry = LogEntry.objects.filter(object_pk=str(appointment.pk)).latest("id")
    assert entry.additional_data == {"move_reason": "patient_unavailable"}
