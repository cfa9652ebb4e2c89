"""POST /bridge/v1/custody-events: arrivals, releases and transfers pushed by the prison side."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine

from appointments.models import Appointment, CustodyEvent, Reason, Side, Status, VisitTask
from bridge.models import Scope
from dossiers.models import Patient
from tests.appointments import factories as agenda
from tests.factories import make_patient
from usmp.audit.models import AccessEvent

from .agendas import Consultation, local, staff, write
from .conftest import bearer

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)  # a Monday
TODAY = NOW.date()
URL = "/bridge/v1/custody-events"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def writer(issue):
    return issue(scopes=(Scope.CUSTODY_WRITE,))[1]


def push(client, token, body, **extra):
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = bearer(token) if token else {}
    return client.post(URL, data=payload, content_type="application/json", **headers, **extra)


def event(patient, kind, date, ref="evt-1"):
    return {"id": ref, "prison_number": patient.prison_number, "kind": kind, "date": str(date)}


def pushes():
    return AccessEvent.objects.filter(action=AccessEvent.Action.BRIDGE_PUSH)


def consultation(patient, start, by):
    return write(
        Consultation(patient, agenda.point(), start, start + datetime.timedelta(minutes=30)),
        created_by=by,
    )


def snapshot():
    return (
        list(
            Patient.objects.values_list("custody_status", "arrival_date", "expected_release_date")
        ),
        list(Appointment.objects.order_by("pk").values_list("pk", "status", "reason")),
        list(VisitTask.objects.order_by("pk").values_list("pk", "status", "due_from")),
        CustodyEvent.objects.count(),
    )


def test_arrival_brings_a_released_patient_back_with_an_entry_visit(client, writer):
    patient = make_patient(arrival_date=datetime.date(2025, 1, 6))
    patient.custody_status = Patient.CustodyStatus.RELEASED
    patient.save(update_fields=["custody_status"])
    response = push(client, writer, event(patient, "arrival", TODAY))
    assert response.status_code == 201, response.content
    assert response.json() == {"id": "evt-1", "status": "recorded"}
    patient.refresh_from_db()
    assert patient.custody_status == Patient.CustodyStatus.PRESENT
    assert patient.arrival_date == TODAY
    task = VisitTask.objects.get(
        patient=patient, kind=VisitTask.Kind.ENTRY, status=VisitTask.Status.OPEN
    )
    assert (task.due_from, task.due_by) == (TODAY, TODAY + datetime.timedelta(days=2))
    stored = CustodyEvent.objects.get()
    assert (stored.client_ref, stored.patient, stored.kind, stored.date) == (
        "evt-1",
        patient,
        "arrival",
        TODAY,
    )
    assert "Démo" in stored.created_by


def test_arrival_refreshes_the_date_of_a_present_patient(client, writer):
    earlier = TODAY - datetime.timedelta(days=3)
    patient = make_patient(arrival_date=earlier)
    assert VisitTask.objects.get(patient=patient, kind=VisitTask.Kind.ENTRY).due_from == earlier
    assert push(client, writer, event(patient, "arrival", TODAY)).status_code == 201
    patient.refresh_from_db()
    assert patient.arrival_date == TODAY
    task = VisitTask.objects.get(patient=patient, kind=VisitTask.Kind.ENTRY)
    assert task.due_from == TODAY


def test_arrival_already_known_changes_nothing(client, writer):
    patient = make_patient(arrival_date=TODAY)
    before = snapshot()
    assert push(client, writer, event(patient, "arrival", TODAY)).status_code == 201
    after = snapshot()
    assert after[:3] == before[:3]
    assert VisitTask.objects.filter(patient=patient).count() == 1


def test_release_today_cancels_later_appointments_and_flags_today(client, writer):
    by = staff()
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    today = consultation(patient, local(TODAY, 15), by)
    tomorrow = consultation(patient, local(TODAY + datetime.timedelta(days=1), 9), by)
    later = consultation(patient, local(TODAY + datetime.timedelta(days=9), 10), by)
    other = consultation(make_patient(), local(TODAY + datetime.timedelta(days=1), 9), by)
    response = push(client, writer, event(patient, "release", TODAY))
    assert response.status_code == 201
    patient.refresh_from_db()
    assert patient.custody_status == Patient.CustodyStatus.RELEASED
    for appointment in (tomorrow, later):
        appointment.refresh_from_db()
        assert appointment.status == Status.CANCELLED
        assert (appointment.reason, appointment.side) == (Reason.RELEASED, Side.PENITENTIARY)
    today.refresh_from_db()
    other.refresh_from_db()
    assert today.status == Status.PLANNED
    assert other.status == Status.PLANNED


def test_release_result_counts_cancelled_and_flagged():
    from appointments.movements import custody_event_record

    by = staff()
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    consultation(patient, local(TODAY, 15), by)
    consultation(patient, local(TODAY + datetime.timedelta(days=1), 9), by)
    result = custody_event_record(
        prison_number=patient.prison_number,
        kind="transfer",
        date=TODAY,
        client_ref="t-1",
        acting_client_label="test",
    )
    assert (result.created, result.cancelled, result.flagged) == (True, 1, 1)
    patient.refresh_from_db()
    assert patient.custody_status == Patient.CustodyStatus.TRANSFERRED


def test_future_release_creates_the_pre_release_visit(client, writer):
    by = staff()
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    planned = consultation(patient, local(TODAY + datetime.timedelta(days=1), 9), by)
    release = TODAY + datetime.timedelta(days=60)
    assert push(client, writer, event(patient, "release", release)).status_code == 201
    patient.refresh_from_db()
    assert patient.custody_status == Patient.CustodyStatus.PRESENT
    assert patient.expected_release_date == release
    task = VisitTask.objects.get(patient=patient, kind=VisitTask.Kind.PRE_RELEASE)
    assert task.due_by == release
    planned.refresh_from_db()
    assert planned.status == Status.PLANNED


def test_unknown_prison_number_is_refused_and_writes_nothing(client, writer):
    make_patient()
    before = snapshot()
    body = {"id": "x1", "prison_number": "999999", "kind": "arrival", "date": str(TODAY)}
    response = push(client, writer, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown prison number"}
    assert snapshot() == before
    refused = pushes().get()
    assert (refused.outcome, refused.object_type, refused.object_id) == (
        "denied",
        "custody_event",
        "x1",
    )


def test_release_before_arrival_is_refused(client, writer):
    patient = make_patient(arrival_date=TODAY - datetime.timedelta(days=2))
    before = snapshot()
    response = push(client, writer, event(patient, "release", TODAY - datetime.timedelta(days=5)))
    assert response.status_code == 422
    assert snapshot() == before


def test_a_date_too_far_is_refused(client, writer):
    patient = make_patient()
    before = snapshot()
    far = TODAY + datetime.timedelta(days=400)
    assert push(client, writer, event(patient, "release", far)).status_code == 422
    assert snapshot() == before


def test_a_retry_is_a_duplicate_and_changes_nothing(client, writer):
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    assert push(client, writer, event(patient, "release", TODAY)).status_code == 201
    before = snapshot()
    response = push(client, writer, event(patient, "release", TODAY))
    assert response.status_code == 200
    assert response.json() == {"id": "evt-1", "status": "duplicate"}
    assert snapshot() == before


def test_an_id_reused_with_another_body_is_a_409(client, writer):
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    assert push(client, writer, event(patient, "release", TODAY)).status_code == 201
    before = snapshot()
    response = push(client, writer, event(patient, "arrival", TODAY))
    assert response.status_code == 409
    assert response.json() == {"detail": "This id was already used with another body"}
    assert snapshot() == before
    denied = AccessEvent.objects.filter(outcome="denied", object_type="custody_event").last()
    assert denied is not None and denied.object_id == "evt-1"


def test_a_push_in_another_media_type_is_a_415(client, writer):
    patient = make_patient()
    before = snapshot()
    body = json.dumps(event(patient, "release", TODAY))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = client.post(
            URL, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {writer}"
        )
        assert response.status_code == 415, content_type
    assert snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        {"id": "a", "prison_number": "100001", "kind": "escape", "date": "2026-11-23"},
        {"id": "a", "prison_number": "100001", "kind": "arrival", "date": "2026-11-23", "x": 1},
        {"id": "a", "prison_number": "100001", "kind": "arrival", "date": "23/11/2026"},
        {"id": "a", "prison_number": "100001", "kind": "arrival", "date": "2026-11-23T00:00"},
        {"id": "a", "prison_number": "100001", "kind": "arrival", "date": 20261123},
        {"id": "a b", "prison_number": "100001", "kind": "arrival", "date": "2026-11-23"},
        {"id": "", "prison_number": "100001", "kind": "arrival", "date": "2026-11-23"},
        {"id": "a" * 65, "prison_number": "100001", "kind": "arrival", "date": "2026-11-23"},
        {"id": "a", "prison_number": "100001", "kind": "arrival"},
        {
            "id": "a",
            "prison_number": "100001",
            "kind": "arrival",
            "date": "2026-11-23",
            "reason": "x",
        },
    ],
)
def test_bad_input_is_422_and_writes_nothing(client, writer, body):
    make_patient(prison_number="100001")
    before = snapshot()
    response = push(client, writer, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid request"}
    assert snapshot() == before
    assert pushes().get().outcome == "denied"


def test_a_1_mb_body_is_413(client, writer):
    patient = make_patient()
    body = event(patient, "arrival", TODAY)
    body["padding"] = "x" * 1_000_000
    before = snapshot()
    response = push(client, writer, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Payload too large"}
    assert snapshot() == before
    assert pushes().get().outcome == "denied"


def test_a_read_only_client_is_forbidden(client, token):
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    before = snapshot()
    response = push(client, token, event(patient, "release", TODAY))
    assert response.status_code == 403
    assert snapshot() == before
    refused = pushes().get()
    assert (refused.outcome, refused.object_type) == ("denied", "custody_event")


def test_no_token_is_401(client):
    patient = make_patient()
    response = push(client, None, event(patient, "release", TODAY))
    assert response.status_code == 401
    assert CustodyEvent.objects.count() == 0
    # Refused from nobody known: one aggregated refusal for its source and minute.
    refused = pushes().get()
    assert (refused.outcome, refused.object_type, refused.client_id) == (
        "denied",
        "anonymous",
        None,
    )


def test_every_push_is_an_access_event(client, writer):
    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    push(client, writer, event(patient, "release", TODAY, ref="r1"))
    push(client, writer, event(patient, "release", TODAY, ref="r1"))
    push(client, writer, event(patient, "arrival", TODAY, ref="r2"))
    rows = list(pushes().order_by("pk").values_list("outcome", "object_type", "object_id"))
    assert rows == [
        ("allowed", "custody_event", "r1"),
        ("allowed", "custody_event", "r1"),
        ("allowed", "custody_event", "r2"),
    ]


def test_the_operation_is_in_the_openapi_schema(client):
    schema = client.get("/bridge/v1/openapi.json").json()
    operation = schema["paths"]["/bridge/v1/custody-events"]["post"]
    assert set(operation["responses"]) >= {"200", "201", "401", "403", "413", "422", "429"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False
    assert set(body["properties"]) == {"id", "prison_number", "kind", "date"}


def test_the_push_digest_is_keyed(client, writer, monkeypatch):
    """An unkeyed hash of a push would give its prison number away to whoever tries every
    number; the stored digest needs the keyring's key."""
    import hashlib

    from bridge import api, policy
    from bridge.schemas import CustodyEventIn

    patient = make_patient(arrival_date=datetime.date(2026, 1, 5))
    assert push(client, writer, event(patient, "release", TODAY)).status_code == 201
    stored = CustodyEvent.objects.get().push_digest
    body = CustodyEventIn.model_validate_json(json.dumps(event(patient, "release", TODAY)))
    assert api._canonical_digest(body) == stored
    text = json.dumps(
        ["CustodyEventIn", {**body.model_dump(), "date": TODAY.isoformat()}],
        sort_keys=True,
        separators=(",", ":"),
    )
    assert hashlib.sha256(text.encode()).hexdigest() != stored
    monkeypatch.setattr(policy, "push_digest_key", lambda: b"another key" * 3)
    assert api._canonical_digest(body) != stored
