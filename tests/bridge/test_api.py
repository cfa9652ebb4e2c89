"""GET /bridge/v1/movements and its CSV, ICS and HTML forms: contract, horizon, ETag, audit."""

from __future__ import annotations

import csv
import datetime
import io
import re

import icalendar
import pytest
import time_machine

from tests.appointments import factories as agenda
from tests.factories import make_patient
from usmp.audit.models import AccessEvent

from .agendas import Consultation, local, staff, write
from .conftest import PRINT_URL, bearer, enrol

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)  # a Monday
TODAY = NOW.date()
TOMORROW = TODAY + datetime.timedelta(days=1)
URL = "/bridge/v1/movements"
MOVEMENT_KEYS = {"id", "prison_number", "start", "end", "location", "status"}
MEDICAL_WORDS = ("psychiatr", "dent", "hépato", "hepato", "médecin", "medecin", "cabinet", "motif")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sample(waves, clock):
    """Psychiatry and dentistry today, a cancelled extraction tomorrow, and rows outside the
    horizon on both sides."""
    by = staff()
    point, hospital = agenda.point(), agenda.hospital_point()
    psy = make_patient(prison_number="200001")
    dent = make_patient(prison_number="200002")
    write(
        Consultation(
            psy,
            point,
            local(TODAY, 9),
            local(TODAY, 9, 30),
            specialty_code="psychiatry",
            room=agenda.room("Cabinet psy"),
            motive="SECRET-MOTIF",
        ),
        created_by=by,
    )
    write(
        Consultation(
            dent, point, local(TODAY, 8, 40), local(TODAY, 9, 20), specialty_code="dental"
        ),
        created_by=by,
    )
    write(
        Consultation(
            psy,
            hospital,
            local(TOMORROW, 14, 10),
            local(TOMORROW, 16, 0),
            active=False,
            specialty_code="hepatology",
        ),
        created_by=by,
    )
    yesterday = TODAY - datetime.timedelta(days=1)
    write(Consultation(dent, point, local(yesterday, 10), local(yesterday, 10, 30)), created_by=by)
    far = TODAY + datetime.timedelta(days=3)
    write(Consultation(dent, point, local(far, 10), local(far, 10, 30)), created_by=by)


def get(client, token, suffix="", **extra):
    return client.get(URL + suffix, **bearer(token), **extra)


def test_json_has_exactly_the_contract(client, token, sample):
    response = get(client, token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"generated_at", "horizon_end", "movements"}
    assert body["generated_at"] == "2026-11-23T07:00:00+01:00"
    assert body["horizon_end"] == "2026-11-25T07:00:00+01:00"
    assert [set(m) for m in body["movements"]] == [MOVEMENT_KEYS] * 3
    assert [
        (m["prison_number"], m["start"], m["end"], m["location"], m["status"])
        for m in body["movements"]
    ] == [
        (
            "200001",
            "2026-11-23T08:30:00+01:00",
            "2026-11-23T10:00:00+01:00",
            "usmp-attente",
            "scheduled",
        ),
        (
            "200002",
            "2026-11-23T08:30:00+01:00",
            "2026-11-23T10:00:00+01:00",
            "usmp-attente",
            "scheduled",
        ),
        (
            "200001",
            "2026-11-24T14:00:00+01:00",
            "2026-11-24T17:00:00+01:00",
            "extraction-hopital",
            "cancelled",
        ),
    ]
    assert all(len(m["id"]) == 32 for m in body["movements"])


def test_nothing_medical_in_bodies_or_headers(client, token, sample):
    for suffix in ("", ".csv", ".ics"):
        response = get(client, token, suffix)
        assert response.status_code == 200
        text = response.content.decode().lower()
        headers = " ".join(f"{k}: {v}" for k, v in response.items()).lower()
        for word in (*MEDICAL_WORDS, "secret-motif", "fictif"):
            assert word not in text
            assert word not in headers
    enrol(client, token)
    html = client.get(PRINT_URL)
    assert html.status_code == 200
    assert "secret-motif" not in html.content.decode().lower()
    assert "cabinet" not in html.content.decode().lower()


def test_csv_has_the_same_rows(client, token, sample):
    rows = list(csv.reader(io.StringIO(get(client, token, ".csv").content.decode())))
    assert rows[0] == ["id", "prison_number", "start", "end", "location", "status"]
    as_json = get(client, token).json()["movements"]
    assert rows[1:] == [[m[k] for k in rows[0]] for m in as_json]


def test_ics_has_stable_uids_and_no_description(client, token, sample):
    response = get(client, token, ".ics")
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    ids = [m["id"] for m in get(client, token).json()["movements"]]
    assert [str(e["UID"]).split("@")[0] for e in events] == ids
    assert all("DESCRIPTION" not in e for e in events)
    assert [str(e["SUMMARY"]) for e in events] == [
        "200001 usmp-attente",
        "200002 usmp-attente",
        "200001 extraction-hopital",
    ]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]


def test_etag_and_304_are_audited(client, token, sample):
    first = get(client, token)
    tag = first["ETag"]
    assert tag.startswith('W/"')
    again = get(client, token, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == tag
    pulls = AccessEvent.objects.filter(action=AccessEvent.Action.BRIDGE_PULL, outcome="allowed")
    assert pulls.count() == 2
    other_format = get(client, token, ".csv", HTTP_IF_NONE_MATCH=tag)
    assert other_format.status_code == 200


def test_etag_changes_when_a_movement_changes(client, token, sample):
    tag = get(client, token)["ETag"]
    write(
        Consultation(
            make_patient(prison_number="200009"),
            agenda.point(),
            local(TODAY, 14, 5),
            local(TODAY, 14, 25),
        ),
        created_by=staff(),
    )
    response = get(client, token, HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 200
    assert response["ETag"] != tag


def test_generated_at_is_deterministic_under_a_frozen_clock(client, token, sample):
    assert get(client, token).content == get(client, token).content


def test_horizon_shrinks_with_the_setting(client, token, sample, settings):
    settings.USMP_BRIDGE_HORIZON_HOURS = 12
    body = get(client, token).json()
    assert body["horizon_end"] == "2026-11-23T19:00:00+01:00"
    assert [m["prison_number"] for m in body["movements"]] == ["200001", "200002"]


def test_since_keeps_movements_ending_after_it(client, token, sample):
    body = get(client, token, data={"since": "2026-11-23T12:00:00+01:00"}).json()
    assert [m["location"] for m in body["movements"]] == ["extraction-hopital"]
    naive = get(client, token, data={"since": "2026-11-23T12:00:00"}).json()
    assert naive == body
    unencoded_plus = get(client, token, "?since=2026-11-23T12:00:00+01:00").json()
    assert unencoded_plus == body


@pytest.mark.parametrize(
    "value", ["0", "2026-11-23", "yesterday", "2026-13-40T00:00:00", "x" * 300]
)
def test_bad_since_is_a_clear_422(client, token, sample, value):
    response = get(client, token, data={"since": value})
    assert response.status_code == 422
    assert "since" in response.json()["detail"].lower()


def test_print_page_lists_the_same_movements(client, token, sample):
    enrol(client, token)
    response = client.get(PRINT_URL)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.count("200001") == 2
    assert "csrf" not in text.lower()
    assert response["Referrer-Policy"] == "no-referrer"
    # One script, the print button's, from our own static files; nothing inline.
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/js/print.js" defer>']


def test_the_guards_list_runs_from_now_on_and_marks_cancellations(client, token, sample):
    enrol(client, token)
    api = client.get("/bridge/v1/movements", **bearer(token)).json()["movements"]
    text = client.get(PRINT_URL).content.decode()
    rows = re.findall(r"<tr( class=\"movement-cancelled\")?>\s*<td>(\d+)</td>", text)
    now = NOW
    expected = [
        (m["status"] == "cancelled", m["prison_number"])
        for m in api
        if datetime.datetime.fromisoformat(m["end"]) > now
    ]
    assert [(bool(cls), number) for cls, number in rows] == expected
    assert any(cancelled for cancelled, _n in expected)  # the sample has one to mark
    assert "ANNULÉ" in text
    with time_machine.travel(NOW + datetime.timedelta(hours=30), tick=False):
        later = client.get(PRINT_URL).content.decode()
    assert "lun. 23/11" in text or "lun 23/11" in text
    assert "23/11" not in later  # Monday's movements are over: gone from the list


def test_print_page_takes_no_bearer_token(client, token, sample):
    # The page is for an enrolled workstation; software uses the API.
    assert client.get(PRINT_URL, **bearer(token)).status_code == 401


def test_openapi_declares_error_responses(client):
    schema = client.get("/bridge/v1/openapi.json").json()
    for path in ("/bridge/v1/movements", "/bridge/v1/movements.csv", "/bridge/v1/movements.ics"):
        responses = schema["paths"][path]["get"]["responses"]
        assert {"200", "304", "401", "403", "404", "405", "422", "429"} <= set(responses)
    assert schema["components"]["securitySchemes"]


def test_movement_schema_admits_no_other_field(client):
    schema = client.get("/bridge/v1/openapi.json").json()
    movement = schema["components"]["schemas"]["MovementOut"]
    assert set(movement["properties"]) == {
        "id",
        "prison_number",
        "start",
        "end",
        "location",
        "status",
    }
    feed = schema["components"]["schemas"]["FeedOut"]
    assert set(feed["properties"]) == {"generated_at", "horizon_end", "movements"}


def test_every_client_gets_the_same_headers_and_bytes(client, issue, sample):
    _a, first = issue()
    _b, second = issue(establishment="Centre de détention voisin", networks=("127.0.0.0/8",))
    for suffix in ("", ".csv", ".ics"):
        answers = [
            client.get(f"/bridge/v1/movements{suffix}", **bearer(token), HTTP_ACCEPT_LANGUAGE=lang)
            for token, lang in ((first, "fr"), (second, "en-GB,en;q=0.9"))
        ]
        assert answers[0].content == answers[1].content
        assert sorted(answers[0].items()) == sorted(answers[1].items())
        assert "Vary" not in answers[0] and "Content-Language" not in answers[0]
        assert not answers[0].cookies
