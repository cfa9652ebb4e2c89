"""Rows of tests/test_authorization_matrix.py for the bridge's pages."""

from __future__ import annotations

import datetime
from typing import Any

from bridge import services
from bridge.models import MovementWave, Scope
from tests.factories import make_user


def matrix_client(world: Any) -> dict[str, Any]:
    issued = services.client_create(
        acting_user=make_user("coordinator"),
        establishment="Maison d'arrêt de Démo",
        scopes=[Scope.MOVEMENTS_READ],
    )
    return {"pk": issued.client.pk}


def matrix_wave(world: Any) -> dict[str, Any]:
    wave, _created = MovementWave.objects.get_or_create(time=datetime.time(8, 30))
    return {"pk": wave.pk}


def matrix_device(world: Any) -> dict[str, Any]:
    coordinator = make_user("coordinator")
    issued = services.client_create(
        acting_user=coordinator,
        establishment="Maison d'arrêt de Démo",
        scopes=[Scope.MOVEMENTS_READ],
    )
    device = services.device_enrol(
        acting_user=coordinator, client_id=issued.client.pk, label="Poste bâtiment A"
    )
    return {"pk": device.device.pk}
