"""Pages listing several patients record one access event each, naming no patient."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def lists():
    return AccessEvent.objects.filter(action=AccessEvent.Action.LIST_VIEW).order_by("pk")


def test_each_list_page_records_which_list(client):
    doctor = agenda.practitioner()
    booked = agenda.book(practitioner_user=doctor)
    day = booked.start.astimezone(agenda.PARIS).date()
    client.force_login(doctor)
    for url in (
        f"/agenda/?date={day.isoformat()}",
        f"/agenda/print/?date={day.isoformat()}",
        f"/agenda/week/?date={day.isoformat()}",
        "/agenda/requests/",
        "/agenda/tasks/",
    ):
        assert client.get(url).status_code == 200, url
    monday = day - datetime.timedelta(days=day.weekday())
    assert [(e.object_type, e.object_id, e.patient_id, e.actor_id) for e in lists()] == [
        ("agenda_day", day.isoformat(), None, doctor.pk),
        ("agenda_day_print", day.isoformat(), None, doctor.pk),
        ("agenda_week", f"{monday.isoformat()}/{doctor.pk}", None, doctor.pk),
        ("care_request_queue", "", None, doctor.pk),
        ("visit_tasks", "", None, doctor.pk),
    ]


def test_the_home_page_records_a_list_only_when_it_lists_patients(client):
    nurse = make_user("nurse")
    client.force_login(nurse)
    client.get("/")
    assert not lists().exists()
    make_patient(arrival_date=timezone.localdate())  # an entry visit to book: listed at home
    client.get("/")
    assert [(e.object_type, e.actor_id) for e in lists()] == [("home", nurse.pk)]
