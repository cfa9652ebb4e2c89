"""The whole record as a PDF for the patient: every entry and its corrections, documents,
consents; nothing from a compartment not asked; read through the access layer, audited."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group

from dossiers.access.copy import access_record_copy
from dossiers.models import Compartment
from dossiers.permissions import dossier_access_for
from dossiers.record_pdf import record_pdf
from dossiers.services import consent_record, document_upload
from tests.dossiers.conftest import dossier_of, open_break_glass, write_entry
from tests.factories import make_patient, make_user
from usmp.access.record import NotFound
from usmp.access.viewer import Viewer
from usmp.audit.models import AccessEvent
from usmp.pdf import pdf_attachments, pdf_text

pytestmark = pytest.mark.django_db
PDF_DOC = b"%PDF-1.4\nradio\n%%EOF\n"


@pytest.fixture
def record():
    physician, psychiatrist = make_user("physician"), make_user("psychiatrist")
    patient = make_patient(last_name="Copie", first_name="Entière")
    somatic = [
        write_entry(physician, patient, Compartment.SOMATIC, f"Somanote{n:02d} tension correcte")
        for n in range(12)
    ]
    write_entry(
        physician,
        patient,
        Compartment.SOMATIC,
        "Somanote03 corrigee: tension elevee",
        supersedes=somatic[3],
    )
    write_entry(psychiatrist, patient, Compartment.PSYCHIATRIC, "Psynote01 humeur")
    document_upload(
        acting_user=physician,
        access=dossier_access_for(physician, dossier_of(patient, Compartment.SOMATIC)),
        title="Radiographie thorax",
        filename="radio.pdf",
        content=PDF_DOC,
    )
    consent_record(
        acting_user=physician,
        patient=patient,
        kind="share_spip",
        decision="opposition",
        given_on=datetime.date(2026, 1, 10),
    )
    return physician, psychiatrist, patient


def _flat(text):
    return " ".join(text.split())


def test_one_compartment_holds_every_entry_and_nothing_of_the_other(record):
    physician, _psychiatrist, patient = record
    before = AccessEvent.objects.count()
    copy = access_record_copy(
        viewer=Viewer(user=physician), patient_id=patient.pk, compartments=["somatic"]
    )
    pdf = record_pdf(copy)
    text = _flat(pdf_text(pdf))
    for n in range(12):
        assert f"Somanote{n:02d}" in text
    # The correction and the version it replaced are both there.
    assert "Somanote03 corrigee: tension elevee" in text
    assert "Somanote03 tension correcte" in text
    assert "Radiographie thorax" in text
    assert "SPIP" in text
    assert "Psynote" not in text
    assert "COPIE" in text
    assert "Page 1 /" in text
    assert b"pdfaid:part" in pdf
    assert list(pdf_attachments(pdf).values()) == [PDF_DOC]
    events = list(AccessEvent.objects.order_by("id")[before:])
    assert [(e.action, e.outcome, e.compartment, e.purpose) for e in events] == [
        ("record_copy", "allowed", "somatic", "export")
    ]


def test_a_somatic_physician_cannot_copy_the_psychiatric_dossier(record):
    physician, _psychiatrist, patient = record
    before = AccessEvent.objects.count()
    with pytest.raises(NotFound):
        access_record_copy(
            viewer=Viewer(user=physician),
            patient_id=patient.pk,
            compartments=["somatic", "psychiatric"],
        )
    (event,) = AccessEvent.objects.order_by("id")[before:]
    assert (event.action, event.outcome, event.compartment) == (
        "record_copy",
        "denied",
        "psychiatric",
    )


def test_both_compartments_for_a_producer_who_reads_both(record):
    physician, _psychiatrist, patient = record
    physician.groups.add(Group.objects.get(name="psychiatrist"))
    both = type(physician).objects.get(pk=physician.pk)  # permissions are cached per instance
    copy = access_record_copy(
        viewer=Viewer(user=both),
        patient_id=patient.pk,
        compartments=["somatic", "psychiatric"],
    )
    text = _flat(pdf_text(record_pdf(copy)))
    assert "Psynote01 humeur" in text
    assert "Somanote11" in text


def test_an_emergency_access_does_not_copy_a_record(record):
    _physician, _psychiatrist, patient = record
    nurse = make_user("nurse")
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    with pytest.raises(NotFound):
        access_record_copy(
            viewer=Viewer(user=nurse), patient_id=patient.pk, compartments=["psychiatric"]
        )


@pytest.mark.parametrize("compartments", [[], ["dental"]])
def test_an_unknown_compartment_is_refused(record, compartments):
    physician, _psychiatrist, patient = record
    with pytest.raises(NotFound):
        access_record_copy(
            viewer=Viewer(user=physician), patient_id=patient.pk, compartments=compartments
        )
