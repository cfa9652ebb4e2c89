"""Merging two registrations of one person: the dossiers (``dossiers.merge``), then what the
agenda and the register of requests hold about the absorbed registration, moved to the
survivor in the same transaction. Every row moves through ``save()``, so the write history
records each move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disclosures.models import DisclosureRequest
from dossiers.merge import dossiers_merge, rekey
from dossiers.models import Dossier, Patient, PatientMerge
from usmp.core.audit import acting_as

from ..models import (
    Appointment,
    CareRequest,
    CustodyEvent,
    HandoverItem,
    MovementOutcome,
    Unavailability,
    VisitTask,
)

if TYPE_CHECKING:
    from usmp.accounts.models import User

PENDING = (VisitTask.Status.OPEN, VisitTask.Status.BOOKED)
_MOVED: dict[str, type[models.Model]] = {
    "appointments": Appointment,
    "care_requests": CareRequest,
    "visit_tasks": VisitTask,
    "custody_events": CustodyEvent,
    "unavailabilities": Unavailability,
    "movement_outcomes": MovementOutcome,
    "disclosure_requests": DisclosureRequest,
}


def _counts(patients: list[Patient]) -> dict[str, int]:
    return {
        name: model._default_manager.filter(patient__in=patients).count()
        for name, model in _MOVED.items()
    }


def _settle_visit_tasks(survivor: Patient, absorbed: Patient) -> None:
    """One pending visit of each kind: of two, the booked one stays (else the survivor's);
    the other is closed as no longer needed."""
    now = timezone.now()
    for kind in VisitTask.Kind.values:
        pending = list(
            VisitTask.objects.filter(
                patient__in=[survivor, absorbed], kind=kind, status__in=PENDING
            )
        )
        if len(pending) < 2:
            continue
        pending.sort(
            key=lambda t: (t.status != VisitTask.Status.BOOKED, t.patient_id != survivor.pk)
        )
        for task in pending[1:]:
            task.status = VisitTask.Status.CANCELLED
            task.closed_at = now
            task.save(update_fields=["status", "closed_at"])


def _move(survivor: Patient, absorbed: Patient) -> None:
    keys: dict[Any, Any] = {}
    for compartment in ("somatic", "psychiatric"):
        old = Dossier.objects.get(patient=absorbed, compartment=compartment)
        new = Dossier.objects.select_related("data_key").get(
            patient=survivor, compartment=compartment
        )
        keys[old.data_key_id] = new.data_key
    for appointment in Appointment.objects.filter(patient=absorbed).select_related("data_key"):
        fields = ["patient"]
        if appointment.data_key_id in keys:
            rekey(
                appointment,
                ("motive", "outcome_comment"),
                "data_key",
                keys[appointment.data_key_id],
            )
            fields += ["data_key", "motive", "outcome_comment"]
        appointment.patient = survivor
        appointment.save(update_fields=fields)
    for request in CareRequest.objects.filter(patient=absorbed).select_related("data_key"):
        fields = ["patient"]
        if request.data_key_id in keys:
            rekey(request, ("text",), "data_key", keys[request.data_key_id])
            fields += ["data_key", "text"]
        request.patient = survivor
        request.save(update_fields=fields)
    _settle_visit_tasks(survivor, absorbed)
    for model in (VisitTask, CustodyEvent, Unavailability, MovementOutcome):
        for row in model.objects.filter(patient=absorbed):
            row.patient = survivor
            row.save(update_fields=["patient"])
    encrypted = ("requester_name", "requester_address", "mandate_filename", "mandate_content")
    for handed in HandoverItem.objects.filter(task__patient=survivor).exclude(
        identity_key=survivor.identity_key
    ):
        rekey(handed, ("description",), "identity_key", survivor.identity_key)
        handed.save(update_fields=["identity_key", "description"])
    for disclosure in DisclosureRequest.objects.filter(patient=absorbed).select_related(
        "identity_key"
    ):
        rekey(disclosure, encrypted, "identity_key", survivor.identity_key)
        disclosure.patient = survivor
        disclosure.save(update_fields=["patient", "identity_key", *encrypted])


@transaction.atomic
def patient_merge(
    *, acting_user: User, survivor: Patient, absorbed: Patient, reason: str
) -> PatientMerge:
    """Merge ABSORBED into SURVIVOR (same person): both histories kept on the survivor, the
    absorbed registration kept as a tombstone. Refused with nothing written when the two
    cannot be merged (overlapping appointments, for one)."""
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .select_related("identity_key")
        .filter(pk__in=[survivor.pk, absorbed.pk])
    }
    survivor, absorbed = locked[survivor.pk], locked[absorbed.pk]
    before = _counts([survivor, absorbed])
    merge = dossiers_merge(
        acting_user=acting_user, survivor=survivor, absorbed=absorbed, reason=reason
    )
    try:
        with transaction.atomic(), acting_as(acting_user):
            _move(survivor, absorbed)
    except IntegrityError:
        raise ValidationError(
            _(
                "The two registrations have appointments or movements at the same time: "
                "cancel the duplicate ones, then merge."
            ),
            code="overlap",
        ) from None
    after = _counts([survivor])
    merge.reconciliation = {
        **merge.reconciliation,
        "agenda_before": before,
        "agenda_after": after,
    }
    with acting_as(acting_user):
        merge.save(update_fields=["reconciliation"])
    if before != after:
        raise ValidationError(_("The merge could not be verified: nothing was changed."))
    return merge
