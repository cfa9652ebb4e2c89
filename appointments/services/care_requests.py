"""Written care requests taken from the letter box: recorded (text encrypted with the
dossier key of the requested specialty's compartment), booked from, or closed."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers.keys import compartment_key
from dossiers.models import Patient
from usmp.core.audit import acting_as
from usmp.core.errors import field_error

from .. import clock
from ..models import CareRequest, Specialty
from .availability import check_patient
from .texts import clean_text

if TYPE_CHECKING:
    from usmp.accounts.models import User


@transaction.atomic
def care_request_create(
    *,
    acting_user: User,
    patient: Patient,
    specialty: Specialty,
    received_on: datetime.date,
    priority: str,
    text: str,
) -> CareRequest:
    """Record a written care request from the letter box; its text is encrypted with the
    patient's dossier key of the requested specialty's compartment."""
    check_patient(patient)
    if received_on > clock.today():
        raise field_error("received_on", _("The date received cannot be in the future."), "future")
    if not specialty.active:
        raise field_error("specialty", _("This specialty is no longer offered."), "inactive")
    cleaned = clean_text(text, "text")
    if cleaned is None:
        raise field_error("text", _("Copy the request's text."), "required")
    request = CareRequest(
        patient=patient,
        specialty=specialty,
        data_key=compartment_key(patient, specialty.compartment),
        text=cleaned,
        received_on=received_on,
        priority=priority,
        recorded_by=acting_user,
    )
    with acting_as(acting_user):
        request.save(force_insert=True)
    return request


@transaction.atomic
def care_request_close(
    *, acting_user: User | None, care_request: CareRequest, reason: str
) -> CareRequest:
    """Close a waiting request without an appointment (duplicate, no longer needed...)."""
    care_request = CareRequest.objects.select_for_update().get(pk=care_request.pk)
    if care_request.status != CareRequest.Status.WAITING:
        raise ValidationError(_("Only a waiting request can be closed."), code="not_waiting")
    if reason not in CareRequest.CloseReason.values:
        raise field_error("reason", _("Choose a reason."), "reason_required")
    care_request.status = CareRequest.Status.CLOSED
    care_request.close_reason = reason
    care_request.closed_at = timezone.now()
    with acting_as(acting_user):
        care_request.save(update_fields=["status", "close_reason", "closed_at"])
    return care_request
