"""The guards' printable list: enrolled workstations only, never a token in an address, and
no credential in any log line at any level."""

from __future__ import annotations

import datetime
import logging

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from bridge import auth, services
from bridge.models import BridgeDevice, Scope
from usmp.audit.models import AccessEvent

from .conftest import ENROL_URL, PRINT_URL, bearer, enrol

pytestmark = pytest.mark.django_db


def prints(client: Client) -> int:
    return client.get(PRINT_URL).status_code


def test_enrolment_with_the_token_sets_a_strict_cookie_and_the_page_prints(client, waves, token):
    response = enrol(client, token, "  Poste   bâtiment A ")
    assert response.status_code == 302
    assert response["Location"] == PRINT_URL
    cookie = response.cookies[auth.DEVICE_COOKIE]
    assert cookie.value.startswith(auth.DEVICE_PREFIX) and token not in cookie.value
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == PRINT_URL
    assert int(cookie["max-age"]) == services.device_lifetime().total_seconds()
    device = BridgeDevice.objects.get()
    assert device.label == "Poste bâtiment A"  # spaces tidied
    assert device.created_by is None
    assert cookie.value not in str(BridgeDevice.objects.values().get())  # only its hash
    page = client.get(PRINT_URL)
    assert page.status_code == 200
    assert "Mouvements" in page.content.decode()  # French, whatever the browser
    pulled = AccessEvent.objects.filter(action=AccessEvent.Action.BRIDGE_PULL, outcome="allowed")
    assert pulled.count() == 1


@override_settings(SESSION_COOKIE_SECURE=True)
def test_the_cookie_is_secure_where_sessions_are(client, waves, token):
    assert enrol(client, token).cookies[auth.DEVICE_COOKIE]["secure"]


def test_the_page_is_french_whatever_the_browser_says(client, waves, token):
    enrol(client, token)
    page = client.get(PRINT_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert "Mouvements" in page.content.decode()
    assert "Content-Language" not in page and "Vary" not in page


@pytest.mark.parametrize(
    ("token_kind", "label"),
    [("wrong", "Poste A"), ("revoked", "Poste A"), ("custody_only", "Poste A"), ("valid", "  ")],
)
def test_a_bad_enrolment_is_a_400_with_a_message_and_enrols_nothing(
    client, waves, issue, coordinator, token_kind, label
):
    bridge_client, token = issue(
        scopes=(Scope.CUSTODY_WRITE,) if token_kind == "custody_only" else (Scope.MOVEMENTS_READ,)
    )
    if token_kind == "wrong":
        token = auth.new_token()
    if token_kind == "revoked":
        services.client_revoke(acting_user=coordinator, client=bridge_client)
    with time_machine.travel(timezone.now(), tick=False):
        response = enrol(client, token, label)
    assert response.status_code == 400
    assert auth.DEVICE_COOKIE not in response.cookies
    assert not BridgeDevice.objects.exists()
    assert 'role="alert"' in response.content.decode()
    assert token not in response.content.decode()


def test_the_coordinator_enrols_the_workstation_they_are_on(client, waves, issue, coordinator):
    bridge_client, _token = issue()
    client.force_login(coordinator)
    url = reverse("bridge:client_enrol_here", kwargs={"pk": bridge_client.pk})
    response = client.post(url, {"label": "Poste bâtiment B"})
    assert (response.status_code, response["Location"]) == (302, PRINT_URL)
    assert BridgeDevice.objects.get().created_by == coordinator
    guard = Client()  # the coordinator logs out; the workstation keeps its cookie
    guard.cookies[auth.DEVICE_COOKIE] = client.cookies[auth.DEVICE_COOKIE].value
    assert prints(guard) == 200
    listing = Client()
    listing.force_login(coordinator)
    assert "Poste bâtiment B" in listing.get(reverse("bridge:clients")).content.decode()


def test_revoking_the_workstation_ends_it_at_the_next_request(client, waves, token, coordinator):
    enrol(client, token)
    other = Client()
    enrol(other, token, "Poste bâtiment B")
    assert prints(client) == prints(other) == 200
    device = BridgeDevice.objects.get(label="Poste bâtiment A")
    assert services.device_revoke(acting_user=coordinator, device_id=device.pk)
    assert prints(client) == 401
    assert prints(other) == 200  # the other workstation goes on
    assert not services.device_revoke(acting_user=coordinator, device_id=device.pk)


def test_revoking_the_client_ends_its_workstations(client, waves, issue, coordinator):
    bridge_client, token = issue()
    enrol(client, token)
    services.client_revoke(acting_user=coordinator, client=bridge_client)
    assert prints(client) == 401
    denied = AccessEvent.objects.filter(outcome="denied", object_type="anonymous").last()
    assert denied is not None and denied.object_id == f"revoked client {bridge_client.pk}"


def test_rotating_the_token_ends_the_workstations_enrolled_before(
    client, waves, issue, coordinator
):
    bridge_client, token = issue()
    enrol(client, token)
    new = services.client_rotate(acting_user=coordinator, client=bridge_client).token
    assert prints(client) == 401
    assert enrol(client, token).status_code == 400  # the old token enrols nothing
    assert enrol(client, new).status_code == 302
    assert prints(client) == 200


def test_an_enrolment_expires(client, waves, token, settings):
    settings.USMP_BRIDGE_DEVICE_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        enrol(client, token)
    with time_machine.travel(start + datetime.timedelta(days=29, hours=23), tick=False):
        assert prints(client) == 200
    with time_machine.travel(start + datetime.timedelta(days=30, minutes=1), tick=False):
        assert prints(client) == 401
        assert "enrol" in client.get(PRINT_URL).content.decode()  # the way back is offered


@pytest.mark.parametrize("url", [PRINT_URL, ENROL_URL])
def test_a_token_in_the_address_is_refused_and_recorded_without_it(client, waves, token, url):
    enrol(client, token)  # even an enrolled workstation: the address is the fault
    response = client.get(url, {"token": token})
    assert response.status_code == 400
    assert "adresse" in response.content.decode()
    event = AccessEvent.objects.filter(object_id="token in address").get()
    assert event.outcome == "denied"
    stored = " ".join(str(v) for v in AccessEvent.objects.values().get(pk=event.pk).values())
    assert token not in stored and token[:10] not in stored


def test_the_coordinator_revokes_a_workstation_from_the_bridge_page(
    client, waves, issue, coordinator
):
    _bridge_client, token = issue()
    printer = Client()
    enrol(printer, token)
    device = BridgeDevice.objects.get()
    client.force_login(coordinator)
    response = client.post(reverse("bridge:device_revoke", kwargs={"pk": device.pk}))
    assert response.status_code == 302
    assert prints(printer) == 401
    page = client.get(reverse("bridge:clients")).content.decode()
    assert "révoqué" in page


# -- No credential in any log -------------------------------------------------------------------


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text} {record.args!r}")


@pytest.fixture
def every_log_line():
    """Every log record of every logger, at every level, for the test's duration."""
    handler = _Everything()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
        lg.addHandler(handler)
    yield handler.lines
    for lg, level, disabled in saved:
        lg.removeHandler(handler)
        lg.setLevel(level)
        lg.disabled = disabled


@override_settings(DEBUG=True)
def test_no_log_line_ever_holds_a_credential(client, waves, issue, coordinator, every_log_line):
    _valid_client, valid = issue(scopes=(Scope.MOVEMENTS_READ, Scope.CUSTODY_WRITE))
    revoked_client, revoked = issue(establishment="Révoqué")
    services.client_revoke(acting_user=coordinator, client=revoked_client)
    malformed = ["clb_" + "é" * 20, "clb_" + "x" * 500, "clb_short", "cld_" + "y" * 43]
    tokens = [valid, revoked, *malformed]
    enrolment = enrol(Client(), valid)
    device = enrolment.cookies[auth.DEVICE_COOKIE].value
    secrets = [*tokens, device]
    schemes = ["Bearer", "bearer", "Token", "Basic", "Bearer  ", "Api-Key", ""]
    api = ["/bridge/v1/movements", "/bridge/v1/movements.csv", "/bridge/v1/custody-events"]
    for secret in secrets:
        for scheme in schemes:
            header = f"{scheme} {secret}".strip()
            for url in api:
                client.get(url, HTTP_AUTHORIZATION=header)
                client.post(url, b"{}", content_type="application/json", HTTP_AUTHORIZATION=header)
            client.get(PRINT_URL, HTTP_AUTHORIZATION=header)
        client.get("/bridge/v1/movements", {"token": secret})
        client.get(PRINT_URL, {"token": secret})
        client.cookies[auth.DEVICE_COOKIE] = secret
        client.get(PRINT_URL)
        del client.cookies[auth.DEVICE_COOKIE]
        enrol(client, secret)
    client.get("/bridge/v1/movements", **bearer(valid))  # a success too
    assert every_log_line, "the handler saw nothing: the harness is blind"
    assert any("Unauthorized" in line or "401" in line for line in every_log_line)
    logged = "\n".join(every_log_line)
    for secret in secrets:
        assert secret not in logged
        assert secret[:10] not in logged, secret[:10]
