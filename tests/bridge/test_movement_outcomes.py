"""POST /bridge/v1/movement-outcomes: the prison side says whether a published movement was
performed, naming it by the id the feed gave it; the outcome lands on its appointments."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine

from appointments.models import (
    Appointment,
    CareRequest,
    MovementOutcome,
    Reason,
    Side,
    Status,
)
from bridge import policy
from bridge.api import UNKNOWN_MOVEMENT
from bridge.models import Scope
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

from .agendas import Consultation, local, staff, write
from .conftest import bearer

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 11, 23)
NOW = local(MONDAY, 12)
URL = "/bridge/v1/movement-outcomes"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def writer(issue):
    return issue(scopes=(Scope.CUSTODY_WRITE,))[1]


@pytest.fixture
def morning(waves):
    """A patient with two consultations in the 08:30-10:00 movement, one at 14:30 and a
    cancelled one on Tuesday at 10:00."""
    by = staff()
    patient = make_patient()
    point = agenda.point()
    rows = [
        write(
            Consultation(patient, point, local(MONDAY, 8, 40), local(MONDAY, 9, 0)), created_by=by
        ),
        write(
            Consultation(patient, point, local(MONDAY, 9, 10), local(MONDAY, 9, 40)), created_by=by
        ),
        write(
            Consultation(patient, point, local(MONDAY, 14, 30), local(MONDAY, 15, 0)), created_by=by
        ),
    ]
    return patient, rows


def movement_id(patient, start, end, point="usmp-attente"):
    return policy.movement_id(policy.movement_key(), patient.prison_number, start, end, point)


def report(patient, movement, outcome="not_performed", code="escort_unavailable", ref="o-1"):
    body = {"id": ref, "movement_id": movement, "prison_number": patient.prison_number}
    body["outcome"] = outcome
    if code is not None:
        body["code"] = code
    return body


def push(client, token, body):
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=payload, content_type="application/json", **bearer(token))


def snapshot():
    return (
        list(
            Appointment.objects.order_by("start").values_list(
                "status", "reason", "side", "movement_outcome_id"
            )
        ),
        list(MovementOutcome.objects.values_list("client_ref", "outcome", "code")),
    )


def pushes():
    return AccessEvent.objects.filter(action=AccessEvent.Action.BRIDGE_PUSH).order_by("pk")


def test_the_id_from_the_feed_names_the_movement(client, writer, issue, morning, clock):
    patient, rows = morning
    reader = issue()[1]
    clock.move_to(local(MONDAY, 7))
    feed = client.get("/bridge/v1/movements", **bearer(reader)).json()["movements"]
    first = next(m for m in feed if m["start"].startswith("2026-11-23T08:30"))
    clock.move_to(NOW)
    response = push(client, writer, report(patient, first["id"]))
    assert response.status_code == 201, response.content
    assert response.json() == {"id": "o-1", "status": "recorded"}
    for row in rows[:2]:
        row.refresh_from_db()
        assert (row.status, row.reason, row.side) == (
            Status.NOT_DONE,
            Reason.ESCORT_CANCELLED,
            Side.PENITENTIARY,
        )
        assert row.outcome_by is None
        assert row.movement_outcome.code == "escort_unavailable"
    rows[2].refresh_from_db()
    assert (rows[2].status, rows[2].movement_outcome) == (Status.PLANNED, None)
    stored = MovementOutcome.objects.get()
    assert (stored.window_start, stored.window_end) == (local(MONDAY, 8, 30), local(MONDAY, 10))
    assert [(e.outcome, e.object_type, e.object_id) for e in pushes()] == [
        ("allowed", "movement_outcome", "o-1")
    ]


@pytest.mark.parametrize(
    "code, reason, side",
    [
        ("detainee_refused", Reason.REFUSED, Side.PATIENT),
        ("security_incident", Reason.SECURITY_INCIDENT, Side.PENITENTIARY),
    ],
)
def test_each_code_is_attributed(client, writer, morning, code, reason, side):
    patient, rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    assert push(client, writer, report(patient, movement, code=code)).status_code == 201
    rows[0].refresh_from_db()
    assert (rows[0].status, rows[0].reason, rows[0].side) == (Status.NOT_DONE, reason, side)


def test_a_care_request_waits_again_when_the_movement_failed(client, writer, morning):
    patient, rows = morning
    request = CareRequest.objects.create(
        patient=patient,
        specialty=rows[0].specialty,
        data_key=rows[0].data_key,
        received_on=MONDAY,
        priority="soon",
        status=CareRequest.Status.BOOKED,
        recorded_by=make_user("nurse"),
    )
    Appointment.objects.filter(pk=rows[0].pk).update(care_request=request)
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    assert push(client, writer, report(patient, movement)).status_code == 201
    request.refresh_from_db()
    assert request.status == CareRequest.Status.WAITING


def test_done_changes_no_status(client, writer, morning):
    patient, rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    response = push(client, writer, report(patient, movement, outcome="done", code=None))
    assert response.status_code == 201
    for row in rows[:2]:
        row.refresh_from_db()
        assert row.status == Status.PLANNED
        assert row.movement_outcome.outcome == "done"


def test_the_unit_s_own_outcome_is_kept(client, writer, morning):
    patient, rows = morning
    Appointment.objects.filter(pk=rows[0].pk).update(status=Status.DONE)
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    assert push(client, writer, report(patient, movement)).status_code == 201
    rows[0].refresh_from_db()
    # The disagreement stays visible: the unit said done, the prison says not performed.
    assert rows[0].status == Status.DONE
    assert rows[0].movement_outcome.outcome == "not_performed"


def test_the_outcome_is_shown_on_the_appointment(client, writer, morning):
    from django.utils import translation

    patient, rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    push(client, writer, report(patient, movement))
    client.force_login(make_user("nurse"))
    with translation.override("fr"):
        code = translation.gettext("Escort unavailable")
    assert code in client.get(f"/agenda/{rows[0].pk}/").content.decode()
    assert code in client.get(f"/agenda/patient/{patient.pk}/").content.decode()
    assert code not in client.get(f"/agenda/{rows[2].pk}/").content.decode()


def test_a_retry_is_a_duplicate_and_changes_nothing(client, writer, morning):
    patient, _rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    push(client, writer, report(patient, movement))
    before = snapshot()
    response = push(client, writer, report(patient, movement))
    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert snapshot() == before


def test_an_id_reused_with_another_body_is_a_409(client, writer, morning):
    patient, _rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    push(client, writer, report(patient, movement))
    before = snapshot()
    response = push(client, writer, report(patient, movement, outcome="done", code=None))
    assert response.status_code == 409
    assert snapshot() == before


def test_a_second_outcome_for_one_movement_is_a_conflict(client, writer, morning):
    patient, _rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    push(client, writer, report(patient, movement))
    before = snapshot()
    response = push(client, writer, report(patient, movement, "done", None, ref="o-2"))
    assert response.status_code == 409
    assert snapshot() == before
    assert pushes().last().outcome == "denied"


def test_a_movement_not_begun_is_refused(client, writer, morning):
    patient, _rows = morning
    movement = movement_id(patient, local(MONDAY, 14), local(MONDAY, 15, 30))
    before = snapshot()
    response = push(client, writer, report(patient, movement))
    assert (response.status_code, response.json()) == (422, {"detail": UNKNOWN_MOVEMENT})
    assert snapshot() == before


def test_a_cancelled_movement_is_refused(client, writer, waves):
    patient = make_patient()
    write(
        Consultation(
            patient, agenda.point(), local(MONDAY, 10), local(MONDAY, 10, 30), active=False
        ),
        created_by=staff(),
    )
    movement = movement_id(patient, local(MONDAY, 10), local(MONDAY, 11, 30))
    response = push(client, writer, report(patient, movement))
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "This movement was cancelled"},
    )
    assert MovementOutcome.objects.count() == 0


def test_a_movement_older_than_a_week_is_refused(client, writer, morning, clock):
    patient, _rows = morning
    movement = movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10))
    clock.move_to(local(MONDAY + datetime.timedelta(days=8), 9))
    before = snapshot()
    assert push(client, writer, report(patient, movement)).status_code == 422
    assert snapshot() == before


@pytest.mark.parametrize(
    "change",
    [
        {"movement_id": "0" * 32},  # no such movement
        {"prison_number": "999999"},  # unknown prison number
        {"code": None},  # not performed without a code
        {"outcome": "done"},  # done with a code
    ],
)
def test_inconsistent_reports_are_refused(client, writer, morning, change):
    patient, _rows = morning
    body = report(patient, movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10)))
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    before = snapshot()
    response = push(client, writer, body)
    assert response.status_code == 422
    assert snapshot() == before
    assert pushes().get().outcome == "denied"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        {"id": "o", "movement_id": "abc", "prison_number": "1", "outcome": "done"},
        {"id": "o", "movement_id": "0" * 32, "prison_number": "1", "outcome": "late"},
        {
            "id": "o",
            "movement_id": "0" * 32,
            "prison_number": "1",
            "outcome": "not_performed",
            "code": "weather",
        },
        {
            "id": "o",
            "movement_id": "0" * 32,
            "prison_number": "1",
            "outcome": "done",
            "comment": "x",
        },
    ],
)
def test_bad_input_is_422_and_writes_nothing(client, writer, morning, body):
    before = snapshot()
    response = push(client, writer, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid request"}
    assert snapshot() == before


def test_a_1_mb_body_is_413(client, writer, morning):
    patient, _rows = morning
    body = report(patient, movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10)))
    body["padding"] = "x" * 1_000_000
    before = snapshot()
    assert push(client, writer, body).status_code == 413
    assert snapshot() == before


def test_a_read_only_client_is_forbidden(client, token, morning):
    patient, _rows = morning
    before = snapshot()
    body = report(patient, movement_id(patient, local(MONDAY, 8, 30), local(MONDAY, 10)))
    assert push(client, token, body).status_code == 403
    assert snapshot() == before


def test_the_push_operations_are_in_the_openapi_schema(client):
    paths = client.get("/bridge/v1/openapi.json").json()["paths"]
    expected = {
        "/bridge/v1/unavailabilities": {"id", "prison_number", "start", "end"},
        "/bridge/v1/movement-outcomes": {"id", "movement_id", "prison_number", "outcome", "code"},
    }
    for path, fields in expected.items():
        operation = paths[path]["post"]
        assert set(operation["responses"]) >= {"200", "201", "401", "403", "413", "422", "429"}
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["additionalProperties"] is False
        assert set(body["properties"]) == fields
    withdraw = paths["/bridge/v1/unavailabilities/{ref}"]["delete"]
    assert set(withdraw["responses"]) >= {"200", "401", "403", "404"}
    assert "409" in paths["/bridge/v1/movement-outcomes"]["post"]["responses"]
