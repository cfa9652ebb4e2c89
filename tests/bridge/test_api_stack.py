"""The bridge API's own middleware stack (bridge/middleware.py, settings.BRIDGE_API_MIDDLEWARE):
what a machine's request goes through, and what it no longer does."""

from __future__ import annotations

import datetime
import json
import sys
import types

import pytest
import time_machine
from auditlog.models import LogEntry
from django.test import Client, RequestFactory, override_settings

from bridge.middleware import ApiStack
from bridge.models import Scope
from tests.factories import make_patient
from usmp.audit.models import AccessEvent

from .conftest import bearer

pytestmark = pytest.mark.django_db

URL = "/bridge/v1/movements"
NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=datetime.UTC)


def test_a_staff_session_is_not_read_by_the_api(persona_client, token, waves):
    """A coordinator's logged-in, verified browser session gives nothing on the API (it has
    no session layer): without the token it is refused, and the answer sets no cookie."""
    browser = persona_client("coordinator")
    assert browser.get("/").status_code == 200  # the session works on the pages
    refused = browser.get(URL)
    assert refused.status_code == 401
    assert not refused.cookies
    assert "Vary" not in refused
    allowed = browser.get(URL, **bearer(token))
    assert allowed.status_code == 200
    assert not allowed.cookies
    # The pull is the client's, never the coordinator's.
    event = AccessEvent.objects.filter(
        action=AccessEvent.Action.BRIDGE_PULL, outcome=AccessEvent.Outcome.ALLOWED
    ).get()
    assert event.actor_id is None and event.client_id is not None


def test_security_headers_and_the_refusal_net_stay(client, token, waves):
    answer = client.get(URL, **bearer(token))
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Referrer-Policy"] == "same-origin"
    assert answer["X-Frame-Options"] == "DENY"
    assert answer["Cache-Control"] == "no-store, private"
    # An address the API does not have: its JSON 404, and the refusal recorded (by the
    # access layer's net: no operation, so no client, answered it).
    missing = client.get("/bridge/v1/no-such-thing", **bearer(token))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found"}
    assert missing["X-Content-Type-Options"] == "nosniff"
    assert missing["X-Frame-Options"] == "DENY"
    wrong = client.delete(URL, **bearer(token))
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method not allowed"}
    assert wrong["Allow"] == "GET"
    assert wrong["X-Content-Type-Options"] == "nosniff"
    refused = AccessEvent.objects.filter(
        outcome=AccessEvent.Outcome.DENIED, action=AccessEvent.Action.PAGE_OPEN
    )
    assert refused.filter(object_id="unresolved").exists()


def test_a_request_django_refuses_is_the_api_json_400(token):
    """A Host the deployment does not serve is refused by Django before any view: under
    the API, in its JSON error body with the security headers, and no movement told."""
    answer = Client(raise_request_exception=False).get(
        URL, HTTP_HOST="elsewhere.invalid", **bearer(token)
    )
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "Bad request"}
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert not answer.cookies


def test_plain_http_is_redirected_to_https(token):
    with override_settings(SECURE_SSL_REDIRECT=True):
        answer = Client().get(URL, **bearer(token))
    assert answer.status_code == 301
    assert answer["Location"].startswith("https://")


def test_pages_still_take_the_whole_stack(persona_client):
    page = persona_client("coordinator").get("/")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page
    assert page["Content-Language"] == "fr"


def test_a_push_keeps_its_write_history_address(client, issue, waves):
    """django-auditlog's request context is in the API's stack: a push's write history
    names the address it came from."""
    writer = issue(scopes=(Scope.CUSTODY_WRITE,))[1]
    patient = make_patient(arrival_date=datetime.date(2026, 11, 2))
    body = {"id": "evt-9", "prison_number": patient.prison_number, "kind": "arrival"}
    before = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with time_machine.travel(NOW, tick=False):
        body["date"] = "2026-11-23"
        answer = client.post(
            "/bridge/v1/custody-events",
            data=json.dumps(body),
            content_type="application/json",
            REMOTE_ADDR="10.20.30.40",
            **bearer(writer),
        )
    assert answer.status_code == 201, answer.content
    entries = LogEntry.objects.filter(pk__gt=before)
    assert entries.exists()
    assert set(entries.values_list("remote_addr", flat=True)) == {"10.20.30.40"}


def test_api_stack_runs_its_middleware_in_order():
    """ApiStack wraps the middleware it is given, outermost first, around Django's own
    handling (view middleware included)."""
    calls: list[str] = []

    class Outer:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            calls.append("outer")
            return self.get_response(request)

    class Inner(Outer):
        def __call__(self, request):
            calls.append("inner")
            return self.get_response(request)

        def process_view(self, request, view, args, kwargs):
            calls.append("view")

    module = types.ModuleType("stack_probe")
    module.Outer, module.Inner = Outer, Inner  # type: ignore[attr-defined]
    sys.modules["stack_probe"] = module
    try:
        stack = ApiStack(["stack_probe.Outer", "stack_probe.Inner"])
        response = stack(RequestFactory().get("/healthz"))
    finally:
        del sys.modules["stack_probe"]
    assert calls == ["outer", "inner", "view"]
    assert response.status_code in (200, 503)


def test_a_failure_under_the_api_is_a_json_500_without_staff_context(token, waves, monkeypatch):
    """The failure answers in the API's own error body, as the schema declares, without the
    session and user layers the API stack skips, and tells nothing (no movement, no trace,
    no cookie)."""
    from bridge import api

    def broken(*args, **kwargs):
        raise RuntimeError("SECRET-DETAIL")

    monkeypatch.setattr(api, "pull", broken)
    answer = Client(raise_request_exception=False).get(URL, **bearer(token))
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "Internal server error"}
    body = answer.content.decode()
    assert "SECRET-DETAIL" not in body and "prison_number" not in body
    assert not answer.cookies
    assert answer["X-Content-Type-Options"] == "nosniff"
