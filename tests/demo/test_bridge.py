"""`make run`'s demo unit includes the bridge: waves and a prison client whose token works."""

from __future__ import annotations

import pytest

from bridge import policy
from bridge.models import BridgeClient, MovementWave
from demo.unit import BRIDGE_TOKEN_LABEL, load_demo
from tests.bridge.conftest import bearer

pytestmark = pytest.mark.django_db


def test_demo_prints_a_working_bridge_token(client):
    logins = load_demo(patients=20)
    (token,) = [secret for demo, secret in logins if demo.role == BRIDGE_TOKEN_LABEL]
    assert token.startswith("clb_")
    assert list(MovementWave.objects.values_list("time", flat=True)) == list(policy.DEFAULT_WAVES)
    assert BridgeClient.objects.count() == 1
    response = client.get("/bridge/v1/movements", **bearer(token))
    assert response.status_code == 200
    assert response.json()["movements"], "the demo agenda should publish movements"


def test_the_demo_unit_passes_the_leakage_lint():
    """No point names a specialty, waves are far enough apart, no consultation opens
    before the first wave."""
    from bridge.checks import leakage_warnings

    load_demo(patients=20)
    assert leakage_warnings() == []
