"""Two units in one test: unit A is the test settings' keyring, unit B another keyring."""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json

from django.test import override_settings

from dossiers.models import Compartment, Consent
from dossiers.services import consent_record, document_upload
from tests.dossiers.conftest import dossier_of, write_entry
from transfers import services
from transfers.keys import own_keys
from usmp.access.viewer import Viewer


def _key(label: str) -> str:
    return base64.b64encode(
        hashlib.sha256(f"cloison-test-unit-b-{label}".encode()).digest()
    ).decode()


UNIT_B_KEYRING = json.dumps(
    {
        "active": "b1",
        "master_keys": {"b1": _key("master")},
        "blind_index_key": _key("blind-index"),
        "audit_key": _key("audit"),
    }
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@contextlib.contextmanager
def as_unit_b():
    with override_settings(USMP_KEYRING=UNIT_B_KEYRING, USMP_UNIT_NAME="USMP de Fictiveville"):
        yield


def keys_of_b():
    with as_unit_b():
        return own_keys()


def register(user, keys, name):
    return services.partner_register(
        acting_user=user,
        name=name,
        establishment=f"Établissement {name}",
        recipient=keys.recipient,
        verify_key=keys.verify_key,
    )


def fill(patient, physician, *, entries=3, documents=1):
    """A somatic dossier with entries (one corrected), documents and consents."""
    first = write_entry(physician, patient, Compartment.SOMATIC, "Consultation initiale SENTINEL")
    write_entry(
        physician, patient, Compartment.SOMATIC, "Consultation corrigée SENTINEL", supersedes=first
    )
    for n in range(entries - 2):
        write_entry(physician, patient, Compartment.SOMATIC, f"Note {n} SENTINEL", kind="nursing")
    from dossiers.permissions import dossier_access_for

    access = dossier_access_for(physician, dossier_of(patient, Compartment.SOMATIC))
    for n in range(documents):
        document_upload(
            acting_user=physician,
            access=access,
            title=f"Compte rendu {n}",
            filename=f"cr{n}.pdf",
            content=PDF + bytes([n]),
        )
    consent_record(
        acting_user=physician,
        patient=patient,
        kind=Consent.Kind.SHARE_PROFESSIONAL,
        decision=Consent.Decision.CONSENT,
        given_on=datetime.date(2026, 2, 1),
        recipient="Dr Imaginaire",
    )


def build(physician, patient, recipient, compartment=Compartment.SOMATIC):
    return services.package_build(
        viewer=Viewer.system(physician),
        acting_user=physician,
        patient_id=patient.pk,
        compartment=compartment,
        recipient=recipient,
    )
