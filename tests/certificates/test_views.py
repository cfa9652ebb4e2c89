"""The pages: a request recorded by the desk, decided by a signer, the PDF downloaded, the
register without names, a type added by the coordinator."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certificates.models import CertificateRequest, CertificateType
from dossiers.models import Document
from tests.factories import make_user
from usmp.audit.models import AccessEvent

from .conftest import leaking_patient, request_for

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_secretary_records_a_request_and_cannot_decide_it(physician):
    patient = leaking_patient([physician])
    secretary = make_user("secretary")
    client = client_of(secretary)
    kind = CertificateType.objects.get(code="suivi-jap")
    response = client.post(
        reverse("certificates:request_add", kwargs={"patient_id": patient.pk}),
        {
            "certificate_type": kind.pk,
            "requester": "jap",
            "requester_name": "Greffe du JAP",
            "received_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    request = CertificateRequest.objects.get(patient=patient)
    assert (request.requester, request.requester_name, request.recorded_by) == (
        "jap",
        "Greffe du JAP",
        secretary,
    )
    page = client.get(reverse("certificates:patient", kwargs={"patient_id": patient.pk}))
    assert "Greffe du JAP" in page.content.decode()
    detail = reverse(
        "certificates:request_detail", kwargs={"patient_id": patient.pk, "request_id": request.pk}
    )
    assert client.get(detail).status_code == 404


def test_a_request_in_the_future_is_a_400_and_nothing_is_written(physician):
    patient = leaking_patient([physician])
    response = client_of(physician).post(
        reverse("certificates:request_add", kwargs={"patient_id": patient.pk}),
        {
            "certificate_type": CertificateType.objects.get(code="douches").pk,
            "requester": "administration",
            "received_on": "2099-01-01",
        },
    )
    assert response.status_code == 400
    assert CertificateRequest.objects.count() == 0


def test_a_physician_issues_and_a_nurse_of_the_team_downloads_the_same_pdf(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "orientation")
    kwargs = {"patient_id": patient.pk, "request_id": request.pk}
    page = client_of(physician).get(reverse("certificates:request_detail", kwargs=kwargs))
    assert (
        "never a diagnosis" in page.content.decode()
        or "jamais un diagnostic" in page.content.decode()
    )
    assert 'name="text"' not in page.content.decode()  # no free text for the administration
    response = client_of(physician).post(reverse("certificates:request_issue", kwargs=kwargs))
    assert response.status_code == 302
    issued = CertificateRequest.objects.get(pk=request.pk)
    nurse = client_of(make_user("nurse"))
    first = nurse.get(reverse("certificates:pdf", kwargs=kwargs))
    again = nurse.get(reverse("certificates:pdf", kwargs=kwargs))
    assert first.status_code == 200
    assert first.content == again.content == Document.objects.get(pk=issued.document_id).content
    assert first["Content-Disposition"] == f'attachment; filename="certificat-{issued.number}.pdf"'
    downloads = AccessEvent.objects.filter(action="document_download", outcome="allowed")
    assert downloads.count() == 2
    psychiatrist = client_of(make_user("psychiatrist"))
    assert psychiatrist.get(reverse("certificates:pdf", kwargs=kwargs)).status_code == 404


def test_missing_consent_is_said_on_the_page_and_nothing_is_written(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "famille-conseil", requester="counsel")
    kwargs = {"patient_id": patient.pk, "request_id": request.pk}
    client = client_of(physician)
    documents = Document.objects.count()
    response = client.post(
        reverse("certificates:request_issue", kwargs=kwargs), {"text": "Etat de santé stable"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Certificates for the family or counsel" in body or "famille ou le conseil" in body
    assert Document.objects.count() == documents
    assert CertificateRequest.objects.get(pk=request.pk).status == "pending"


def test_a_refusal_from_the_list_is_recorded(physician):
    patient = leaking_patient([physician])
    request = request_for(patient, "orientation")
    kwargs = {"patient_id": patient.pk, "request_id": request.pk}
    response = client_of(physician).post(
        reverse("certificates:request_refuse", kwargs=kwargs), {"reason": "improper"}
    )
    assert response.status_code == 302
    assert CertificateRequest.objects.get(pk=request.pk).refusal_reason == "improper"
    bad = client_of(physician).post(
        reverse("certificates:request_refuse", kwargs=kwargs), {"reason": "improper"}
    )
    assert bad.status_code == 400  # already decided


def test_the_register_has_ids_and_counts_never_names(physician):
    patient = leaking_patient([physician])
    request_for(patient, "orientation")
    refused = request_for(patient, "douches")
    client_of(physician).post(
        reverse(
            "certificates:request_refuse",
            kwargs={"patient_id": patient.pk, "request_id": refused.pk},
        ),
        {"reason": "expertise"},
    )
    coordinator = client_of(make_user("coordinator"))
    response = coordinator.get(reverse("certificates:register"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "FUITEUR" not in body.upper() and patient.prison_number not in body
    assert str(patient.pk)[:8] in body
    view = response.context["register"]
    assert view.patients == 1
    assert [(name, i, r, p) for name, i, r, p in view.by_type] == [
        ("Attestation pour l'orientation dans l'établissement", 0, 0, 1),
        ("Certificat de douches supplémentaires", 0, 1, 0),
    ]
    assert coordinator.get(reverse("certificates:register"), {"start": "x"}).status_code == 400


def test_the_coordinator_adds_a_type_and_a_strict_one_cannot_have_text():
    client = client_of(make_user("coordinator"))
    data = {
        "name": "Attestation de présence",
        "code": "presence",
        "recipient": "jap",
        "required_consent": "",
        "signers": ["physician", "psychiatrist"],
        "wording": "Atteste que la personne est suivie.",
        "facts": "attendance",
        "free_text": "on",
        "active": "on",
    }
    refused = client.post(reverse("certificates:types"), data)
    assert refused.status_code == 400
    assert not CertificateType.objects.filter(code="presence").exists()
    data.pop("free_text")
    assert client.post(reverse("certificates:types"), data).status_code == 302
    assert CertificateType.objects.get(code="presence").signers == ["physician", "psychiatrist"]


def test_the_patient_list_and_the_register_take_a_fixed_number_of_queries(physician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    patient = leaking_patient([physician])
    secretary = client_of(make_user("secretary"))
    coordinator = client_of(make_user("coordinator"))
    url = reverse("certificates:patient", kwargs={"patient_id": patient.pk})

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as desk:
            assert secretary.get(url).status_code == 200
        with CaptureQueriesContext(connection) as register:
            assert coordinator.get(reverse("certificates:register")).status_code == 200
        return len(desk), len(register)

    request_for(patient, "orientation")
    few = counted()
    for code in ("douches", "preconisations", "suivi-jap", "handicap"):
        request_for(patient, code)
    assert counted() == few
