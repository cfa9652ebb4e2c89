"""A patient whose dossiers and agenda hold every word that must never reach the
administration or the judge (to test that data does not leak, first create it)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from appointments.defaults import SPECIALTIES
from appointments.models import Status
from certificates.defaults import ensure_types
from certificates.models import CertificateRequest, CertificateType
from certificates.services import certificate_request_record
from dossiers.models import Compartment
from tests.appointments import factories as agenda
from tests.bridge.agendas import Consultation, write
from tests.dossiers.conftest import write_entry
from tests.factories import make_patient, make_user

DIAGNOSES = [
    "schizophrénie",
    "dépression",
    "VIH",
    "hépatite",
    "diabète",
    "épilepsie",
    "tuberculose",
    "bipolaire",
    "sevrage",
    "méthadone",
]
# Every specialty's name and the words that name a compartment or a speciality.
SPECIALTY_WORDS = sorted(
    {name for _code, name, _c, _m in SPECIALTIES}
    | {"psychiatr", "psycholog", "addicto", "dentaire", "dentist", "infectieu", "somatique"}
)
LEAK_WORDS = [*DIAGNOSES, *SPECIALTY_WORDS]


def leaking_patient(signers) -> SimpleNamespace:
    """A patient with diagnoses in both dossiers and a done consultation in every specialty,
    its motive naming a diagnosis."""
    patient = make_patient(last_name="Fuiteur", first_name="Paul")
    for signer in signers:
        compartment = (
            Compartment.PSYCHIATRIC if "psychiatrist" in signer.roles else Compartment.SOMATIC
        )
        write_entry(signer, patient, compartment, " ".join(DIAGNOSES))
    today = timezone.localdate()
    for n, (code, _name, _compartment, _minutes) in enumerate(SPECIALTIES):
        day = today - datetime.timedelta(days=10 + n)
        write(
            Consultation(
                patient,
                agenda.point(),
                agenda.at(day, 9),
                agenda.at(day, 9) + datetime.timedelta(minutes=20),
                specialty_code=code,
                motive=f"Suivi {DIAGNOSES[n % len(DIAGNOSES)]}",
                status=Status.DONE,
            ),
            created_by=make_user("secretary"),
        )
    return patient


@pytest.fixture
def physician(db):
    return make_user("physician")


@pytest.fixture
def psychiatrist(db):
    return make_user("psychiatrist")


def request_for(patient, code: str, *, by=None, requester: str = "administration"):
    ensure_types()
    return certificate_request_record(
        acting_user=by or make_user("secretary"),
        patient=patient,
        certificate_type=CertificateType.objects.get(code=code),
        requester=requester,
        received_on=timezone.localdate(),
    )


def reload(request: CertificateRequest) -> CertificateRequest:
    return CertificateRequest.objects.get(pk=request.pk)


@pytest.fixture(autouse=True)
def _types(db):
    """The seeded types (a transactional test elsewhere may have flushed them)."""
    ensure_types()
