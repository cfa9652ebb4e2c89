"""What the other apps may have of a patient's identity and keys, published by the dossiers.

The agenda and the bridge never read an encrypted column nor choose a data key themselves:
prison numbers come from here decrypted, in batch; a dossier's data key is handed over to
encrypt that dossier's texts with (the agenda's motives, comments and care requests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from types import SimpleNamespace

from usmp.crypto.fields import Ciphertext, EncryptedField
from usmp.crypto.models import DataKey

from .models import Dossier, Patient


def prison_numbers(patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The prison numbers of PATIENT_IDS, decrypted. One query (each patient's prison number
    ciphertext and identity key, nothing else of the patient), none for no id."""
    ids = set(patient_ids)
    if not ids:
        return {}
    rows = Patient.objects.filter(pk__in=ids).values_list(
        "pk",
        "prison_number",
        "identity_key__id",
        "identity_key__purpose",
        "identity_key__master_key_id",
        "identity_key__wrapped_key",
    )
    # Rows, not model instances: the bridge's feed decrypts a prison number per patient on
    # every pull, and the field decrypts as well for a bare holder of the row id and key.
    field = Patient._meta.get_field("prison_number")
    assert isinstance(field, EncryptedField)  # noqa: S101 - a schema invariant
    numbers = {}
    for pk, ciphertext, key_id, purpose, master_key_id, wrapped_key in rows:
        key = DataKey(
            id=key_id, purpose=purpose, master_key_id=master_key_id, wrapped_key=wrapped_key
        )
        holder = SimpleNamespace(pk=pk, identity_key=key)
        numbers[pk] = str(field.decrypt_for(holder, Ciphertext(bytes(ciphertext))))
    return numbers


def compartment_key(patient: Patient, compartment: str) -> DataKey:
    """The data key of PATIENT's dossier in COMPARTMENT."""
    return (
        Dossier.objects.select_related("data_key")
        .get(patient=patient, compartment=compartment)
        .data_key
    )
