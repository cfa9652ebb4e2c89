"""The activity report: counts by specialty and status, not held by side and reason, the
prison's movement reports, care-request delays; aggregates only, bad dates are a 400."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from appointments import reports
from appointments.models import (
    Appointment,
    CareRequest,
    MovementOutcome,
    Reason,
    Side,
    Status,
)
from tests.appointments import factories as agenda
from tests.bridge.agendas import Consultation, write
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 10, 6)


def consultation(
    patient, hour, status=Status.DONE, reason="", side="", specialty="general-medicine"
):
    row = write(
        Consultation(
            patient,
            agenda.point(),
            agenda.at(DAY, hour),
            agenda.at(DAY, hour) + datetime.timedelta(minutes=20),
            specialty_code=specialty,
        ),
        created_by=make_user("secretary"),
    )
    Appointment.objects.filter(pk=row.pk).update(status=status, reason=reason, side=side)
    return row


@pytest.fixture
def october():
    patient, other = make_patient(), make_patient()
    consultation(patient, 9)
    consultation(other, 9, specialty="dental")
    consultation(patient, 10, Status.NOT_DONE, Reason.ESCORT_CANCELLED, Side.PENITENTIARY)
    consultation(other, 10, Status.CANCELLED, Reason.PRACTITIONER_ABSENT, Side.HEALTH)
    consultation(patient, 11, Status.NOT_DONE, Reason.REFUSED, Side.PATIENT)
    MovementOutcome.objects.create(
        client_ref="o-1",
        patient=patient,
        movement_point=agenda.point(),
        window_start=agenda.at(DAY, 10),
        window_end=agenda.at(DAY, 11, 30),
        outcome="not_performed",
        code="escort_unavailable",
        created_by="Maison d'arrêt",
    )
    first = consultation(patient, 14)
    request = CareRequest.objects.create(
        patient=patient,
        specialty=first.specialty,
        data_key=first.data_key,
        received_on=DAY - datetime.timedelta(days=4),
        priority="soon",
        status=CareRequest.Status.DONE,
        recorded_by=make_user("nurse"),
        first_booked_at=agenda.at(DAY - datetime.timedelta(days=3), 9),
        consulted_at=agenda.at(DAY, 14),
    )
    return request


def test_the_report_counts_what_was_held_and_why_not(october):
    with translation.override("en"):
        report = reports.activity_report(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    medicine = next(r for r in report.specialties if r.name == "Médecine générale")
    assert (medicine.done, medicine.not_done, medicine.cancelled, medicine.planned) == (2, 2, 1, 0)
    assert (report.totals.done, report.totals.total) == (3, 6)
    assert report.lost_by_side == {"penitentiary": 1, "health": 1, "patient": 1}
    assert report.lost_to_penitentiary == 1
    assert report.lost_to_penitentiary_percent == pytest.approx(100 / 6)
    assert report.movement_outcomes == [("Escort unavailable", 1)]
    # Received on 2 October, booked the next day, seen four days after receipt.
    assert (report.requests_received, report.requests_waiting) == (1, 0)
    assert (report.to_booking.median, report.to_consultation.median) == (1, 4)
    later = reports.activity_report(datetime.date(2026, 10, 3), datetime.date(2026, 10, 31))
    assert later.requests_received == 0 and later.to_booking.count == 0
    nothing = reports.activity_report(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    assert nothing.specialties == [] and nothing.lost_to_penitentiary_percent is None


def test_the_query_count_does_not_grow_with_the_period(october):
    with CaptureQueriesContext(connection) as small:
        reports.activity_report(DAY, DAY)
    count = len(small)
    for hour in (15, 16):
        consultation(make_patient(), hour, specialty="psychiatry")
    with CaptureQueriesContext(connection) as large:
        reports.activity_report(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    assert len(large) == count == 6


def test_the_page_names_no_patient(client, october):
    client.force_login(make_user("coordinator"))
    response = client.get("/agenda/report/?first_day=2026-10-01&last_day=2026-10-31")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Escorte indisponible" in body and "Médecine générale" in body
    patient = october.patient
    for secret in (patient.prison_number, patient.last_name):
        assert secret not in body


def test_by_default_the_previous_month(client):
    client.force_login(make_user("physician"))
    response = client.get("/agenda/report/")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.first_day.day == 1
    assert report.last_day.month == report.first_day.month
    assert report.last_day + datetime.timedelta(days=1) <= datetime.date.today().replace(day=1)


@pytest.mark.parametrize(
    "query",
    [
        "first_day=2026-10-31&last_day=2026-10-01",
        "first_day=2024-01-01&last_day=2026-01-01",
        "first_day=31/02/2026",
        "first_day=yesterday",
    ],
)
def test_bad_dates_are_a_400_with_a_message(client, query):
    client.force_login(make_user("coordinator"))
    response = client.get(f"/agenda/report/?{query}")
    assert response.status_code == 400
    assert response.context["report"] is None
    assert response.context["form"].errors


@pytest.mark.parametrize("persona", ["nurse", "secretary", "superuser"])
def test_others_are_refused(client, persona):
    client.force_login(make_user(persona))
    assert client.get("/agenda/report/").status_code == 403
