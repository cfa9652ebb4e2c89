"""The demo unit's bridge: the usual waves and one prison client (development only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge import policy, services
from bridge.models import MovementWave, Scope

if TYPE_CHECKING:
    from usmp.accounts.models import User


def load_demo_bridge(*, acting_user: User) -> str:
    """Create the demo waves and a demo prison client; return its token (shown once)."""
    for time in policy.DEFAULT_WAVES:
        MovementWave.objects.get_or_create(time=time)
    issued = services.client_create(
        acting_user=acting_user,
        establishment="Centre pénitentiaire de Démo (greffe)",
        scopes=[Scope.MOVEMENTS_READ, Scope.CUSTODY_WRITE],
        rate_limit_per_minute=120,
    )
    return issued.token
