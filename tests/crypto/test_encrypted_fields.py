"""Encrypted fields: round trip, binding to (model, field, row, compartment), clear failures."""

import datetime
import json

import pytest
from django.db import connection
from django.test import override_settings

from dossiers.models import Patient
from tests.factories import make_patient
from usmp.crypto import aead
from usmp.crypto.errors import DecryptionError, KeyNotFound
from usmp.crypto.models import DataKey

pytestmark = pytest.mark.django_db


def fresh(patient):
    return Patient.objects.select_related("identity_key").get(pk=patient.pk)


def raw_column(patient, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM dossiers_patient WHERE id = %s", [patient.pk])  # noqa: S608
        return bytes(cursor.fetchone()[0])


def set_raw_column(patient, column, value):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE dossiers_patient SET {column} = %s WHERE id = %s",  # noqa: S608
            [value, patient.pk],
        )


def test_round_trip_of_every_type():
    patient = make_patient(
        last_name="Éléonore-D'Arc", ins="", birth_date=datetime.date(1990, 2, 28)
    )
    again = fresh(patient)
    assert again.last_name == "Éléonore-D'Arc"
    assert again.birth_date == datetime.date(1990, 2, 28)
    assert again.ins is None
    assert again.sex == Patient.Sex.MALE


def test_empty_string_is_kept_as_empty_string_not_null():
    patient = make_patient()
    patient.ins = ""
    patient.save()
    assert fresh(patient).ins == ""


def test_columns_hold_ciphertext_only():
    patient = make_patient(last_name="Clairvoyant")
    raw = raw_column(patient, "last_name")
    assert raw.startswith(aead.CIPHERTEXT_MAGIC)
    assert b"Clairvoyant" not in raw
    assert b"clairvoyant" not in raw.lower()


def test_saving_twice_does_not_reencrypt_unchanged_values():
    patient = make_patient()
    before = raw_column(patient, "last_name")
    again = fresh(patient)
    again.custody_status = Patient.CustodyStatus.RELEASED
    again.save()
    assert raw_column(patient, "last_name") == before


def test_ciphertext_copied_to_another_patient_fails_to_decrypt():
    a, b = make_patient(last_name="Alpha"), make_patient(last_name="Bravo")
    set_raw_column(b, "last_name", raw_column(a, "last_name"))
    with pytest.raises(DecryptionError) as excinfo:
        fresh(b).last_name  # noqa: B018
    assert str(a.identity_key_id) in str(excinfo.value)


def test_ciphertext_copied_to_another_row_with_the_same_key_fails():
    # Even with the data key pointed at the same key, the row id in the associated data differs.
    a, b = make_patient(last_name="Alpha"), make_patient(last_name="Bravo")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dossiers_patient SET identity_key_id = %s, last_name = %s WHERE id = %s",
            [a.identity_key_id, raw_column(a, "last_name"), b.pk],
        )
    with pytest.raises(DecryptionError, match="copied from another row"):
        fresh(b).last_name  # noqa: B018


def test_ciphertext_copied_to_another_field_of_the_same_row_fails():
    patient = make_patient(last_name="Alpha", first_name="Bravo")
    set_raw_column(patient, "first_name", raw_column(patient, "last_name"))
    with pytest.raises(DecryptionError):
        fresh(patient).first_name  # noqa: B018


def test_tampered_ciphertext_fails_loudly():
    patient = make_patient()
    raw = bytearray(raw_column(patient, "last_name"))
    raw[-1] ^= 0x01
    set_raw_column(patient, "last_name", bytes(raw))
    with pytest.raises(DecryptionError):
        fresh(patient).last_name  # noqa: B018


def test_compartment_is_bound(settings):
    # Same key bytes relabelled as another compartment: the associated data no longer matches.
    patient = make_patient()
    DataKey.objects.filter(pk=patient.identity_key_id).update(purpose=DataKey.Purpose.PSYCHIATRIC)
    with pytest.raises(DecryptionError):
        fresh(patient).last_name  # noqa: B018


def test_wrong_master_key_names_the_key_id(settings):
    patient = make_patient()
    keyring = json.loads(settings.USMP_KEYRING)
    keyring["master_keys"]["test1"] = keyring["audit_key"]  # another 32-byte key, same id
    with (
        override_settings(USMP_KEYRING=json.dumps(keyring)),
        pytest.raises(DecryptionError) as excinfo,
    ):
        fresh(patient).last_name  # noqa: B018
    assert "'test1'" in str(excinfo.value)
    assert str(patient.identity_key_id) in str(excinfo.value)


def test_missing_master_key_names_the_key_id(settings):
    patient = make_patient()
    keyring = json.loads(settings.USMP_KEYRING)
    keyring["master_keys"] = {"other": keyring["audit_key"]}
    keyring["active"] = "other"
    with (
        override_settings(USMP_KEYRING=json.dumps(keyring)),
        pytest.raises(KeyNotFound, match="'test1' is not in the keyring"),
    ):
        fresh(patient).last_name  # noqa: B018


def test_encrypted_fields_cannot_be_queried():
    make_patient(last_name="Alpha")
    with pytest.raises(TypeError, match="blind index"):
        list(Patient.objects.filter(last_name="Alpha"))


def test_an_instance_can_be_built_before_its_encrypted_values_are_known():
    from django.db import IntegrityError, transaction

    patient = Patient(arrival_date=datetime.date(2026, 1, 1))
    assert patient.last_name is None
    with pytest.raises(IntegrityError), transaction.atomic():
        patient.save()  # a required encrypted value is missing: the database refuses
    assert not Patient.objects.filter(pk=patient.pk).exists()


def test_wrong_plaintext_type_is_refused():
    patient = make_patient()
    with pytest.raises(TypeError):
        patient.birth_date = "1990-01-01"
