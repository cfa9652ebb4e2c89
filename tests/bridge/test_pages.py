"""The coordinator's bridge pages: create (token shown once), rotate, revoke, waves, warnings."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from bridge.models import BridgeClient, MovementWave

from .conftest import bearer

pytestmark = pytest.mark.django_db
TOKEN_RE = re.compile(r"clb_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def coordinator_client(persona_client):
    return persona_client("coordinator")


def test_create_shows_the_token_once(coordinator_client, waves):
    response = coordinator_client.post(
        reverse("bridge:client_create"),
        {
            "establishment": "Centre pénitentiaire Nord",
            "scopes": ["movements:read"],
            "allowed_networks": "10.20.0.0/16, 192.0.2.1",
            "rate_limit_per_minute": "30",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (token,) = set(TOKEN_RE.findall(response.content.decode()))
    client = BridgeClient.objects.get()
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert client.allowed_networks == ["10.20.0.0/16", "192.0.2.1/32"]
    assert (client.scopes, client.rate_limit_per_minute) == (["movements:read"], 30)
    listing = coordinator_client.get(reverse("bridge:clients")).content.decode()
    assert token not in listing
    assert client.token_prefix in listing
    assert "Lire les mouvements" in listing and "movements:read" not in listing  # words, not codes


@pytest.mark.parametrize(
    ("field", "value"),
    [("allowed_networks", "not-a-network"), ("rate_limit_per_minute", "0"), ("scopes", "admin")],
)
def test_bad_input_is_a_clear_form_error(coordinator_client, field, value):
    data = {"establishment": "CP", "scopes": ["movements:read"], "rate_limit_per_minute": "60"}
    data[field] = value
    response = coordinator_client.post(reverse("bridge:client_create"), data)
    assert response.status_code == 200
    assert "field-invalid" in response.content.decode()
    assert BridgeClient.objects.count() == 0


def test_rotate_and_revoke(coordinator_client, client, waves, issue):
    bridge_client, old = issue()
    rotated = coordinator_client.post(
        reverse("bridge:client_rotate", kwargs={"pk": bridge_client.pk})
    )
    (new,) = set(TOKEN_RE.findall(rotated.content.decode()))
    assert client.get("/bridge/v1/movements", **bearer(old)).status_code == 401
    assert client.get("/bridge/v1/movements", **bearer(new)).status_code == 200
    revoked = coordinator_client.post(
        reverse("bridge:client_revoke", kwargs={"pk": bridge_client.pk})
    )
    assert revoked.status_code == 302
    assert client.get("/bridge/v1/movements", **bearer(new)).status_code == 401
    again = coordinator_client.post(
        reverse("bridge:client_rotate", kwargs={"pk": bridge_client.pk})
    )
    assert not TOKEN_RE.search(again.content.decode())


def test_unknown_client_is_404(coordinator_client):
    for name in ("bridge:client_rotate", "bridge:client_revoke"):
        assert coordinator_client.get(reverse(name, kwargs={"pk": 999999})).status_code == 404
        assert coordinator_client.get(reverse(name, kwargs={"pk": 2**64})).status_code == 404


def test_waves_add_refuse_duplicate_and_delete(coordinator_client):
    url = reverse("bridge:waves")
    assert coordinator_client.post(url, {"time": "08:30"}).status_code == 302
    duplicate = coordinator_client.post(url, {"time": "08:30"})
    assert duplicate.status_code == 200
    assert "field-invalid" in duplicate.content.decode()
    assert coordinator_client.post(url, {"time": "25:99"}).status_code == 200
    wave = MovementWave.objects.get()
    assert wave.time == datetime.time(8, 30)
    coordinator_client.post(reverse("bridge:wave_delete", kwargs={"pk": wave.pk}))
    assert MovementWave.objects.count() == 0


def test_close_waves_warn_on_the_pages_and_in_the_system_check(coordinator_client, waves, capsys):
    MovementWave.objects.create(time=datetime.time(8, 45))
    for name in ("bridge:clients", "bridge:waves"):
        text = coordinator_client.get(reverse(name)).content.decode()
        assert "08:30" in text and "08:45" in text
        assert 'role="alert"' in text
    from bridge.checks import check_leakage

    (warning,) = check_leakage(databases=["default"])
    assert warning.id == "bridge.W001"
    call_command("check", databases=["default"])
    assert "bridge.W001" in capsys.readouterr().err
    # A bare `check --deploy` (the deployment's gate) does not query the database.
    assert check_leakage() == []


def test_default_waves_raise_no_warning(coordinator_client, waves):
    from bridge.checks import check_leakage

    assert check_leakage(databases=["default"]) == []
    assert 'role="alert"' not in coordinator_client.get(reverse("bridge:clients")).content.decode()


NINE = datetime.time(9)


def test_a_point_served_by_one_specialty_warns(waves):
    from bridge.checks import check_leakage
    from tests.appointments import factories as agenda

    dental = agenda.point("dentaire", "Cabinet dentaire")
    agenda.room("Fauteuil", movement_point=dental)
    agenda.practitioner("physician", specialty_code="dental", room_name="Fauteuil", start=NINE)
    # General medicine and nursing at the waiting room: it names neither.
    agenda.practitioner(start=NINE)
    agenda.practitioner("nurse", specialty_code="nursing", room_name="Soins", start=NINE)
    (warning,) = check_leakage(databases=["default"])
    assert warning.id == "bridge.W002"
    assert "dentaire" in warning.msg
    # A second specialty consults there: the point no longer names one.
    agenda.practitioner(room_name="Fauteuil", start=NINE)
    assert check_leakage(databases=["default"]) == []


def test_consultations_before_the_first_wave_warn(coordinator_client, waves):
    from bridge.checks import check_leakage
    from tests.appointments import factories as agenda

    agenda.practitioner(start=datetime.time(8, 0))
    agenda.practitioner("nurse", specialty_code="nursing", room_name="Soins", start=NINE)
    (warning,) = check_leakage(databases=["default"])
    assert warning.id == "bridge.W003"
    assert "08:00" in warning.msg and "08:30" in warning.msg
    assert "08:00" in coordinator_client.get(reverse("bridge:waves")).content.decode()
    MovementWave.objects.create(time=datetime.time(8, 0))
    assert check_leakage(databases=["default"]) == []
