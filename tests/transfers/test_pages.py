"""The transfer pages: partner units, preparing a package, importing one."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dossiers.models import Entry, Patient
from dossiers.services import patient_update
from tests.factories import make_patient, make_user
from transfers.keys import own_keys
from transfers.models import PackageImport, PartnerUnit, ReceivedPackage

from .helpers import as_unit_b, fill, keys_of_b, register

pytestmark = pytest.mark.django_db


def logged(persona):
    client = Client()
    user = make_user(persona)
    client.force_login(user)
    return client, user


def test_the_coordinator_registers_a_partner_unit_and_sees_its_fingerprint():
    client, coordinator = logged("coordinator")
    keys = keys_of_b()
    response = client.post(
        reverse("transfers:partners"),
        {
            "name": "USMP de Fictiveville",
            "establishment": "Maison d'arrêt de Fictiveville",
            "recipient": keys.recipient,
            "verify_key": keys.verify_key,
        },
        follow=True,
    )
    assert response.status_code == 200
    unit = PartnerUnit.objects.get()
    assert (unit.fingerprint, unit.registered_by) == (keys.fingerprint, coordinator)
    assert keys.fingerprint in response.content.decode()


def test_a_malformed_key_is_refused_in_french():
    client, _ = logged("coordinator")
    response = client.post(
        reverse("transfers:partners"),
        {"name": "X", "establishment": "Y", "recipient": "age1nope", "verify_key": "AAAA"},
    )
    assert response.status_code == 400
    assert "pas une clé publique age" in response.content.decode()
    assert not PartnerUnit.objects.exists()


def test_package_prepared_downloaded_then_imported_in_the_other_unit():
    coordinator = make_user("coordinator")
    recipient = register(coordinator, keys_of_b(), "Fictiveville")
    keys_a = own_keys()
    client, physician = logged("physician")
    patient = make_patient(last_name="Partant", first_name="Jean")
    patient_update(acting_user=None, patient=patient, custody_status="transferred")
    fill(patient, physician)
    page = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": patient.pk}))
    prepare_url = reverse(
        "transfers:prepare", kwargs={"patient_id": patient.pk, "compartment": "somatic"}
    )
    assert prepare_url in page.content.decode()
    response = client.post(prepare_url, {"recipient": recipient.pk})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = response.content

    with as_unit_b():
        register(coordinator, keys_a, "Démo")
        client_b, _ = logged("physician")
        tampered = bytearray(data)
        tampered[-10] ^= 1
        refused = client_b.post(
            reverse("transfers:upload"),
            {"package": SimpleUploadedFile("p.cloison", bytes(tampered))},
        )
        assert refused.status_code == 400
        assert "La signature du paquet" in refused.content.decode()
        checked = client_b.post(
            reverse("transfers:upload"), {"package": SimpleUploadedFile("p.cloison", data)}
        )
        assert checked.status_code == 302
        confirm = client_b.get(checked["Location"])
        assert confirm.status_code == 200
        assert "PARTANT" in confirm.content.decode()
        done = client_b.post(
            checked["Location"],
            {"patient": "new", "prison_number": "555123", "arrival_date": "2026-03-02"},
        )
        assert done.status_code == 302
        job = PackageImport.objects.get()
        assert not ReceivedPackage.objects.exists()  # the file is not kept once imported
        result = client_b.get(done["Location"])
        assert result.status_code == 200
        assert job.reconciliation["matches"] is True
        assert Patient.objects.count() == 2
        assert Entry.objects.filter(received_from__contains="Démo").count() == 3
        # The same file again: nothing added, the result shown.
        again = client_b.post(
            reverse("transfers:upload"), {"package": SimpleUploadedFile("p.cloison", data)}
        )
        assert again["Location"] == done["Location"]
        assert Entry.objects.filter(received_from__contains="Démo").count() == 3
        # The received entries show where they come from.
        dossier = client_b.get(
            reverse(
                "dossiers:dossier_detail",
                kwargs={"patient_id": job.patient_id, "compartment": "somatic"},
            )
        )
        assert "reçu de Démo" in dossier.content.decode()


def test_a_psychiatrist_cannot_import_a_somatic_package():
    coordinator = make_user("coordinator")
    recipient = register(coordinator, keys_of_b(), "Fictiveville")
    keys_a = own_keys()
    physician = make_user("physician")
    patient = make_patient()
    fill(patient, physician)
    from .helpers import build

    data = build(physician, patient, recipient).data
    with as_unit_b():
        register(coordinator, keys_a, "Démo")
        client, _ = logged("psychiatrist")
        response = client.post(
            reverse("transfers:upload"), {"package": SimpleUploadedFile("p.cloison", data)}
        )
        assert response.status_code == 400
        assert "autre compartiment" in response.content.decode()
        assert not PackageImport.objects.exists()
