"""What the other apps may have of a patient's identity and keys, published by the dossiers.

The agenda and the bridge never read an encrypted column nor choose a data key themselves:
prison numbers come from here decrypted, in batch; a dossier's data key is handed over to
encrypt that dossier's texts with (the agenda's motives, comments and care requests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from usmp.crypto.fields import EncryptedField
from usmp.crypto.models import DataKey

from .models import Dossier, Patient


@dataclass(frozen=True, slots=True)
class Identity:
    """What a list of patients shows of each: number, name, custody status."""

    prison_number: str
    last_name: str
    first_name: str
    custody_status: str


_KEY_COLUMNS = (
    "identity_key__id",
    "identity_key__purpose",
    "identity_key__master_key_id",
    "identity_key__wrapped_key",
)


def _decrypted(
    patient_ids: Iterable[uuid.UUID], fields: tuple[str, ...], plain: tuple[str, ...] = ()
) -> dict[uuid.UUID, tuple[Any, ...]]:
    """FIELDS (encrypted, decrypted here) then PLAIN columns of each patient, by id. One
    query; rows, not model instances; each identity key unwrapped once per patient."""
    ids = set(patient_ids)
    if not ids:
        return {}
    rows = Patient.objects.filter(pk__in=ids).values_list("pk", *fields, *plain, *_KEY_COLUMNS)
    encrypted = []
    for name in fields:
        field = Patient._meta.get_field(name)
        assert isinstance(field, EncryptedField)  # noqa: S101 - a schema invariant
        encrypted.append(field)
    out = {}
    n = len(fields)
    for row in rows:
        pk, values, rest = row[0], row[1 : 1 + n], row[1 + n :]
        key_id, purpose, master_key_id, wrapped_key = rest[len(plain) :]
        key = DataKey(
            id=key_id, purpose=purpose, master_key_id=master_key_id, wrapped_key=wrapped_key
        )
        # One key unwrap and one cipher per patient, whatever the number of fields.
        row_id = str(pk)
        out[pk] = (
            *(f.decrypt_value(row_id, key, v) for f, v in zip(encrypted, values, strict=True)),
            *rest[: len(plain)],
        )
    return out


def prison_numbers(patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The prison numbers of PATIENT_IDS, decrypted. One query (each patient's prison number
    ciphertext and identity key, nothing else of the patient), none for no id."""
    # Rows, not model instances: the bridge's feed decrypts a prison number per patient on
    # every pull.
    return {
        pk: str(values[0]) for pk, values in _decrypted(patient_ids, ("prison_number",)).items()
    }


def identities(patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Identity]:
    """Number, names and custody status of PATIENT_IDS, for the agenda's lists: one query,
    three fields decrypted per patient with one key unwrap."""
    return {
        pk: Identity(str(number), str(last), str(first), str(status))
        for pk, (number, last, first, status) in _decrypted(
            patient_ids, ("prison_number", "last_name", "first_name"), ("custody_status",)
        ).items()
    }


def compartment_key(patient: Patient, compartment: str) -> DataKey:
    """The data key of PATIENT's dossier in COMPARTMENT."""
    return (
        Dossier.objects.select_related("data_key")
        .get(patient=patient, compartment=compartment)
        .data_key
    )
