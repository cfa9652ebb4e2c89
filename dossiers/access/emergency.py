"""Break-the-glass accesses: the form that opens one, the coordinator's review."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from .. import permissions, selectors
from ..models import BreakGlassAccess, Compartment, Dossier
from .data import BreakGlassView, PatientView, PersonRef
from .patients import user_of


@dataclass(frozen=True)
class BreakGlassForm:
    """What the emergency-access form shows; ``already`` when the viewer reaches the
    dossier anyway."""

    patient: PatientView
    compartment: Compartment
    already: bool
    _dossier: Dossier

    def dossier_instance(self) -> Dossier:
        return self._dossier


def access_break_glass_form(
    *, viewer: Viewer, patient_id: uuid.UUID, compartment: str, purpose: str
) -> BreakGlassForm:
    """The patient and the dossier a clinician outside its team would open in an
    emergency (NotFound, recorded, for anyone but a clinician)."""
    target = Target(
        Action.PATIENT_VIEW,
        patient_id=patient_id,
        compartment=compartment if compartment in Compartment.values else "",
        object_type="break_glass_form",
    )
    user = user_of(viewer)
    if (
        permissions.is_clinician(user)
        and permissions.can_view_patients(user)
        and compartment in Compartment.values
    ):
        with transaction.atomic():
            dossier = (
                Dossier.objects.select_related("patient__identity_key")
                .filter(patient_id=patient_id, compartment=compartment)
                .first()
            )
            if dossier is not None:
                already = permissions.dossier_access_for(user, dossier) is not None
                if not already and purpose != Purpose.WRITE:
                    record.allowed(viewer, target, purpose=purpose)
                return BreakGlassForm(
                    patient=PatientView.of(dossier.patient),
                    compartment=Compartment(compartment),
                    already=already,
                    _dossier=dossier,
                )
    record.refuse(viewer, target, purpose=purpose)


def _view(grant: BreakGlassAccess, *, for_change: bool = False) -> BreakGlassView:
    return BreakGlassView(
        id=grant.pk,
        user=PersonRef.of(grant.user),
        patient_id=grant.dossier.patient_id,
        compartment=grant.dossier.compartment,
        reason=grant.reason,
        started_at=grant.started_at,
        expires_at=grant.expires_at,
        reviewed_at=grant.reviewed_at,
        review_comment=grant.review_comment,
        _instance=grant if for_change else None,
    )


def access_break_glass_list(*, viewer: Viewer) -> tuple[BreakGlassView, ...]:
    """Emergency accesses with their reasons, newest first, for the coordinator."""
    target = Target(Action.BREAK_GLASS_LIST, object_type="break_glass")
    if not viewer.has_perm("dossiers.review_break_glass"):
        record.refuse(viewer, target, purpose=Purpose.DISPLAY, hide=False)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        return tuple(_view(g) for g in selectors.break_glass_accesses())


def access_break_glass(*, viewer: Viewer, access_id: uuid.UUID) -> BreakGlassView:
    """One emergency access, opened for its review by a coordinator."""
    target = Target(Action.BREAK_GLASS_LIST, object_type="break_glass", object_id=str(access_id))
    if not viewer.has_perm("dossiers.review_break_glass"):
        record.refuse(viewer, target, purpose=Purpose.WRITE, hide=False)
    grant = (
        BreakGlassAccess.objects.select_related("reason_key", "dossier", "user")
        .filter(pk=access_id)
        .first()
    )
    if grant is None:
        record.refuse(viewer, target, purpose=Purpose.WRITE)
    return _view(grant, for_change=True)


@dataclass(frozen=True)
class OpenEmergency:
    """One of the viewer's own emergency accesses still open: which dossier and until when
    (no identity, no reason: the banner of every page names neither)."""

    patient_id: uuid.UUID
    compartment: str
    until: datetime.datetime

    @property
    def compartment_label(self) -> str:
        return str(Compartment(self.compartment).label)


def open_emergency_accesses(*, viewer: Viewer) -> tuple[OpenEmergency, ...]:
    """The viewer's own open emergency accesses, for the banner on every page. Not an
    access event: the viewer's own grants, read without any patient data (one query)."""
    user = viewer.user
    if user is None or not permissions.is_clinician(user):
        return ()
    now = timezone.now()
    rows = (
        BreakGlassAccess.objects.filter(user=user, started_at__lte=now, expires_at__gt=now)
        .order_by("expires_at")
        .values_list("dossier__patient_id", "dossier__compartment", "expires_at")
    )
    tz = timezone.get_current_timezone()
    return tuple(OpenEmergency(p, c, until.astimezone(tz)) for p, c, until in rows)
