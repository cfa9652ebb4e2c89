"""A form that changes nothing says so: "Rien n'a changé." as an information, 200, and no
write history row. The services refuse such an edit with the code "unchanged"; the views
show it (usmp.core.errors.form_refusal)."""

from __future__ import annotations

import datetime
from html import unescape

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from appointments.models import Appointment, Kind, Status
from appointments.services.booking import appointment_book
from appointments.services.changes import appointment_move
from dossiers.models import Compartment, Entry
from tests.appointments import factories as agenda
from tests.dossiers.conftest import write_entry
from tests.factories import make_patient, make_user
from usmp.core.errors import error_codes

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=agenda.PARIS)  # a Monday, noon
NEXT_WEEK = NOW.date() + datetime.timedelta(days=7)
NOTHING = "Rien n'a changé."


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def booked():
    return agenda.book(start=agenda.at(NEXT_WEEK, 10))


def move_data(appointment, **changes):
    start, end = agenda.at(NEXT_WEEK, 10), agenda.at(NEXT_WEEK, 10, 30)
    data = {
        "date": NEXT_WEEK.isoformat(),
        "start_time": start.astimezone(agenda.PARIS).strftime("%H:%M"),
        "end_time": end.astimezone(agenda.PARIS).strftime("%H:%M"),
        "reason": "unit_organisation",
        "practitioner": appointment.practitioner_id,
        "room": appointment.room_id,
    }
    return {**data, **changes}


def move(client, appointment, **changes):
    url = reverse("appointments:appointment_move", kwargs={"appointment_id": appointment.pk})
    return client.post(url, move_data(appointment, **changes))


def test_a_move_to_the_same_time_and_place_says_nothing_changed(persona_client, booked):
    client = persona_client("secretary")
    writes = LogEntry.objects.count()
    response = move(client, booked)
    assert response.status_code == 200
    assert said(response) == [NOTHING]
    assert "Rendez-vous déplacé" not in unescape(response.content.decode())
    assert LogEntry.objects.count() == writes


@pytest.mark.parametrize(
    ("blank", "message"),
    [("practitioner", "Choisissez le praticien"), ("room", "Choisissez une salle")],
)
def test_a_blank_practitioner_or_room_is_refused_not_kept_silently(
    persona_client, booked, blank, message
):
    """The move form is filled with the appointment's practitioner and room: "—" means none,
    which a consultation in a room cannot have; the page says so and nothing moves."""
    client = persona_client("secretary")
    writes = LogEntry.objects.count()
    response = move(client, booked, start_time="11:00", end_time="11:30", **{blank: ""})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[blank])
    booked.refresh_from_db()
    assert (booked.start, LogEntry.objects.count()) == (agenda.at(NEXT_WEEK, 10), writes)


def test_a_move_keeps_what_the_service_is_not_given(booked):
    moved = appointment_move(
        acting_user=booked.practitioner,
        appointment=booked,
        start=agenda.at(NEXT_WEEK, 11),
        end=agenda.at(NEXT_WEEK, 11, 30),
    )
    assert (moved.practitioner, moved.room) == (booked.practitioner, booked.room)


def test_an_extraction_moved_without_a_practitioner_has_none():
    doctor = agenda.practitioner()
    extraction = appointment_book(
        acting_user=doctor,
        patient=make_patient(),
        specialty=agenda.specialty(),
        kind=Kind.EXTRACTION,
        start=agenda.at(NEXT_WEEK, 10),
        end=agenda.at(NEXT_WEEK, 11),
        practitioner=doctor,
        movement_point=agenda.hospital_point(),
    )
    moved = appointment_move(
        acting_user=doctor,
        appointment=extraction,
        start=extraction.start,
        end=extraction.end,
        practitioner=None,
    )
    assert (moved.practitioner, moved.room) == (None, None)


def test_the_service_refuses_an_unchanged_move_with_its_code(booked):
    with pytest.raises(ValidationError) as refused:
        appointment_move(
            acting_user=booked.practitioner, appointment=booked, start=booked.start, end=booked.end
        )
    assert error_codes(refused.value) == ["unchanged"]


def test_a_correction_with_the_same_text_says_nothing_changed(persona_client):
    physician, patient = make_user("physician"), make_patient()
    entry = write_entry(physician, patient, Compartment.SOMATIC, "Tension 12/8.")
    client = persona_client("physician")
    client.force_login(physician)
    url = reverse(
        "dossiers:entry_correct",
        kwargs={"patient_id": patient.pk, "compartment": "somatic", "entry_id": entry.pk},
    )
    writes, entries = LogEntry.objects.count(), Entry.objects.count()
    response = client.post(url, {"kind": entry.kind, "text": "  Tension 12/8. "})
    assert response.status_code == 200
    assert said(response) == [NOTHING]
    assert (LogEntry.objects.count(), Entry.objects.count()) == (writes, entries)


def test_a_reference_edit_that_changes_nothing_says_so(persona_client):
    point = agenda.point()
    url = reverse("appointments:setup_edit", kwargs={"kind": "movement-points", "pk": point.pk})
    client = persona_client("coordinator")
    writes = LogEntry.objects.count()
    response = client.post(url, {"code": point.code, "label": point.label, "active": "on"})
    assert response.status_code == 200
    assert said(response) == [NOTHING]
    assert LogEntry.objects.count() == writes


def test_recording_the_same_outcome_again_says_nothing_changed(persona_client):
    past = agenda.book(start=agenda.at(NEXT_WEEK, 10))
    Appointment.objects.filter(pk=past.pk).update(
        start=NOW - datetime.timedelta(hours=2),
        end=NOW - datetime.timedelta(hours=1, minutes=30),
        status=Status.DONE,
    )
    url = reverse("appointments:appointment_outcome", kwargs={"appointment_id": past.pk})
    client = persona_client("secretary")
    writes = LogEntry.objects.count()
    response = client.post(url, {"done": "1"})
    assert response.status_code == 200
    assert said(response) == [NOTHING]
    assert LogEntry.objects.count() == writes
