"""Mandatory visits: entry visit after an arrival, pre-release visit in the month before a
known release date; listed on the nurses' home page, overdue ones first."""

from __future__ import annotations

import datetime
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from appointments.models import VisitTask
from appointments.services.changes import appointment_cancel, appointment_record_outcome
from appointments.services.custody import custody_change
from tests.appointments import factories as f
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=f.PARIS)


@time_machine.travel(TODAY, tick=False)
def test_new_arrival_gets_an_entry_visit_due_within_the_delay():
    patient = make_patient(arrival_date=datetime.date(2026, 3, 2))
    task = VisitTask.objects.get(patient=patient)
    assert (task.kind, task.status) == (VisitTask.Kind.ENTRY, VisitTask.Status.OPEN)
    assert (task.due_from, task.due_by) == (datetime.date(2026, 3, 2), datetime.date(2026, 3, 4))


@time_machine.travel(TODAY, tick=False)
def test_long_known_patient_registered_late_gets_no_entry_visit():
    patient = make_patient(arrival_date=datetime.date(2025, 6, 1))
    assert not VisitTask.objects.filter(patient=patient).exists()


@time_machine.travel(TODAY, tick=False)
def test_known_release_date_creates_then_moves_then_drops_the_pre_release_visit():
    secretary = make_user("secretary")
    patient = make_patient(arrival_date=datetime.date(2025, 6, 1))
    custody_change(
        acting_user=secretary, patient=patient, expected_release_date=datetime.date(2026, 5, 31)
    )
    task = VisitTask.objects.get(patient=patient, kind=VisitTask.Kind.PRE_RELEASE)
    assert (task.due_from, task.due_by) == (datetime.date(2026, 4, 30), datetime.date(2026, 5, 31))
    custody_change(
        acting_user=secretary, patient=patient, expected_release_date=datetime.date(2026, 4, 15)
    )
    task.refresh_from_db()
    assert (task.due_from, task.due_by, task.status) == (
        datetime.date(2026, 3, 15),
        datetime.date(2026, 4, 15),
        VisitTask.Status.OPEN,
    )
    custody_change(acting_user=secretary, patient=patient, expected_release_date=None)
    task.refresh_from_db()
    assert task.status == VisitTask.Status.CANCELLED
    assert VisitTask.objects.filter(patient=patient).count() == 1


@time_machine.travel(TODAY, tick=False)
def test_release_or_transfer_cancels_pending_visits():
    patient = make_patient(arrival_date=datetime.date(2026, 3, 1))
    custody_change(acting_user=None, patient=patient, custody_status="transferred")
    assert list(VisitTask.objects.values_list("status", flat=True)) == [VisitTask.Status.CANCELLED]


@time_machine.travel(TODAY, tick=False)
def test_booking_then_holding_the_entry_visit_closes_the_task():
    patient = make_patient(arrival_date=datetime.date(2026, 3, 2))
    task = VisitTask.objects.get(patient=patient)
    nurse = f.practitioner("nurse", specialty_code="nursing")
    appointment = f.book(
        patient=patient,
        practitioner_user=nurse,
        specialty_obj=f.specialty("nursing"),
        start=f.at(datetime.date(2026, 3, 3), 9),
        visit_task=task,
    )
    task.refresh_from_db()
    assert (task.status, task.appointment_id) == (VisitTask.Status.BOOKED, appointment.pk)
    with time_machine.travel(datetime.datetime(2026, 3, 3, 10, 0, tzinfo=f.PARIS), tick=False):
        appointment_record_outcome(acting_user=nurse, appointment=appointment, done=True)
    task.refresh_from_db()
    assert task.status == VisitTask.Status.DONE


@time_machine.travel(TODAY, tick=False)
def test_cancelled_visit_goes_back_to_the_list():
    patient = make_patient(arrival_date=datetime.date(2026, 3, 2))
    task = VisitTask.objects.get(patient=patient)
    appointment = f.book(patient=patient, start=f.at(datetime.date(2026, 3, 3), 9), visit_task=task)
    appointment_cancel(
        acting_user=appointment.created_by, appointment=appointment, reason="escort_cancelled"
    )
    task.refresh_from_db()
    assert (task.status, task.appointment_id) == (VisitTask.Status.OPEN, None)


def test_home_page_lists_tasks_with_overdue_first(persona_client):
    with time_machine.travel(datetime.datetime(2026, 2, 20, 9, 0, tzinfo=f.PARIS), tick=False):
        late = make_patient(last_name="Retardataire", arrival_date=datetime.date(2026, 2, 20))
    with time_machine.travel(TODAY, tick=False):
        make_patient(last_name="Nouveau", arrival_date=datetime.date(2026, 3, 2))
        body = unescape(persona_client("nurse").get(reverse("home")).content.decode())
        secretary_body = persona_client("secretary").get(reverse("home")).content.decode()
        coordinator_body = persona_client("coordinator").get(reverse("home")).content.decode()
    assert late.pk
    assert body.index("RETARDATAIRE") < body.index("NOUVEAU")
    assert "En retard" in body or "Overdue" in body
    assert "RETARDATAIRE" in secretary_body
    assert "RETARDATAIRE" not in coordinator_body


@time_machine.travel(TODAY, tick=False)
def test_booking_from_a_task_link_prefills_the_patient(persona_client):
    patient = make_patient(last_name="Arrivant", arrival_date=datetime.date(2026, 3, 2))
    task = VisitTask.objects.get(patient=patient)
    response = persona_client("nurse").get(reverse("appointments:book"), {"visit_task": task.pk})
    assert response.status_code == 200
    assert "ARRIVANT" in response.content.decode()


@time_machine.travel(TODAY, tick=False)
def test_release_date_entered_in_the_patient_form_creates_the_task(persona_client):
    patient = make_patient(arrival_date=datetime.date(2025, 6, 1))
    client = persona_client("secretary")
    url = reverse("dossiers:patient_update", kwargs={"patient_id": patient.pk})
    form = {
        "prison_number": patient.prison_number,
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "birth_date": "1985-04-12",
        "sex": patient.sex,
        "ins": "",
        "arrival_date": "2025-06-01",
        "custody_status": "present",
    }
    bad = client.post(url, {**form, "expected_release_date": "2025-01-01"})
    assert bad.status_code == 400
    assert "antérieure à la date d'arrivée" in unescape(bad.content.decode())
    assert not VisitTask.objects.filter(patient=patient).exists()
    response = client.post(url, {**form, "expected_release_date": "2026-03-20"})
    assert response.status_code == 302
    task = VisitTask.objects.get(patient=patient)
    assert (task.kind, task.due_from, task.due_by) == (
        VisitTask.Kind.PRE_RELEASE,
        datetime.date(2026, 2, 20),
        datetime.date(2026, 3, 20),
    )
    detail = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": patient.pk}))
    assert "20/03/2026" in detail.content.decode()
