"""Who keeps the register of requests for the record: the unit's physicians (somatic and
psychiatric), who answer for communicating it."""

from __future__ import annotations

from typing import Any

from dossiers.permissions import can_view_patients


def can_manage_disclosures(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and can_view_patients(user)
        and user.has_perm("disclosures.change_disclosurerequest")
    )
