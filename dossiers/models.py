from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from usmp.crypto.blind_index import blind_index
from usmp.crypto.fields import EncryptedDateField, EncryptedModel, EncryptedTextField
from usmp.crypto.models import DataKey

BIDX_LENGTH = 32


class Patient(EncryptedModel):
    """A detainee known to the health unit. Every identifying field is encrypted; lookups go
    through blind indexes. ``str()`` never shows the identity (audit rows use it)."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "X", _("Other / not stated")

    class CustodyStatus(models.TextChoices):
        PRESENT = "present", _("Present")
        RELEASED = "released", _("Released")
        TRANSFERRED = "transferred", _("Transferred")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    prison_number = EncryptedTextField(key_field="identity_key")
    last_name = EncryptedTextField(key_field="identity_key")
    first_name = EncryptedTextField(key_field="identity_key")
    birth_date = EncryptedDateField(key_field="identity_key")
    sex = EncryptedTextField(key_field="identity_key", choices=Sex.choices)
    ins = EncryptedTextField(key_field="identity_key", null=True)

    # Blind indexes (see usmp.crypto.blind_index). Indexed in Meta with plain btree indexes:
    # they are only ever compared for equality.
    prison_number_bidx = models.CharField(max_length=BIDX_LENGTH)
    last_name_bidx = models.CharField(max_length=BIDX_LENGTH)
    full_name_bidx = models.CharField(max_length=BIDX_LENGTH)
    last_birth_bidx = models.CharField(max_length=BIDX_LENGTH)
    # NULL, not "", when no INS: patients without one must not collide on the unique index.
    ins_bidx = models.CharField(max_length=BIDX_LENGTH, null=True)  # noqa: DJ001

    arrival_date = models.DateField(_("arrival date"))
    custody_status = models.CharField(
        _("custody status"),
        max_length=16,
        choices=CustodyStatus.choices,
        default=CustodyStatus.PRESENT,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    data_key_purposes = {"identity_key": DataKey.Purpose.IDENTITY}

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            # A prison number is unique in the unit, enforced by the database.
            models.UniqueConstraint(
                fields=["prison_number_bidx"], name="patient_prison_number_uniq"
            ),
            models.UniqueConstraint(fields=["ins_bidx"], name="patient_ins_uniq"),
        ]
        indexes = [
            models.Index(fields=["last_name_bidx"], name="patient_last_name_bidx"),
            models.Index(fields=["full_name_bidx"], name="patient_full_name_bidx"),
            models.Index(fields=["last_birth_bidx"], name="patient_last_birth_bidx"),
        ]

    def __str__(self) -> str:
        return f"Patient {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.compute_blind_indexes()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = set(update_fields) | {
                f.name for f in self._meta.concrete_fields if f.name.endswith("_bidx")
            }
        super().save(*args, **kwargs)

    def compute_blind_indexes(self) -> None:
        birth = self.birth_date.isoformat()
        self.prison_number_bidx = prison_number_index(self.prison_number)
        self.last_name_bidx = blind_index("patient.last_name", self.last_name)
        self.full_name_bidx = blind_index("patient.full_name", self.last_name, self.first_name)
        self.last_birth_bidx = blind_index("patient.last_birth", self.last_name, birth)
        self.ins_bidx = blind_index("patient.ins", self.ins) if self.ins else None

    @property
    def display_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"


def prison_number_index(prison_number: str) -> str:
    return blind_index("patient.prison_number", prison_number)
