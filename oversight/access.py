"""The audit trail as the coordinator reads it: one page, the CSV export, one patient's
access report. Each read of the trail is itself an access event."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from dossiers.models import BreakGlassAccess, Compartment, Patient
from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer
from usmp.accounts.roles import Role
from usmp.audit import writer
from usmp.audit.models import AccessEvent

from . import selectors

REVIEW_PERMISSION = "audit.review_audit"


@dataclass(frozen=True)
class AuditPage:
    page: selectors.TrailPage
    pending_reviews: int


def _require_reviewer(viewer: Viewer, target: Target, purpose: str) -> None:
    if not viewer.has_perm(REVIEW_PERMISSION):
        record.refuse(viewer, target, purpose=purpose, hide=False)


def access_audit_trail(
    *, viewer: Viewer, trail_filter: selectors.TrailFilter, cursor: str = ""
) -> AuditPage:
    """One page of the merged trail, newest first, with its flags."""
    target = Target(Action.AUDIT_VIEW, patient_id=trail_filter.patient_id)
    _require_reviewer(viewer, target, Purpose.DISPLAY)
    # Refusals of anonymous requests counted in past minutes join the trail first.
    writer.refusals_fold()
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        return AuditPage(
            page=selectors.audit_trail(trail_filter, cursor=cursor),
            pending_reviews=selectors.break_glass_pending(),
        )


def access_audit_export(
    *, viewer: Viewer, trail_filter: selectors.TrailFilter, query: str
) -> Iterator[selectors.TrailRow]:
    """Every row of the filtered trail, streamed (the export is recorded before it runs)."""
    target = Target(
        Action.AUDIT_EXPORT,
        patient_id=trail_filter.patient_id,
        object_type="filters",
        object_id=query[:64],
    )
    _require_reviewer(viewer, target, Purpose.EXPORT)
    writer.refusals_fold()
    record.allowed(viewer, target, purpose=Purpose.EXPORT)
    return selectors.iter_trail(trail_filter)


@dataclass(frozen=True)
class ReportLine:
    at: datetime.datetime
    who: str
    roles: str
    action_label: str
    compartment_label: str
    denied: bool
    reason: str


@dataclass(frozen=True)
class PatientReport:
    prison_number: str
    lines: tuple[ReportLine, ...]
    generated_at: datetime.datetime


# Reads of the audit itself are not accesses to the patient's records.
_AUDIT_ACTIONS = [Action.AUDIT_VIEW, Action.AUDIT_EXPORT, Action.ACCESS_REPORT]
REPORT_LIMIT = 2000


def access_patient_report(*, viewer: Viewer, patient_id: uuid.UUID) -> PatientReport:
    """Every access to one patient's identity and dossiers, for their right of access, with
    the reasons given for emergency accesses."""
    target = Target(Action.ACCESS_REPORT, patient_id=patient_id)
    _require_reviewer(viewer, target, Purpose.PRINT)
    patient = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
    if patient is None:
        record.refuse(viewer, target, purpose=Purpose.PRINT)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.PRINT)
        events = list(
            AccessEvent.objects.filter(patient_id=patient_id)
            .exclude(action__in=_AUDIT_ACTIONS)
            .select_related("actor")
            .prefetch_related("actor__groups")
            .order_by("-at")[:REPORT_LIMIT]
        )
        reasons: dict[tuple[int | None, str], str] = {
            (g.user_id, g.dossier.compartment): g.reason
            for g in BreakGlassAccess.objects.filter(dossier__patient_id=patient_id).select_related(
                "dossier", "reason_key"
            )
        }
        lines = []
        for e in events:
            actor = e.actor
            roles = (
                ", ".join(
                    str(Role(g.name).label) for g in actor.groups.all() if g.name in Role.values
                )
                if actor is not None
                else ""
            )
            lines.append(
                ReportLine(
                    at=e.at,
                    who=str(actor.get_full_name() or actor.username) if actor else "",
                    roles=roles,
                    action_label=str(e.get_action_display()),
                    compartment_label=(
                        str(Compartment(e.compartment).label)
                        if e.compartment in Compartment.values
                        else ""
                    ),
                    denied=e.outcome == AccessEvent.Outcome.DENIED,
                    reason=reasons.get((e.actor_id, e.compartment), "") if e.break_glass else "",
                )
            )
        return PatientReport(
            prison_number=patient.prison_number, lines=tuple(lines), generated_at=timezone.now()
        )
