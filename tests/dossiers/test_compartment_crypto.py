"""Each compartment has its own data key: ciphertexts do not travel between compartments,
patients or rows; sentinels never reach the database dump, the logs or the audit diffs."""

from __future__ import annotations

import logging

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from dossiers.models import Compartment, Dossier, Entry
from tests.dossiers.conftest import write_entry
from tests.dossiers.test_no_plaintext_at_rest import dump_database
from tests.factories import make_patient, make_user
from usmp.crypto.errors import DecryptionError


def raw_text(entry):
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM dossiers_entry WHERE id = %s", [entry.pk])
        return bytes(cursor.fetchone()[0])


def move(entry_id, *, text=None, data_key_id=None):
    # The append-only trigger stands in the way of a forger too: drop it for the experiment.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending FK checks
        cursor.execute("ALTER TABLE dossiers_entry DISABLE TRIGGER dossiers_entry_no_update_delete")
        if text is not None:
            cursor.execute("UPDATE dossiers_entry SET text = %s WHERE id = %s", [text, entry_id])
        if data_key_id is not None:
            cursor.execute(
                "UPDATE dossiers_entry SET data_key_id = %s WHERE id = %s", [data_key_id, entry_id]
            )
        cursor.execute("ALTER TABLE dossiers_entry ENABLE TRIGGER dossiers_entry_no_update_delete")


@pytest.mark.django_db
def test_compartments_have_distinct_data_keys():
    patient = make_patient()
    keys = set(Dossier.objects.filter(patient=patient).values_list("data_key_id", flat=True))
    assert len(keys) == 2
    assert patient.identity_key_id not in keys


@pytest.mark.django_db
def test_ciphertext_copied_between_compartments_of_one_patient_fails():
    patient = make_patient()
    somatic = write_entry(make_user("physician"), patient, Compartment.SOMATIC, "somatique")
    psy = write_entry(make_user("psychiatrist"), patient, Compartment.PSYCHIATRIC, "psychiatrique")
    move(somatic.pk, text=raw_text(psy))
    with pytest.raises(DecryptionError):
        Entry.objects.select_related("data_key").get(pk=somatic.pk).text  # noqa: B018
    # Even re-pointing the row at the other compartment's key fails: the row id differs.
    move(somatic.pk, data_key_id=psy.data_key_id)
    with pytest.raises(DecryptionError):
        Entry.objects.select_related("data_key").get(pk=somatic.pk).text  # noqa: B018


@pytest.mark.django_db
def test_ciphertext_copied_between_patients_fails():
    physician = make_user("physician")
    a = write_entry(physician, make_patient(), Compartment.SOMATIC, "patient A")
    b = write_entry(physician, make_patient(), Compartment.SOMATIC, "patient B")
    move(b.pk, text=raw_text(a))
    with pytest.raises(DecryptionError):
        Entry.objects.select_related("data_key").get(pk=b.pk).text  # noqa: B018


@pytest.mark.django_db(transaction=True)
def test_sentinel_note_and_file_are_absent_from_dump_logs_and_audit(client, caplog):
    caplog.set_level(logging.DEBUG)
    note = "Xylophagesentinelnote: hallucinations auditives"
    file_marker = b"Quokkasentinelfile"
    physician = make_user("physician")
    patient = make_patient()
    client.force_login(physician)
    kwargs = {"patient_id": patient.pk, "compartment": "somatic"}
    assert (
        client.post(
            reverse("dossiers:entry_create", kwargs=kwargs), {"kind": "observation", "text": note}
        ).status_code
        == 302
    )
    pdf = b"%PDF-1.4\n" + file_marker + b"\n%%EOF\n"
    response = client.post(
        reverse("dossiers:document_upload", kwargs=kwargs),
        {"title": "Compte rendu", "file": SimpleUploadedFile("cr.pdf", pdf)},
    )
    assert response.status_code == 302
    page = client.get(reverse("dossiers:dossier_detail", kwargs=kwargs)).content.decode()
    assert note in page  # really written, and readable by the team
    dump = dump_database()
    assert "dossiers_entry" in dump
    for marker in ("Xylophagesentinelnote", "hallucinations", file_marker.decode()):
        assert marker.lower() not in dump.lower()
        assert marker.encode().hex() not in dump
        assert marker.lower() not in caplog.text.lower()
    for entry in LogEntry.objects.all():
        text = f"{entry.object_repr} {entry.changes} {entry.changes_text}"
        assert "Xylophage" not in text and "Quokka" not in text and "Compte rendu" not in text
