"""Leakage lint: configurations under which a movement would say more than where and when.

- consecutive waves closer than ``policy.MIN_WAVE_GAP``: a window then measures the
  consultation almost exactly;
- a movement point served by a single specialty: the point names the specialty. This needs
  a count that ``appointments.movements`` does not expose yet (see ``point_specialty_counts``
  below); the check uses it as soon as that function exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError
from django.utils.translation import gettext as _

from appointments import movements as agenda_movements

from . import policy

W001 = "bridge.W001"
W002 = "bridge.W002"


def leakage_warnings() -> list[tuple[str, str]]:
    """(check id, message) for each configuration that leaks; [] when the database is not
    reachable (a check must not crash `manage.py`)."""
    from .models import MovementWave

    found: list[tuple[str, str]] = []
    try:
        waves = list(MovementWave.objects.values_list("time", flat=True))
        counts_fn: Callable[[], dict[str, int]] | None = getattr(
            agenda_movements, "point_specialty_counts", None
        )
        counts = counts_fn() if counts_fn is not None else {}
    except DatabaseError:
        return []
    for first, second in policy.close_waves(waves):
        found.append(
            (
                W001,
                _(
                    "Movement waves %(first)s and %(second)s are less than %(minutes)d minutes "
                    "apart: a movement window would reveal how long a consultation lasts."
                )
                % {
                    "first": first.strftime("%H:%M"),
                    "second": second.strftime("%H:%M"),
                    "minutes": int(policy.MIN_WAVE_GAP.total_seconds() // 60),
                },
            )
        )
    for point, count in sorted(counts.items()):
        if count == 1:
            found.append(
                (
                    W002,
                    _(
                        "Movement point “%(point)s” is served by a single specialty: the prison "
                        "side would know which service a detainee goes to."
                    )
                    % {"point": point},
                )
            )
    return found


@register("bridge")
def check_leakage(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [Warning(message, id=check_id) for check_id, message in leakage_warnings()]
