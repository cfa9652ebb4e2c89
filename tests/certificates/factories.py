"""Rows of tests/test_authorization_matrix.py: a pending request and an issued certificate
of the matrix's sentinel patient."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from certificates.defaults import ensure_types
from certificates.models import CertificateType
from certificates.services import certificate_issue, certificate_request_record
from tests.factories import make_user
from usmp.access.viewer import Viewer


def _request(world: Any, code: str) -> Any:
    ensure_types()  # transactional tests flush what migration 0002 seeded
    return certificate_request_record(
        acting_user=make_user("secretary"),
        patient=world.patient,
        certificate_type=CertificateType.objects.get(code=code),
        requester="jap",
        received_on=timezone.localdate(),
    )


def matrix_request(world: Any) -> dict[str, Any]:
    """A pending JAP follow-up (its form needs a period: an empty post is a 400)."""
    return {"patient_id": world.patient.pk, "request_id": _request(world, "suivi-jap").pk}


def matrix_issued(world: Any) -> dict[str, Any]:
    """An attestation issued by a physician: kept in the somatic dossier."""
    physician = make_user("physician")
    issued = certificate_issue(
        acting_user=physician,
        viewer=Viewer.system(physician),
        request=_request(world, "orientation"),
    )
    return {"patient_id": world.patient.pk, "request_id": issued.pk}
