"""POST /bridge/v1/unavailabilities and DELETE /bridge/v1/unavailabilities/{ref}: windows in
which the prison cannot bring a detainee, shown on the booking screen and refused by booking."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import translation

from appointments.models import Appointment, Unavailability
from appointments.selectors.slots import free_slots
from appointments.services.changes import appointment_move
from bridge.models import Scope
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

from .conftest import bearer

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)  # a Monday
TODAY = NOW.date()
TUESDAY = TODAY + datetime.timedelta(days=1)
URL = "/bridge/v1/unavailabilities"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def writer(issue):
    return issue(scopes=(Scope.CUSTODY_WRITE,))[1]


def at(day: datetime.date, hour: int, minute: int = 0) -> str:
    return agenda.at(day, hour, minute).isoformat()


def window(patient, start, end, ref="u-1"):
    return {"id": ref, "prison_number": patient.prison_number, "start": start, "end": end}


def push(client, token, body):
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=payload, content_type="application/json", **bearer(token))


def withdraw(client, token, ref):
    return client.delete(f"{URL}/{ref}", **bearer(token))


def pushes():
    return AccessEvent.objects.filter(action=AccessEvent.Action.BRIDGE_PUSH).order_by("pk")


def snapshot():
    return list(
        Unavailability.objects.order_by("pk").values_list(
            "client_ref", "patient_id", "start", "end", "withdrawn_at"
        )
    )


def test_a_window_is_recorded_without_reason(client, writer):
    patient = make_patient()
    response = push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    assert response.status_code == 201, response.content
    assert response.json() == {"id": "u-1", "status": "recorded"}
    stored = Unavailability.objects.get()
    assert (stored.patient, stored.start, stored.end) == (
        patient,
        agenda.at(TUESDAY, 9),
        agenda.at(TUESDAY, 12),
    )
    assert stored.withdrawn_at is None
    assert "Démo" in stored.created_by
    assert {f.name for f in Unavailability._meta.concrete_fields} == {
        "id",
        "client_ref",
        "push_digest",  # a keyed HMAC of the canonical body: nothing readable
        "patient",
        "start",
        "end",
        "received_at",
        "created_by",
        "withdrawn_at",
    }
    assert [(e.outcome, e.object_type, e.object_id) for e in pushes()] == [
        ("allowed", "unavailability", "u-1")
    ]


def test_booking_over_a_window_is_refused_with_a_clear_message(client, writer):
    patient = make_patient()
    doctor = agenda.practitioner()
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    with pytest.raises(ValidationError) as refused, translation.override("fr"):
        agenda.book(patient=patient, practitioner_user=doctor, start=agenda.at(TUESDAY, 11, 30))
    assert [e.code for e in refused.value.error_list] == ["patient_unavailable"]
    assert refused.value.messages == [
        "L'administration pénitentiaire a indiqué que le patient ne peut pas être conduit du "
        "24/11/2026 09:00 au 24/11/2026 12:00."
    ]
    assert Appointment.objects.count() == 0
    # Right after the window, and for another patient in it, booking works.
    agenda.book(patient=patient, practitioner_user=doctor, start=agenda.at(TUESDAY, 12))
    agenda.book(practitioner_user=doctor, start=agenda.at(TUESDAY, 10))


def test_moving_into_a_window_is_refused(client, writer):

    patient = make_patient()
    doctor = agenda.practitioner()
    booked = agenda.book(patient=patient, practitioner_user=doctor, start=agenda.at(TUESDAY, 14))
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    with pytest.raises(ValidationError):
        appointment_move(
            acting_user=doctor,
            appointment=booked,
            start=agenda.at(TUESDAY, 10),
            end=agenda.at(TUESDAY, 10, 30),
        )
    booked.refresh_from_db()
    assert booked.start == agenda.at(TUESDAY, 14)


def test_free_slots_skip_the_window(client, writer):
    patient = make_patient()
    agenda.practitioner(start=datetime.time(8, 0), end=datetime.time(12, 0))
    push(client, writer, window(patient, at(TODAY, 7), at(TUESDAY, 11)))
    slots = free_slots(
        duration=datetime.timedelta(minutes=30),
        after=agenda.at(TODAY, 8),
        specialty=agenda.specialty(),
        patient=patient,
    )
    assert slots[0].start == agenda.at(TUESDAY, 11)
    # Without the patient (or for another one), the morning is free.
    assert free_slots(
        duration=datetime.timedelta(minutes=30),
        after=agenda.at(TODAY, 8),
        specialty=agenda.specialty(),
    )[0].start == agenda.at(TODAY, 8)


def test_the_booking_screen_and_the_agenda_show_the_window(client, writer):
    with translation.override("fr"):
        badge = translation.gettext("Cannot be brought")
        heading = translation.gettext("Cannot be brought (prison administration)")
    patient = make_patient()
    doctor = agenda.practitioner()
    booked = agenda.book(patient=patient, practitioner_user=doctor, start=agenda.at(TUESDAY, 10))
    pages = (
        f"/agenda/patient/{patient.pk}/",
        f"/agenda/?date={TUESDAY.isoformat()}",
        f"/agenda/{booked.pk}/",
    )
    client.force_login(make_user("nurse"))
    for url in pages:
        assert badge not in client.get(url).content.decode(), url
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    booking = client.get(f"/agenda/book/?patient={patient.pk}").content.decode()
    assert heading in booking
    assert "24/11/2026 09:00" in booking
    assert "24/11/2026 12:00" in booking
    for url in pages:
        assert badge in client.get(url).content.decode(), url
    withdraw(client, writer, "u-1")
    assert heading not in client.get(f"/agenda/book/?patient={patient.pk}").content.decode()
    for url in pages:
        assert badge not in client.get(url).content.decode(), url


def test_a_withdrawn_window_no_longer_blocks(client, writer):
    patient = make_patient()
    doctor = agenda.practitioner()
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    response = withdraw(client, writer, "u-1")
    assert response.status_code == 200
    assert response.json() == {"id": "u-1", "status": "withdrawn"}
    stored = Unavailability.objects.get()
    assert stored.withdrawn_at == NOW
    agenda.book(patient=patient, practitioner_user=doctor, start=agenda.at(TUESDAY, 10))
    # Withdrawing again changes nothing.
    again = withdraw(client, writer, "u-1")
    assert again.json() == {"id": "u-1", "status": "duplicate"}
    assert Unavailability.objects.get().withdrawn_at == NOW


def test_only_the_client_that_pushed_a_window_withdraws_it(client, writer, issue):
    patient = make_patient()
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    other = issue(scopes=(Scope.CUSTODY_WRITE,), establishment="Centre de détention voisin")[1]
    before = snapshot()
    assert withdraw(client, other, "u-1").status_code == 404
    assert withdraw(client, writer, "unknown").status_code == 404
    assert withdraw(client, writer, "bad%20ref").status_code == 404
    assert snapshot() == before
    assert [e.outcome for e in pushes()][-3:] == ["denied"] * 3


def test_a_retry_is_a_duplicate_even_with_another_offset(client, writer):
    patient = make_patient()
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    before = snapshot()
    # The same instants written in UTC: the same push.
    body = window(patient, at(TUESDAY, 9), at(TUESDAY, 12))
    for key in ("start", "end"):
        body[key] = datetime.datetime.fromisoformat(body[key]).astimezone(datetime.UTC).isoformat()
    response = push(client, writer, body)
    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert snapshot() == before


def test_an_id_reused_with_another_window_is_a_409(client, writer):
    patient = make_patient()
    push(client, writer, window(patient, at(TUESDAY, 9), at(TUESDAY, 12)))
    before = snapshot()
    response = push(client, writer, window(patient, at(TUESDAY, 14), at(TUESDAY, 16)))
    assert response.status_code == 409
    assert snapshot() == before


def test_unknown_prison_number_is_refused(client, writer):
    body = {"id": "u-9", "prison_number": "999999", "start": at(TUESDAY, 9), "end": at(TUESDAY, 12)}
    response = push(client, writer, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown prison number"}
    assert snapshot() == []
    assert pushes().get().outcome == "denied"


@pytest.mark.parametrize(
    "start, end",
    [
        (at(TUESDAY, 12), at(TUESDAY, 9)),  # end before start
        (at(TUESDAY, 9), at(TUESDAY, 9)),  # empty
        (at(TUESDAY, 9), at(TUESDAY + datetime.timedelta(days=8), 9)),  # longer than 7 days
        (at(TODAY - datetime.timedelta(days=2), 9), at(TODAY, 6)),  # over already
        (at(TODAY + datetime.timedelta(days=400), 9), at(TODAY + datetime.timedelta(days=400), 10)),
    ],
)
def test_inconsistent_windows_are_refused(client, writer, start, end):
    patient = make_patient()
    response = push(client, writer, window(patient, start, end))
    assert response.status_code == 422
    assert "Invalid window" in response.json()["detail"]
    assert snapshot() == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        {
            "id": "u",
            "prison_number": "100001",
            "start": "2026-11-24T09:00",
            "end": "2026-11-24T12:00",
        },
        {"id": "u", "prison_number": "100001", "start": "2026-11-24", "end": "2026-11-25"},
        {"id": "u", "prison_number": "100001", "start": "24/11/2026 09:00", "end": "x"},
        {"id": "u", "prison_number": "100001", "start": 1, "end": 2},
        {"id": "u", "prison_number": "100001", "start": "2026-11-24T09:00+01:00"},
        {
            "id": "u",
            "prison_number": "100001",
            "start": "2026-11-24T09:00+01:00",
            "end": "2026-11-24T12:00+01:00",
            "reason": "tribunal",
        },
    ],
)
def test_bad_input_is_422_and_writes_nothing(client, writer, body):
    make_patient(prison_number="100001")
    response = push(client, writer, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid request"}
    assert snapshot() == []
    assert pushes().get().outcome == "denied"


def test_a_1_mb_body_is_413(client, writer):
    patient = make_patient()
    body = window(patient, at(TUESDAY, 9), at(TUESDAY, 12))
    body["padding"] = "x" * 1_000_000
    response = push(client, writer, body)
    assert response.status_code == 413
    assert snapshot() == []


def test_a_read_only_client_is_forbidden(client, token):
    patient = make_patient()
    assert push(client, token, window(patient, at(TUESDAY, 9), at(TUESDAY, 12))).status_code == 403
    assert withdraw(client, token, "u-1").status_code == 403
    assert snapshot() == []
    assert [e.outcome for e in pushes()] == ["denied", "denied"]


def test_no_token_is_401(client):
    patient = make_patient()
    response = client.post(
        URL,
        data=json.dumps(window(patient, at(TUESDAY, 9), at(TUESDAY, 12))),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert client.delete(f"{URL}/u-1").status_code == 401
    assert snapshot() == []


def test_the_home_page_lists_the_appointments_to_reschedule(client, writer):
    from dossiers.models import Patient

    with translation.override("fr"):
        heading = translation.gettext("Appointments to reschedule")
    doctor = agenda.practitioner()
    blocked, left, fine = make_patient(), make_patient(), make_patient()
    first = agenda.book(patient=blocked, practitioner_user=doctor, start=agenda.at(TUESDAY, 10))
    second = agenda.book(patient=left, practitioner_user=doctor, start=agenda.at(TODAY, 15))
    agenda.book(patient=fine, practitioner_user=doctor, start=agenda.at(TODAY, 16))
    client.force_login(make_user("secretary"))
    assert heading not in client.get("/").content.decode()
    push(client, writer, window(blocked, at(TUESDAY, 9), at(TUESDAY, 12)))
    Patient.objects.filter(pk=left.pk).update(custody_status=Patient.CustodyStatus.RELEASED)
    page = client.get("/").content.decode()
    assert heading in page
    panel = page.split(heading)[1].split("</section>")[0]
    assert str(first.pk) in panel and str(second.pk) in panel
    assert fine.prison_number not in panel
    # Who cannot change appointments does not get the panel.
    client.force_login(make_user("coordinator"))
    assert heading not in client.get("/").content.decode()
