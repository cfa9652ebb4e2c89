"""Documents: type from content, size limit, encrypted at rest, audited attachment download."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dossiers.models import Document
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20 + b"IEND\xaeB`\x82"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


@pytest.fixture
def physician_and_patient(client):
    physician = make_user("physician")
    client.force_login(physician)
    return physician, make_patient()


def upload(client, patient, name, content, title="Bilan"):
    url = reverse(
        "dossiers:document_upload", kwargs={"patient_id": patient.pk, "compartment": "somatic"}
    )
    return client.post(url, {"title": title, "file": SimpleUploadedFile(name, content)})


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [("bilan.pdf", PDF, "application/pdf"), ("photo.png", PNG, "image/png")],
)
def test_pdf_and_png_are_accepted_and_downloaded_as_attachments(
    client, physician_and_patient, name, content, mime
):
    _physician, patient = physician_and_patient
    assert upload(client, patient, name, content).status_code == 302
    document = Document.objects.get()
    assert document.content_type == mime
    url = reverse(
        "dossiers:document_download",
        kwargs={"patient_id": patient.pk, "compartment": "somatic", "document_id": document.pk},
    )
    before = AccessEvent.objects.count()
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == content
    assert response["Content-Type"] == mime
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert name not in response["Content-Disposition"]  # the original name may be identifying
    assert AccessEvent.objects.count() == before + 1
    assert AccessEvent.objects.latest("id").action == AccessEvent.Action.DOCUMENT_DOWNLOAD


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("scan.pdf", EXE, "contenu"),  # a renamed executable
        ("scan.pdf", b"%PDF-1.4 but truncated", "contenu"),
        ("vide.pdf", b"", "vide"),
        ("gros.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024) + b"%%EOF", "10 Mo"),
    ],
)
def test_bad_uploads_get_a_clear_message_and_write_nothing(
    client, physician_and_patient, name, content, message
):
    _, patient = physician_and_patient
    response = upload(client, patient, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Document.objects.count() == 0


def test_document_of_another_dossier_is_404(client, physician_and_patient):
    _, patient = physician_and_patient
    other = make_patient()
    upload(client, other, "a.pdf", PDF)
    document = Document.objects.get()
    url = reverse(
        "dossiers:document_download",
        kwargs={"patient_id": patient.pk, "compartment": "somatic", "document_id": document.pk},
    )
    assert client.get(url).status_code == 404


def test_psychiatrist_cannot_download_a_somatic_document(client, physician_and_patient):
    _, patient = physician_and_patient
    upload(client, patient, "a.pdf", PDF)
    document = Document.objects.get()
    client.force_login(make_user("psychiatrist"))
    url = reverse(
        "dossiers:document_download",
        kwargs={"patient_id": patient.pk, "compartment": "somatic", "document_id": document.pk},
    )
    assert client.get(url).status_code == 404
    assert AccessEvent.objects.latest("id").outcome == AccessEvent.Outcome.DENIED
