"""Who may reach which patient and dossier: predicates that read permissions and never
write. The access functions (``dossiers.access``) use them and record what they decide.

A dossier is reached by its compartment's team (role permission), by a per-object grant
(django-guardian's tables, superuser and global shortcuts off, with a term: a grant past its
`expires_at` counts for nothing) or by an active break-the-glass access.
Everyone else, secretaries, the coordinator and the IT administrator included, is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from usmp.accounts.roles import CLINICAL_ROLES

from .models import (
    BreakGlassAccess,
    Dossier,
    DossierGroupObjectPermission,
    DossierUserObjectPermission,
)

GRANT_PERMS = ("view_dossier", "change_dossier")


def can_view_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.view_patient"))


def can_add_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.add_patient"))


def can_change_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.change_patient"))


def is_team_member(user: Any, compartment: str) -> bool:
    return bool(user.is_authenticated and user.has_perm(f"dossiers.team_{compartment}"))


def is_clinician(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and not user.is_superuser
        and user.roles & CLINICAL_ROLES
    )


@dataclass(frozen=True)
class DossierAccess:
    dossier: Dossier
    via: str  # "team", "grant" or "break_glass"
    break_glass: BreakGlassAccess | None = None
    can_write: bool = True

    @property
    def is_break_glass(self) -> bool:
        return self.break_glass is not None


def active_break_glass(user: Any, dossier: Dossier) -> BreakGlassAccess | None:
    now = timezone.now()
    return (
        BreakGlassAccess.objects.filter(
            user=user, dossier=dossier, started_at__lte=now, expires_at__gt=now
        )
        .order_by("-expires_at")
        .first()
    )


def _live_grants(user: Any, **filters: Any) -> tuple[Any, Any]:
    """The user's and their groups' grant rows still in force, filtered by FILTERS."""
    now = timezone.now()
    live = Q(permission__codename__in=GRANT_PERMS, expires_at__gt=now)
    return (
        DossierUserObjectPermission.objects.filter(live, user=user, **filters),
        DossierGroupObjectPermission.objects.filter(live, group__user=user, **filters),
    )


def _granted(user: Any, dossier: Dossier) -> tuple[bool, bool]:
    """(may read, may write) through per-object grants in force to the user or their groups."""
    by_user, by_group = _live_grants(user, content_object=dossier)
    perms = set(
        by_user.values_list("permission__codename", flat=True).union(
            by_group.values_list("permission__codename", flat=True)
        )
    )
    return (bool(perms), "change_dossier" in perms)


def dossier_access_for(user: Any, dossier: Dossier) -> DossierAccess | None:
    """How USER may reach DOSSIER, or None. Superusers and inactive users never do."""
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return None
    if is_team_member(user, dossier.compartment):
        return DossierAccess(dossier, "team")
    if not is_clinician(user):
        return None
    readable, writable = _granted(user, dossier)
    if readable:
        return DossierAccess(dossier, "grant", can_write=writable)
    grant = active_break_glass(user, dossier)
    if grant is not None:
        return DossierAccess(dossier, "break_glass", break_glass=grant)
    return None


def team_compartments(user: Any) -> frozenset[str]:
    """The compartments whose care team USER belongs to."""
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return frozenset()
    return frozenset(c for c in ("somatic", "psychiatric") if is_team_member(user, c))


def reachable_compartments(
    user: Any, patient_ids: Iterable[uuid.UUID]
) -> frozenset[tuple[uuid.UUID, str]]:
    """(patient id, compartment) of the dossiers USER reaches among those of PATIENT_IDS, as
    ``dossier_access_for`` decides, in at most three queries whatever their number: for the
    agenda's lists, where a motive shows only to those who reach its compartment."""
    ids = set(patient_ids)
    if not ids or not user.is_authenticated or not user.is_active or user.is_superuser:
        return frozenset()
    teams = team_compartments(user)
    reached = {(pid, c) for pid in ids for c in teams}
    others = {"somatic", "psychiatric"} - teams
    if not others or not is_clinician(user):
        return frozenset(reached)
    by_user, by_group = _live_grants(
        user, content_object__patient_id__in=ids, content_object__compartment__in=others
    )
    fields = ("content_object__patient_id", "content_object__compartment")
    rows = [*by_user.values_list(*fields), *by_group.values_list(*fields)]
    now = timezone.now()
    rows += BreakGlassAccess.objects.filter(
        user=user,
        dossier__patient_id__in=ids,
        dossier__compartment__in=others,
        started_at__lte=now,
        expires_at__gt=now,
    ).values_list("dossier__patient_id", "dossier__compartment")
    return frozenset(reached | set(rows))
