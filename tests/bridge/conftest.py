from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from bridge import policy, services
from bridge.models import MovementWave, Scope
from tests.factories import make_user

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def waves(db):
    """The demo unit's waves: 08:30, 10:00, 11:30, 14:00, 15:30, 17:00."""
    MovementWave.objects.all().delete()
    return [MovementWave.objects.create(time=t).time for t in policy.DEFAULT_WAVES]


@pytest.fixture
def coordinator(db):
    return make_user("coordinator")


@pytest.fixture
def issue(coordinator):
    """issue(scopes=..., networks=..., rate=...) -> (client, token)."""

    def build(
        scopes: tuple[str, ...] = (Scope.MOVEMENTS_READ,),
        networks: tuple[str, ...] = (),
        rate: int = 1000,
        establishment: str = "Maison d'arrêt de Démo",
    ):
        issued = services.client_create(
            acting_user=coordinator,
            establishment=establishment,
            scopes=list(scopes),
            allowed_networks=list(networks),
            rate_limit_per_minute=rate,
        )
        return issued.client, issued.token

    return build


@pytest.fixture
def token(issue):
    return issue()[1]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


PRINT_URL = "/bridge/print/"
ENROL_URL = "/bridge/print/enrol/"


def enrol(client, token: str, label: str = "Poste bâtiment A"):
    """Enrol the test client's "workstation" with TOKEN, as a guard would: the response."""
    return client.post(ENROL_URL, {"token": token, "label": label})
