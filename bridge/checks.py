"""Leakage lint: configurations under which a movement would say more than where and when.

- consecutive waves closer than ``policy.MIN_WAVE_GAP``: a window then measures the
  consultation almost exactly;
- a movement point served by a single specialty: the point names the specialty
  (``appointments.movements.point_specialty_counts``).

And one that leaks nothing but makes the published windows useless to the guards:

- consultations that open before the first wave: their movements run from midnight.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError
from django.utils.translation import gettext as _

from appointments import movements as agenda_movements

from . import policy

W001 = "bridge.W001"
W002 = "bridge.W002"
W003 = "bridge.W003"


def leakage_warnings() -> list[tuple[str, str]]:
    """(check id, message) for each configuration that leaks; [] when the database is not
    reachable (a check must not crash `manage.py`)."""
    from .models import MovementWave

    found: list[tuple[str, str]] = []
    try:
        waves = list(MovementWave.objects.values_list("time", flat=True))
        counts = agenda_movements.point_specialty_counts()
        earliest = agenda_movements.earliest_opening()
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
    if waves and earliest is not None and earliest < min(waves):
        found.append(
            (
                W003,
                _(
                    "Consultations open at %(opening)s, before the first movement wave at "
                    "%(wave)s: their movements are published from midnight. Add a wave at or "
                    "before %(opening)s."
                )
                % {"opening": earliest.strftime("%H:%M"), "wave": min(waves).strftime("%H:%M")},
            )
        )
    return found


@register("bridge", Tags.database)
def check_leakage(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """A database check, as Django means it: run by `migrate` and by `check --database
    default`, not by a bare `check --deploy` (the deployment's gate must not wait for the
    coordinator to fix the waves). The coordinator's pages show the same warnings."""
    if not databases:
        return []
    return [Warning(message, id=check_id) for check_id, message in leakage_warnings()]
