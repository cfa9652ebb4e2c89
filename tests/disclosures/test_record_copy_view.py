"""Producing the copy from a request: the PDF, its digest kept, the copy event recorded."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosures import services
from disclosures.models import DisclosureRequest
from dossiers.models import Compartment
from tests.dossiers.conftest import write_entry
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent
from usmp.pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked():
    physician = make_user("physician")
    patient = make_patient(last_name="Demandeur")
    write_entry(physician, patient, Compartment.SOMATIC, "Notesomatique visible")
    write_entry(make_user("psychiatrist"), patient, Compartment.PSYCHIATRIC, "Notepsy cachee")
    request = services.disclosure_record(
        acting_user=physician,
        patient=patient,
        requester_kind="patient",
        received_at=timezone.now() - datetime.timedelta(days=3),
        identity_document="prison_card",
        somatic=True,
        psychiatric=True,
    )
    return physician, patient, request


def _url(name, patient, request):
    return reverse(
        f"disclosures:{name}", kwargs={"patient_id": patient.pk, "request_id": request.pk}
    )


def test_the_physician_produces_the_somatic_copy(client, asked):
    physician, patient, request = asked
    client.force_login(physician)
    page = client.get(_url("request_detail", patient, request))
    # Both were asked; the somatic physician is offered the somatic dossier only.
    assert page.context["copyable"] == ["somatic"]
    response = client.post(_url("record_copy", patient, request), {"compartments": "somatic"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    text = pdf_text(pdf)
    assert "Notesomatique visible" in text
    assert "Notepsy" not in text
    request.refresh_from_db()
    assert request.produced_digest == hashlib.sha256(pdf).hexdigest()
    assert request.produced_by == physician
    event = AccessEvent.objects.latest("id")
    assert (event.action, event.compartment, event.patient_id) == (
        "record_copy",
        "somatic",
        patient.pk,
    )


@pytest.mark.parametrize("data", [{}, {"compartments": "dental"}])
def test_a_bad_copy_form_is_400_and_writes_nothing(client, asked, data):
    physician, patient, request = asked
    client.force_login(physician)
    response = client.post(_url("record_copy", patient, request), data)
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.produced_at is None


def test_a_compartment_not_asked_is_refused(client, asked):
    _physician, patient, request = asked
    DisclosureRequest.objects.filter(pk=request.pk).update(psychiatric=False)
    both = make_user("physician")
    client.force_login(both)
    response = client.post(_url("record_copy", patient, request), {"compartments": "psychiatric"})
    assert response.status_code == 400
    assert response.context["copy_form"].has_error("compartments", "not_asked")
    assert "Ne copiez que les dossiers que la demande vise." in response.content.decode()
    assert not AccessEvent.objects.filter(action="record_copy").exists()


def test_the_page_offers_only_the_dossiers_the_producer_copies(client, asked):
    physician, patient, request = asked
    client.force_login(physician)
    page = client.get(_url("request_detail", patient, request))
    field = page.context["copy_form"].fields["compartments"]
    assert [value for value, _label in field.choices] == ["somatic"]
