"""Who may reach which patient and dossier. Views never fetch these objects any other way.

A dossier is reached by its compartment's team (role permission), by a per-object grant
(django-guardian, superuser and global shortcuts off) or by an active break-the-glass access.
Everyone else, secretaries, the coordinator and the IT administrator included, gets a 404 and
leaves a denied access event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from guardian.core import ObjectPermissionChecker

from usmp.accounts.roles import CLINICAL_ROLES
from usmp.audit.models import AccessEvent
from usmp.audit.services import access_record

from .models import BreakGlassAccess, Compartment, Dossier, Patient


def can_view_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.view_patient"))


def can_add_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.add_patient"))


def can_change_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.change_patient"))


def access_patient(user: Any, patient_id: uuid.UUID, *, for_change: bool = False) -> Patient:
    """The patient, or Http404 whether it does not exist or the user may not see it: a
    patient's presence in the unit is itself confidential."""
    allowed = can_change_patients(user) if for_change else can_view_patients(user)
    if not allowed:
        raise Http404
    try:
        return Patient.objects.select_related("identity_key").get(pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404 from None


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


def _granted(user: Any, dossier: Dossier) -> tuple[bool, bool]:
    """(may read, may write) through per-object grants to the user or their groups."""
    checker = ObjectPermissionChecker(user)
    perms = set(checker.get_perms(dossier))
    return ("view_dossier" in perms or "change_dossier" in perms, "change_dossier" in perms)


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


def access_dossier(
    request: HttpRequest, patient_id: uuid.UUID, compartment: str, *, action: str
) -> DossierAccess:
    """The user's access to a patient's dossier, or Http404 after recording the denial."""
    dossier = None
    if compartment in Compartment.values:
        dossier = (
            Dossier.objects.select_related("patient__identity_key", "data_key")
            .filter(patient_id=patient_id, compartment=compartment)
            .first()
        )
    access = dossier_access_for(request.user, dossier) if dossier is not None else None
    if access is None:
        access_record(
            request=request,
            action=action,
            outcome=AccessEvent.Outcome.DENIED,
            patient_id=patient_id,
            compartment=compartment if compartment in Compartment.values else "",
        )
        raise Http404
    return access


def accessible_compartments(user: Any, patient: Patient) -> list[DossierAccess]:
    """The dossiers of PATIENT that USER may open (for links; never lists the others)."""
    dossiers = Dossier.objects.filter(patient=patient).order_by("compartment")
    return [a for d in dossiers if (a := dossier_access_for(user, d)) is not None]
