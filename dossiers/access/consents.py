"""The patient's consents and oppositions (clinicians only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from .. import permissions, selectors
from ..models import Consent, Patient
from .data import ConsentView, PatientView
from .patients import user_of


@dataclass(frozen=True)
class ConsentsView:
    patient: PatientView
    consents: tuple[ConsentView, ...]
    _patient: Patient

    def patient_instance(self) -> Patient:
        """The patient row, for the service that records a decision."""
        return self._patient


def access_consents(*, viewer: Viewer, patient_id: uuid.UUID, purpose: str) -> ConsentsView:
    """Every decision of the patient, current ones first."""
    target = Target(Action.CONSENTS_VIEW, patient_id=patient_id)
    user = user_of(viewer)
    if permissions.is_clinician(user) and permissions.can_view_patients(user):
        with transaction.atomic():
            patient = Patient.objects.select_related("identity_key").filter(pk=patient_id).first()
            if patient is not None:
                if purpose != Purpose.WRITE:
                    record.allowed(viewer, target, purpose=purpose)
                return ConsentsView(
                    patient=PatientView.of(patient),
                    consents=tuple(ConsentView.of(c) for c in selectors.patient_consents(patient)),
                    _patient=patient,
                )
    record.refuse(viewer, target, purpose=purpose)


def access_consent(*, viewer: Viewer, patient_id: uuid.UUID, consent_id: uuid.UUID) -> ConsentView:
    """One decision, opened for its withdrawal."""
    target = Target(
        Action.CONSENTS_VIEW,
        patient_id=patient_id,
        object_type="consent",
        object_id=str(consent_id),
    )
    user = user_of(viewer)
    if permissions.is_clinician(user) and permissions.can_view_patients(user):
        consent = (
            Consent.objects.select_related("identity_key", "recorded_by")
            .filter(pk=consent_id, patient_id=patient_id)
            .first()
        )
        if consent is not None:
            return ConsentView.of(consent, for_change=True)
    record.refuse(viewer, target, purpose=Purpose.WRITE)
