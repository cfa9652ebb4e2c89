"""The compartment wall in the agenda: a motive, an outcome comment and a care-request text
are clinical text of their specialty's compartment. Only those who reach the patient's
dossier in that compartment (its care team, a grant, an open emergency access) read them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dossiers.permissions import DossierAccess, dossier_access_for, reachable_compartments

from .. import permissions


@dataclass(frozen=True)
class Wall:
    """The (patient, compartment) pairs whose clinical text the viewer reads."""

    reached: frozenset[tuple[uuid.UUID, str]]

    def reads(self, patient_id: uuid.UUID, compartment: str) -> bool:
        return (patient_id, compartment) in self.reached


NOBODY = Wall(frozenset())


def wall_for(user: Any, patient_ids: Iterable[uuid.UUID]) -> Wall:
    """The wall for USER over the patients of a list (at most three queries)."""
    if not permissions.can_view_motive(user):
        return NOBODY
    return Wall(reachable_compartments(user, patient_ids))


def dossier_access(user: Any, patient: Any, compartment: str) -> DossierAccess | None:
    """How USER reaches PATIENT's dossier in COMPARTMENT (for one object's page: an
    emergency access flags the access event)."""
    if not permissions.can_view_motive(user):
        return None
    dossier = next((d for d in patient.dossiers.all() if d.compartment == compartment), None)
    return dossier_access_for(user, dossier) if dossier is not None else None
