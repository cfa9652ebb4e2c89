"""Issuing, refusing, numbering and the strict minimum of what goes to the administration
and the judge."""

from __future__ import annotations

import datetime
import re

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.utils import timezone

from certificates.models import (
    STRICT_RECIPIENTS,
    CertificateRequest,
    CertificateType,
    Counter,
    RefusalReason,
)
from certificates.services import certificate_issue, certificate_refuse, content_digest
from dossiers.models import Compartment, Consent, Document
from dossiers.services import consent_record
from tests.factories import make_user
from usmp.access.viewer import Viewer
from usmp.audit.models import AccessEvent
from usmp.pdf import pdf_text

from .conftest import LEAK_WORDS, leaking_patient, reload, request_for

pytestmark = pytest.mark.django_db

STRICT_CODES = ["amenagement-regime", "douches", "orientation", "preconisations", "suivi-jap"]
YEAR_AGO = timezone.localdate() - datetime.timedelta(days=365)


def issue(user, request, **kw):
    kw.setdefault("first_day", YEAR_AGO)
    kw.setdefault("last_day", timezone.localdate())
    return certificate_issue(acting_user=user, viewer=Viewer.system(user), request=request, **kw)


def pdf_of(request) -> bytes:
    return Document.objects.get(pk=reload(request).document_id).content


def test_the_seeded_strict_types_are_all_tested():
    seeded = set(
        CertificateType.objects.filter(recipient__in=sorted(STRICT_RECIPIENTS)).values_list(
            "code", flat=True
        )
    )
    assert seeded == set(STRICT_CODES)


@pytest.mark.parametrize("code", STRICT_CODES)
@pytest.mark.parametrize("signer_persona", ["physician", "psychiatrist"])
def test_strict_attestations_name_no_diagnosis_nor_specialty(code, signer_persona):
    kind = CertificateType.objects.get(code=code)
    signer = make_user(signer_persona)
    # The test personas are named after their role: a real signer's name is not a specialty.
    signer.first_name = "Claire"
    signer.save(update_fields=["first_name"])
    if signer_persona not in kind.signers:
        pytest.skip(f"{code} is not signed by a {signer_persona}")
    patient = leaking_patient([signer])
    issued = issue(signer, request_for(patient, code))
    text = pdf_text(pdf_of(issued))
    flat = re.sub(r"\s+", " ", text).lower()
    found = [w for w in LEAK_WORDS if w.lower() in flat]
    assert found == []
    # What it does say: the type, the number, the patient, the digest.
    assert kind.name.split()[0] in text
    assert issued.number in text
    assert "FUITEUR" in text
    assert issued.digest in flat.replace(" ", "")


def test_the_attendance_is_counted_in_the_signers_compartment_only(psychiatrist):
    patient = leaking_patient([psychiatrist])
    issued = issue(psychiatrist, request_for(patient, "suivi-jap", requester="jap"))
    text = re.sub(r"\s+", " ", pdf_text(pdf_of(issued)))
    # Psychiatry and psychology, of the eleven specialties consulted.
    assert "a assisté à 2 consultations" in text or "attended 2 consultations" in text
    assert issued.compartment == Compartment.PSYCHIATRIC
    assert (
        AccessEvent.objects.filter(
            action="agenda_view", object_type="attendance", compartment="psychiatric"
        ).count()
        == 1
    )


def test_an_issued_certificate_is_a_document_of_the_signers_dossier(physician):
    patient = leaking_patient([physician])
    issued = issue(
        physician, request_for(patient, "blessures", requester="patient"), text="Ecchymose"
    )
    document = Document.objects.get(pk=issued.document_id)
    assert (document.dossier.compartment, document.dossier.patient_id) == ("somatic", patient.pk)
    assert document.content.startswith(b"%PDF-")
    assert "Ecchymose" in pdf_text(document.content)
    assert issued.status == CertificateRequest.Status.ISSUED


def test_numbers_follow_each_other_without_gaps_and_a_failure_takes_none(physician):
    patient = leaking_patient([physician])
    first = issue(physician, request_for(patient, "douches"))
    # Refused for its consent: no number is taken.
    with pytest.raises(ValidationError):
        issue(physician, request_for(patient, "famille-conseil", requester="family"))
    second = issue(physician, request_for(patient, "orientation"))
    year = timezone.localdate().year
    assert [first.sequence, second.sequence] == [1, 2]
    assert Counter.objects.get(year=year).last == 2
    assert second.number == f"{year}-00002"


def test_consent_required_and_missing_is_refused_and_nothing_is_written(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "famille-conseil", requester="counsel")
    counts = (Document.objects.count(), LogEntry.objects.count(), Counter.objects.count())
    with pytest.raises(ValidationError) as refused:
        issue(physician, request, text="Etat compatible")
    assert refused.value.code == "consent_missing"
    assert "consent" in refused.value.messages[0].lower()
    assert (Document.objects.count(), LogEntry.objects.count(), Counter.objects.count()) == counts
    assert reload(request).status == CertificateRequest.Status.PENDING


def test_a_withdrawn_consent_counts_as_missing_and_a_given_one_lets_it_through(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "famille-conseil", requester="family")
    consent = consent_record(
        acting_user=physician,
        patient=patient,
        kind=Consent.Kind.SHARE_FAMILY_COUNSEL,
        decision=Consent.Decision.CONSENT,
        given_on=timezone.localdate(),
    )
    Consent.objects.filter(pk=consent.pk).update(withdrawn_on=timezone.localdate())
    with pytest.raises(ValidationError):
        issue(physician, request)
    consent_record(
        acting_user=physician,
        patient=patient,
        kind=Consent.Kind.SHARE_FAMILY_COUNSEL,
        decision=Consent.Decision.CONSENT,
        given_on=timezone.localdate(),
    )
    assert issue(physician, request).status == CertificateRequest.Status.ISSUED


def test_a_strict_type_refuses_free_text(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "orientation")
    with pytest.raises(ValidationError) as refused:
        issue(physician, request, text="schizophrénie")
    assert refused.value.error_dict["text"][0].code == "no_text"
    assert Document.objects.count() == 0


def test_the_database_refuses_a_strict_type_with_free_text():
    with pytest.raises(IntegrityError):
        CertificateType.objects.create(
            code="x", name="x", recipient="jap", signers=["physician"], wording="x", free_text=True
        )


def test_only_the_types_signers_sign_and_a_nurse_never(physician, psychiatrist):
    patient = leaking_patient([physician])
    with pytest.raises(PermissionDenied):
        issue(psychiatrist, request_for(patient, "douches"))  # physicians only
    with pytest.raises(PermissionDenied):
        issue(make_user("nurse"), request_for(patient, "orientation"))


def test_a_refusal_names_its_reason_and_takes_no_number(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "orientation")
    refused = certificate_refuse(
        acting_user=physician, request=request, reason=RefusalReason.EXPERTISE
    )
    assert (refused.status, refused.refusal_reason, refused.sequence) == (
        "refused",
        "expertise",
        None,
    )
    with pytest.raises(ValidationError):
        issue(physician, request)


def test_the_digest_on_the_page_is_the_registers():
    data = {"b": 1, "a": "é"}
    assert content_digest(data) == content_digest({"a": "é", "b": 1})
    assert len(content_digest(data)) == 64


def test_a_dentist_signs_in_the_somatic_dossier_under_their_own_function():
    from django.contrib.auth.models import Group

    dentist = make_user("nurse")
    dentist.groups.set([Group.objects.get(name="dentist")])
    patient = leaking_patient([])
    issued = issue(
        dentist, request_for(patient, "blessures", requester="patient"), text="Dent cassée"
    )
    assert issued.compartment == Compartment.SOMATIC
    text = re.sub(r"\s+", " ", pdf_text(pdf_of(issued)))
    assert "Chirurgien-dentiste de l'unité sanitaire" in text
    with pytest.raises(PermissionDenied):
        issue(dentist, request_for(patient, "suivi-jap"))  # not a dentist's
