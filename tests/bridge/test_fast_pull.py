"""The pull's one statement (bridge.auth.authorize_pull): a remembered client's pull of an
unchanged feed is decided, counted and recorded in one prepared statement, and decides
nothing that the full pipeline would refuse.

Transactional: the fast path serves only what committed transactions wrote."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from appointments.models import Appointment, Status
from bridge import admission, auth, feeds, services
from bridge.models import Scope
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

from .agendas import Consultation, local, write
from .conftest import bearer

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)
URL = "/bridge/v1/movements"
EVENT_FIELDS = (
    "actor_id", "action", "outcome", "patient_id", "compartment", "object_type", "object_id",
    "search_index", "break_glass", "source_ip", "client_id", "purpose", "count",
)  # fmt: skip


@pytest.fixture
def unit(waves):
    feeds.forget()
    auth.forget_clients()
    patient = make_patient(prison_number="412345")
    write(
        Consultation(
            patient=patient,
            point=agenda.hospital_point(),
            start=local(NOW.date(), 10),
            end=local(NOW.date(), 10, 30),
        ),
        created_by=make_user("secretary"),
    )
    yield patient
    feeds.forget()
    auth.forget_clients()


def _counted(client) -> int:
    """The requests counted for CLIENT in NOW's minute (counting one more to read it)."""
    epoch = admission.epoch_of(client.created_at)
    return admission.count(client.pk, epoch, admission.minute_of(NOW)) - 1


def pulls() -> list[dict[str, object]]:
    return list(
        AccessEvent.objects.filter(action="bridge_pull", outcome="allowed")
        .order_by("pk")
        .values(*EVENT_FIELDS)
    )


def test_a_remembered_client_pulls_in_one_statement_and_is_recorded_as_by_the_full_path(
    unit, issue
):
    client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        first = http.get(URL, **bearer(token))  # full path: remembers the client, caches
        with CaptureQueriesContext(connection) as queries:
            second = http.get(URL, **bearer(token))
            not_modified = http.get(URL, **bearer(token), HTTP_IF_NONE_MATCH=first["ETag"])
        plain = feeds.build_feed()
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == feeds.as_json(plain)
    assert first["ETag"] == second["ETag"] == not_modified["ETag"] == feeds.etag(plain, "json")
    assert not_modified.status_code == 304
    assert len(queries) == 2, [q["sql"][:80] for q in queries]  # one per pull
    events = pulls()
    assert len(events) == 3 and events[0] == events[1] == events[2]
    assert events[0]["client_id"] == client.pk and events[0]["outcome"] == "allowed"
    assert _counted(client) == 3


def test_a_revocation_refuses_the_very_next_pull(unit, issue, coordinator):
    client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        assert http.get(URL, **bearer(token)).status_code == 200
        assert http.get(URL, **bearer(token)).status_code == 200  # the fast path
        services.client_revoke(acting_user=coordinator, client=client)
        refused = http.get(URL, **bearer(token))
    assert refused.status_code == 401
    assert len(pulls()) == 2
    assert AccessEvent.objects.filter(
        action="bridge_pull", outcome="denied", object_id=f"revoked client {client.pk}"
    ).exists()


def test_a_rotation_refuses_the_old_token_and_admits_the_new(unit, issue, coordinator):
    client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        http.get(URL, **bearer(token))
        http.get(URL, **bearer(token))
        new = services.client_rotate(acting_user=coordinator, client=client).token
        assert http.get(URL, **bearer(token)).status_code == 401
        assert http.get(URL, **bearer(new)).status_code == 200
        assert http.get(URL, **bearer(new)).status_code == 200


def test_a_scope_or_network_taken_away_is_refused_at_once(unit, issue):
    client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        http.get(URL, **bearer(token))
        http.get(URL, **bearer(token))
        client.scopes = [Scope.CUSTODY_WRITE]
        client.save(update_fields=["scopes"])
        assert http.get(URL, **bearer(token)).status_code == 403
        client.scopes, client.allowed_networks = [Scope.MOVEMENTS_READ], ["10.9.0.0/16"]
        client.save(update_fields=["scopes", "allowed_networks"])
        assert http.get(URL, **bearer(token)).status_code == 403
    assert len(pulls()) == 2
    assert (
        AccessEvent.objects.filter(
            action="bridge_pull", outcome="denied", client_id=client.pk
        ).count()
        == 2
    )


def test_the_rate_limit_holds_on_the_fast_path_and_an_over_limit_pull_is_not_recorded(unit, issue):
    client, token = issue(rate=3)
    http = Client()
    with time_machine.travel(NOW, tick=False):
        answers = [http.get(URL, **bearer(token)).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert len(pulls()) == 3
    assert AccessEvent.objects.filter(outcome="denied", object_id=f"client {client.pk}").exists()
    assert _counted(client) == 5


def test_a_change_of_the_facts_is_served_at_the_next_pull(unit, issue):
    _client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        first = http.get(URL, **bearer(token))
        http.get(URL, **bearer(token))
        Appointment.objects.update(status=Status.CANCELLED, reason="refused")
        changed = http.get(URL, **bearer(token))
        again = http.get(URL, **bearer(token))
        plain = feeds.build_feed()
    assert changed.content != first.content
    assert changed.content == again.content == feeds.as_json(plain)
    assert changed["ETag"] == feeds.etag(plain, "json")
    assert len(pulls()) == 4


def test_a_bad_since_records_no_pull_on_either_path(unit, issue):
    _client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        http.get(URL, **bearer(token))
        http.get(URL, **bearer(token))
        bad = http.get(URL, {"since": "2026-11-23"}, **bearer(token))
        good = http.get(URL, {"since": "2026-11-23T06:00:00+01:00"}, **bearer(token))
    assert bad.status_code == 422 and good.status_code == 200
    assert len(pulls()) == 3


def test_another_format_and_the_print_page_keep_their_own_paths(unit, issue):
    _client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        http.get(URL, **bearer(token))
        csv = http.get(URL + ".csv", **bearer(token))
        ics = http.get(URL + ".ics", **bearer(token))
        plain = feeds.build_feed()
    assert csv.content == feeds.as_csv(plain) and ics.content == feeds.as_ics(plain)
    assert len(pulls()) == 3
