"""Who may prepare and import transfer packages, and manage the partner units."""

from __future__ import annotations

from typing import Any

from dossiers.models import Compartment
from usmp.accounts.roles import Role

# The responsible doctor of each side prepares and receives that side's package.
TRANSFER_ROLE = {Compartment.SOMATIC: Role.PHYSICIAN, Compartment.PSYCHIATRIC: Role.PSYCHIATRIST}


def _staff(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and not user.is_superuser)


def can_transfer(user: Any, compartment: str | None = None) -> bool:
    """A physician (somatic side) or psychiatrist (psychiatric side); any side if None."""
    if not _staff(user):
        return False
    if compartment is None:
        return bool(user.roles & set(TRANSFER_ROLE.values()))
    return (
        compartment in Compartment.values and TRANSFER_ROLE[Compartment(compartment)] in user.roles
    )


def transfer_compartments(user: Any) -> list[str]:
    return [c.value for c in Compartment if can_transfer(user, c.value)]


def can_manage_partners(user: Any) -> bool:
    return _staff(user) and Role.COORDINATOR in user.roles
