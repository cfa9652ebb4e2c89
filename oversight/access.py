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
from usmp.audit import chain, proofs, writer
from usmp.audit.models import AccessEvent, ChainLink

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
    # What the tree holds of the event (usmp.audit.proofs): checked offline by audit_prove.
    action: str = ""
    outcome: str = ""
    compartment: str = ""
    break_glass: bool = False
    leaf: str = ""
    leaf_index: int | None = None
    proof: tuple[str, ...] = ()
    # The registration the event was recorded under (an absorbed one after a merge).
    patient_id: str = ""


@dataclass(frozen=True)
class PatientReport:
    prison_number: str
    lines: tuple[ReportLine, ...]
    generated_at: datetime.datetime
    patient_id: uuid.UUID | None = None
    checkpoint: str = ""  # the signed checkpoint (C2SP note) every line is proved against
    tree_size: int = 0

    def document(self) -> dict[str, object]:
        """The report as a file for the patient (no prison number): checked offline with
        ``manage.py audit_prove FILE --public-key KEY``."""
        return {
            "format": proofs.REPORT_FORMAT,
            "patient_id": str(self.patient_id),
            "generated_at": self.generated_at.isoformat(),
            "checkpoint": self.checkpoint,
            "statement": (
                f"Every access to this patient's records among the first {self.tree_size} "
                "events of the health unit's audit log, the log of the signed checkpoint "
                "above, is listed here, each with the proof that the log holds it."
            ),
            "lines": [
                {
                    "at": line.at.isoformat(),
                    "who": line.who,
                    "roles": line.roles,
                    "action": line.action,
                    "outcome": line.outcome,
                    "compartment": line.compartment,
                    "break_glass": line.break_glass,
                    "reason": line.reason,
                    "leaf_index": line.leaf_index,
                    "leaf": line.leaf,
                    "proof": list(line.proof),
                }
                for line in self.lines
            ],
        }


# Reads of the audit itself are not accesses to the patient's records.
_AUDIT_ACTIONS = [Action.AUDIT_VIEW, Action.AUDIT_EXPORT, Action.ACCESS_REPORT]
REPORT_LIMIT = 2000


def access_patient_report(*, viewer: Viewer, patient_id: uuid.UUID) -> PatientReport:
    """Every access to one patient's identity and dossiers, for their right of access, with
    the reasons given for emergency accesses; each line with its inclusion proof in the
    audit tree, against a checkpoint signed for this report (complete up to it)."""
    target = Target(Action.ACCESS_REPORT, patient_id=patient_id)
    _require_reviewer(viewer, target, Purpose.PRINT)
    patient = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
    if patient is None:
        record.refuse(viewer, target, purpose=Purpose.PRINT)
    # Outside the transaction below: it links what is committed and signs the tree.
    point = chain.checkpoint()
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.PRINT)
        # A merged patient's report covers the registrations it absorbed (their tombstones).
        patient_ids = [
            patient_id,
            *Patient.objects.filter(merged_into=patient).values_list("pk", flat=True),
        ]
        candidates = list(
            AccessEvent.objects.filter(patient_id__in=patient_ids)
            .exclude(action__in=_AUDIT_ACTIONS)
            .select_related("actor")
            .prefetch_related("actor__groups")
            .order_by("-at")[:REPORT_LIMIT]
        )
        ids = [e.pk for e in candidates]
        in_tree = dict(
            ChainLink.objects.filter(
                source=ChainLink.Source.ACCESS, source_id__in=ids, seq__lte=point.seq
            ).values_list("source_id", "seq")
        )
        # Never sequenced (inserted behind the sequencer's back): listed, and unprovable.
        outside = chain.unlinked_behind(ChainLink.Source.ACCESS, set(ids) - set(in_tree))
        events = [e for e in candidates if e.pk in in_tree or e.pk in outside]
        proved = proofs.prove_events(list(in_tree), point)
        reasons: dict[tuple[int | None, str], str] = {
            (g.user_id, g.dossier.compartment): g.reason
            for g in BreakGlassAccess.objects.filter(
                dossier__patient_id__in=patient_ids
            ).select_related("dossier", "reason_key")
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
                    action=e.action,
                    outcome=e.outcome,
                    compartment=e.compartment,
                    break_glass=e.break_glass,
                    leaf=proved[e.pk].leaf if e.pk in proved else "",
                    leaf_index=proved[e.pk].index if e.pk in proved else None,
                    proof=proved[e.pk].proof if e.pk in proved else (),
                    patient_id=str(e.patient_id or ""),
                )
            )
        return PatientReport(
            prison_number=patient.prison_number,
            lines=tuple(lines),
            generated_at=timezone.now(),
            patient_id=patient_id,
            checkpoint=point.note,
            tree_size=point.tree_size or 0,
        )
