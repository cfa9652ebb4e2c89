"""Real answers of the bridge, validated against its published OpenAPI document by an
independent validator (openapi-core), for every status a client can meet."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse

from bridge.models import Scope
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user

from .agendas import Consultation, local, write
from .conftest import bearer

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)
DAY = NOW.date()


def _text(data: bytes, **_parameters: str) -> str:
    return data.decode("utf-8")


@pytest.fixture
def openapi(client):
    # openapi-core reads JSON itself; CSV and iCalendar bodies are text (a string schema).
    config = Config(extra_media_type_deserializers={"text/csv": _text, "text/calendar": _text})
    return OpenAPI.from_dict(client.get("/bridge/v1/openapi.json").json(), config=config)


def check(openapi, response, status):
    assert response.status_code == status, response.content
    openapi.validate_response(
        DjangoOpenAPIRequest(response.wsgi_request), DjangoOpenAPIResponse(response)
    )
    return response


def post(client, token, path, body, **extra):
    return client.post(
        f"/bridge/v1/{path}",
        json.dumps(body) if not isinstance(body, bytes) else body,
        content_type=extra.pop("content_type", "application/json"),
        **bearer(token),
        **extra,
    )


def test_every_answer_conforms_to_the_published_schema(client, waves, issue, openapi):
    _reader, token = issue(scopes=(Scope.MOVEMENTS_READ, Scope.CUSTODY_WRITE), rate=1000)
    _narrow, narrow = issue(scopes=(Scope.CUSTODY_WRITE,), establishment="Autre")
    _slow, slow = issue(rate=1, establishment="Lent")
    patient = make_patient(prison_number="410001", arrival_date=datetime.date(2026, 1, 5))
    with time_machine.travel(NOW, tick=False):
        write(
            Consultation(
                patient=patient,
                point=agenda.point(),
                start=local(DAY, 9),
                end=local(DAY, 9, 30),
            ),
            created_by=make_user("secretary"),
        )
        for suffix in ("", ".csv", ".ics"):
            ok = check(openapi, client.get(f"/bridge/v1/movements{suffix}", **bearer(token)), 200)
            again = client.get(
                f"/bridge/v1/movements{suffix}", **bearer(token), HTTP_IF_NONE_MATCH=ok["ETag"]
            )
            check(openapi, again, 304)
            assert "Content-Type" not in again
        since = {"since": "2026-11-23T08:00:00+01:00"}
        check(openapi, client.get("/bridge/v1/movements", since, **bearer(token)), 200)
        check(openapi, client.get("/bridge/v1/movements", {"since": "hier"}, **bearer(token)), 422)
        check(openapi, client.get("/bridge/v1/movements"), 401)
        check(openapi, client.get("/bridge/v1/movements", **bearer(narrow)), 403)
        check(openapi, client.get("/bridge/v1/movements", **bearer(slow)), 200)
        limited = check(openapi, client.get("/bridge/v1/movements", **bearer(slow)), 429)
        assert int(limited["Retry-After"]) >= 1

        event = {"id": "c-1", "prison_number": "410001", "kind": "release", "date": "2026-11-30"}
        check(openapi, post(client, token, "custody-events", event), 201)
        check(openapi, post(client, token, "custody-events", event), 200)
        check(openapi, post(client, token, "custody-events", {**event, "kind": "transfer"}), 409)
        check(
            openapi, post(client, token, "custody-events", {**event, "id": "c-2", "date": "x"}), 422
        )
        check(
            openapi,
            post(client, token, "custody-events", b"id=c-3", content_type="text/plain"),
            415,
        )
        check(openapi, post(client, token, "custody-events", b"[" * 20_000), 413)
        window = {
            "id": "u-1",
            "prison_number": "410001",
            "start": "2026-11-24T09:00:00+01:00",
            "end": "2026-11-24T12:00:00+01:00",
        }
        check(openapi, post(client, token, "unavailabilities", window), 201)
        check(openapi, client.delete("/bridge/v1/unavailabilities/u-1", **bearer(token)), 200)
        check(openapi, client.delete("/bridge/v1/unavailabilities/nope", **bearer(token)), 404)
        outcome = {
            "id": "o-1",
            "movement_id": "0" * 32,
            "prison_number": "410001",
            "outcome": "done",
        }
        check(openapi, post(client, token, "movement-outcomes", outcome), 422)


def test_a_method_the_api_lacks_is_a_declared_json_405(client, issue, openapi):
    _c, token = issue()
    response = client.post(
        "/bridge/v1/movements", b"{}", content_type="application/json", **bearer(token)
    )
    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed"}
    assert "GET" in response["Allow"]
    schema = client.get("/bridge/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "405" in operation["responses"], (path, method)


def test_since_etag_and_retry_after_are_documented(client):
    schema = client.get("/bridge/v1/openapi.json").json()
    get = schema["paths"]["/bridge/v1/movements"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert "ISO 8601" in params["since"]["description"]
    assert params["If-None-Match"]["in"] == "header"
    assert "ETag" in get["responses"]["200"]["headers"]
    assert "ETag" in get["responses"]["304"]["headers"]
    assert "Retry-After" in get["responses"]["429"]["headers"]
    assert "content" not in get["responses"]["304"]
