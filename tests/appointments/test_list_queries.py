"""Every page that lists patients runs the same number of queries whatever the number of
rows: no N+1 (identities, specialties, the compartment wall, visit tasks)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.services import care_requests
from dossiers.models import Compartment
from dossiers.services import dossier_grant
from tests.dossiers.conftest import dossier_of, open_break_glass
from tests.factories import in_a_week, make_patient, make_user

from . import factories as f

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _patients(n: int, **kw):
    return [make_patient(**kw) for _ in range(n)]


def _requests(patients, nurse):
    for i, patient in enumerate(patients):
        care_requests.care_request_create(
            acting_user=nurse,
            patient=patient,
            specialty=f.specialty("psychiatry" if i % 2 else "general-medicine"),
            received_on=timezone.localdate(),
            priority="soon",
            text=f"Demande {i}",
        )


def _viewer_with_grants(client, patients):
    """A nurse who reaches some psychiatric dossiers (a grant, an emergency access): the
    wall has every kind of access to compute."""
    nurse = make_user("nurse")
    psychiatrist = make_user("psychiatrist")
    dossier_grant(
        acting_user=psychiatrist,
        dossier=dossier_of(patients[0], Compartment.PSYCHIATRIC),
        grantee=nurse,
        write=False,
        until=in_a_week(),
    )
    open_break_glass(nurse, patients[-1], Compartment.PSYCHIATRIC)
    client.force_login(nurse)
    return nurse


def test_care_request_queue(client):
    nurse = make_user("nurse")
    few, many = _patients(2), _patients(25)
    _requests(few, nurse)
    _viewer_with_grants(client, few)
    small = _queries(client, reverse("appointments:request_list"))
    _requests(many, nurse)
    assert _queries(client, reverse("appointments:request_list")) == small


def test_patient_agenda(client):
    patient = make_patient()
    doctor = f.practitioner()
    psychiatrist = f.practitioner(
        "psychiatrist", specialty_code="psychiatry", room_name="Cabinet 2"
    )
    _viewer_with_grants(client, [patient])
    url = reverse("appointments:patient", kwargs={"patient_id": patient.pk})
    day = f.next_weekday(1)
    f.book(patient=patient, practitioner_user=doctor, start=f.at(day, 8), motive="m")
    small = _queries(client, url)
    for week in range(1, 12):
        someday = day + datetime.timedelta(weeks=week)
        f.book(patient=patient, practitioner_user=doctor, start=f.at(someday, 8), motive="m")
        f.book(
            patient=patient,
            practitioner_user=psychiatrist,
            start=f.at(someday, 10),
            specialty_obj=f.specialty("psychiatry"),
            room_obj=f.room("Cabinet 2"),
            motive="p",
        )
    _requests([patient] * 6, make_user("nurse"))
    assert _queries(client, url) == small


def _unavailable(appointment, ref):
    """The prison cannot bring the patient then: the home page lists it to reschedule."""
    from appointments.models import Unavailability

    Unavailability.objects.create(
        client_ref=ref,
        patient=appointment.patient,
        start=appointment.start,
        end=appointment.end,
        created_by="test",
    )


def test_day_print_and_tasks_and_home(client):
    doctor = f.practitioner()
    day = timezone.localdate() + datetime.timedelta(days=3)
    # Arrivals of today: each gets its entry visit (a task on the list and the home page).
    few = _patients(1, arrival_date=timezone.localdate())
    client.force_login(make_user("nurse"))
    _unavailable(f.book(patient=few[0], practitioner_user=doctor, start=f.at(day, 8)), "u0")
    urls = [
        reverse("appointments:day_print") + f"?date={day.isoformat()}",
        reverse("appointments:tasks"),
        reverse("home"),
    ]
    small = [_queries(client, url) for url in urls]
    many = _patients(20, arrival_date=timezone.localdate())
    for i, patient in enumerate(many):
        appointment = f.book(
            patient=patient,
            practitioner_user=doctor,
            start=f.at(day, 9) + datetime.timedelta(minutes=15 * i),
            minutes=15,
        )
        _unavailable(appointment, f"u{i + 1}")
    assert [_queries(client, url) for url in urls] == small
