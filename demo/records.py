"""Demo requests that cross the unit's boundary, so that `make run` shows their pages filled:
requests for the record at each stage of the legal clock, certificate requests to decide
(one refused, one issued), and a partner unit to send a transfer package to.

Invented people and keys only: the partner's keys are made here and their secret halves
thrown away (no package addressed to it can be opened by anyone, as befits a demo)."""

from __future__ import annotations

import base64
import datetime
import random
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.utils import timezone

from certificates.defaults import ensure_types
from certificates.models import CertificateType, RefusalReason, Requester
from certificates.services import certificate_issue, certificate_refuse, certificate_request_record
from disclosures.models import DisclosureRequest
from disclosures.services import disclosure_record
from dossiers.models import Patient
from transfers.services import partner_register
from usmp.access.viewer import Viewer

LAWYER_NAMES = ["Me Dumoulin", "Me Carpentier", "Me Lefèvre-Aubry"]


def load_demo_records(*, rng: random.Random, users: dict[str, Any]) -> dict[str, int]:
    """Create the demo requests; returns how many of each kind (for the tests)."""
    patients = list(Patient.objects.order_by("pk")[:40])
    rng.shuffle(patients)
    return {
        "disclosures": _disclosures(patients[:4], users),
        "certificates": _certificates(patients[4:10], users),
        "partners": _partners(users),
    }


def _disclosures(patients: list[Patient], users: dict[str, Any]) -> int:
    """One request per stage: just received (48 hours to reflect), due this week (8 days),
    overdue, and older information (two months)."""
    now = timezone.now()
    secretary = users["secretaire"]
    Kind, Document = DisclosureRequest.Requester, DisclosureRequest.IdentityDocument
    stages = [
        (datetime.timedelta(hours=20), Kind.PATIENT, Document.PRISON_CARD, "", False),
        (datetime.timedelta(days=5), Kind.LAWYER, Document.BAR_CARD, LAWYER_NAMES[0], False),
        (datetime.timedelta(days=10), Kind.PATIENT, Document.PRISON_CARD, "", False),
        (datetime.timedelta(days=21), Kind.DOCTOR, Document.HEALTH_PROFESSIONAL_CARD, "", True),
    ]
    for patient, (age, kind, document, name, older) in zip(patients, stages, strict=False):
        disclosure_record(
            acting_user=secretary,
            patient=patient,
            requester_kind=kind,
            received_at=now - age,
            identity_document=document,
            somatic=True,
            psychiatric=kind == Kind.PATIENT and age.days > 7,
            older_than_five_years=older,
            requester_name=name or ("Dr Vasseur" if kind == Kind.DOCTOR else ""),
        )
    return min(len(patients), len(stages))


def _certificates(patients: list[Patient], users: dict[str, Any]) -> int:
    """Four requests waiting for a signer, one refused, one issued (unsigned in the demo:
    no hospital certificate is configured, so the PDF carries its printed digest)."""
    ensure_types()
    secretary, physician = users["secretaire"], users["medecin"]
    today = timezone.localdate()
    types = {t.code: t for t in CertificateType.objects.filter(active=True)}
    wanted = [
        ("blessures", Requester.PATIENT, ""),
        ("arret-travail", Requester.PATIENT, ""),
        ("orientation", Requester.ADMINISTRATION, ""),
        ("famille-conseil", Requester.COUNSEL, LAWYER_NAMES[1]),
        ("arret-travail", Requester.ADMINISTRATION, ""),
        ("blessures", Requester.PATIENT, ""),
    ]
    made = []
    for patient, (code, requester, name) in zip(patients, wanted, strict=False):
        kind = types.get(code)
        if kind is None:  # a type the unit retired
            continue
        made.append(
            certificate_request_record(
                acting_user=secretary,
                patient=patient,
                certificate_type=kind,
                requester=requester,
                received_on=today - datetime.timedelta(days=len(made) % 3),
                requester_name=name,
            )
        )
    if len(made) >= 6:
        certificate_refuse(acting_user=physician, request=made[4], reason=RefusalReason.IMPROPER)
        certificate_issue(
            acting_user=physician,
            viewer=Viewer.system(physician),
            request=made[5],
            text="Ecchymose de 3 cm à l'avant-bras gauche, sans plaie.",
        )
    return len(made)


def _partners(users: dict[str, Any]) -> int:
    """The unit a detainee is most often transferred to, with keys made up for the demo."""
    from pyrage import x25519

    verify = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = verify.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    partner_register(
        acting_user=users["coordinatrice"],
        name="USMP du centre de détention de Démo-sur-Loire",
        establishment="Centre de détention de Démo-sur-Loire",
        recipient=str(x25519.Identity.generate().to_public()),
        verify_key=base64.b64encode(raw).decode(),
    )
    return 1
