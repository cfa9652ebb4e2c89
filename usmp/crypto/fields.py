"""Encrypted model fields.

The database column holds only ciphertext (bytea). The Python attribute holds the plaintext,
decrypted lazily on first access with the row's data key (the ``key_field`` foreign key to
``DataKey``) and the associated data (model, field, row id, compartment). Saving an unchanged
value writes back the same ciphertext; a changed value is encrypted with a fresh nonce.
Encrypted fields cannot be filtered on: use the blind index columns.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from . import aead


class Ciphertext(bytes):
    """Bytes read from (or bound for) an encrypted column, not yet decrypted."""


@dataclass(frozen=True)
class _Sealed:
    ciphertext: Ciphertext
    plaintext: Any
    row_id: str
    key_id: uuid.UUID


class EncryptedAttribute(DeferredAttribute):
    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            field: EncryptedField = self.field  # type: ignore[assignment]
            value = field.decrypt_for(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        if value is not None and not isinstance(value, Ciphertext):
            field: EncryptedField = self.field  # type: ignore[assignment]
            field.check_plaintext_type(value)
        instance.__dict__[self.field.attname] = value


class EncryptedField(models.BinaryField):  # type: ignore[type-arg]
    descriptor_class = EncryptedAttribute
    plaintext_type: type = str

    def __init__(self, *args: Any, key_field: str, **kwargs: Any) -> None:
        self.key_field = key_field
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def get_default(self) -> Any:
        # BinaryField's implicit default is b"", which is no plaintext: an unset encrypted
        # value is None (refused by NOT NULL at save time, never encrypted by accident).
        return super().get_default() if self.has_default() else None

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["key_field"] = self.key_field
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    # -- plaintext <-> bytes ------------------------------------------------------------------
    def to_plain_bytes(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def from_plain_bytes(self, raw: bytes) -> Any:
        return raw.decode("utf-8")

    def check_plaintext_type(self, value: Any) -> None:
        if not isinstance(value, self.plaintext_type):
            raise TypeError(
                f"{self.model.__name__}.{self.name} takes {self.plaintext_type.__name__}, "
                f"not {type(value).__name__}."
            )

    # -- encryption ---------------------------------------------------------------------------
    def _data_key(self, instance: Any) -> Any:
        key = getattr(instance, self.key_field)
        if key is None:
            raise ValueError(f"{self.model.__name__}.{self.key_field} is not set.")
        return key

    def _aad(self, instance: Any, key: Any) -> bytes:
        if instance.pk is None:
            # The row id is part of the associated data: it must exist before the first save.
            raise ValueError(
                f"{self.model.__name__} needs a client-side primary key (UUID with a default) "
                "to hold encrypted fields."
            )
        return aead.associated_data(
            self.model._meta.label_lower, self.name, str(instance.pk), key.purpose
        )

    def decrypt_for(self, instance: Any, ciphertext: Ciphertext) -> Any:
        key = self._data_key(instance)
        raw = aead.decrypt(key.cipher(), key.id, bytes(ciphertext), self._aad(instance, key))
        plaintext = self.from_plain_bytes(raw)
        self._remember(instance, _Sealed(ciphertext, plaintext, str(instance.pk), key.id))
        return plaintext

    def decrypt_value(self, pk: str, key: Any, ciphertext: bytes) -> Any:
        """The value stored for row PK (as text) under its data KEY, without a model
        instance: for batch reads of rows (the same associated data binds it to its row
        and field; the parts are length-prefixed, so the field's own can be made once)."""
        prefix = self.__dict__.get("_aad_prefix")
        if prefix is None:
            prefix = self._aad_prefix = aead.associated_data(
                self.model._meta.label_lower, self.name
            )
        aad = prefix + aead.associated_data(pk, key.purpose)
        return self.from_plain_bytes(aead.decrypt(key.cipher(), key.id, bytes(ciphertext), aad))

    @staticmethod
    def _sealed(instance: Any) -> dict[str, _Sealed]:
        return instance.__dict__.setdefault("_encrypted_sealed", {})  # type: ignore[no-any-return]

    def _remember(self, instance: Any, sealed: _Sealed) -> None:
        self._sealed(instance)[self.attname] = sealed

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Ciphertext):
            return value
        key = self._data_key(model_instance)
        sealed = self._sealed(model_instance).get(self.attname)
        if (
            sealed is not None
            and sealed.plaintext == value
            and sealed.row_id == str(model_instance.pk)
            and sealed.key_id == key.id
        ):
            return sealed.ciphertext
        ciphertext = Ciphertext(
            aead.encrypt(
                key.cipher(), key.id, self.to_plain_bytes(value), self._aad(model_instance, key)
            )
        )
        self._remember(model_instance, _Sealed(ciphertext, value, str(model_instance.pk), key.id))
        return ciphertext

    # -- database -------------------------------------------------------------------------------
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return Ciphertext(bytes(value))

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Ciphertext):
            return value
        raise TypeError(
            f"{self.model.__name__}.{self.name} is encrypted and cannot be used in a query; "
            "look rows up through their blind index."
        )

    def value_to_string(self, obj: Any) -> str:
        # Serialisation (dumpdata) exports ciphertext only.
        raw = obj.__dict__.get(self.attname)
        if raw is None:
            return ""
        if not isinstance(raw, Ciphertext):
            raw = self.pre_save(obj, add=False)
        return bytes(raw).hex()


class EncryptedTextField(EncryptedField):
    plaintext_type = str


class EncryptedDateField(EncryptedField):
    plaintext_type = datetime.date

    def check_plaintext_type(self, value: Any) -> None:
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise TypeError(f"{self.model.__name__}.{self.name} takes a date.")

    def to_plain_bytes(self, value: Any) -> bytes:
        return str(value.isoformat()).encode("ascii")

    def from_plain_bytes(self, raw: bytes) -> Any:
        return datetime.date.fromisoformat(raw.decode("ascii"))


class EncryptedBinaryField(EncryptedField):
    """Encrypted bytes (uploaded documents)."""

    plaintext_type = bytes

    def check_plaintext_type(self, value: Any) -> None:
        if not isinstance(value, bytes) or isinstance(value, Ciphertext):
            raise TypeError(f"{self.model.__name__}.{self.name} takes bytes.")

    def to_plain_bytes(self, value: Any) -> bytes:
        return bytes(value)

    def from_plain_bytes(self, raw: bytes) -> Any:
        return raw


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]


class EncryptedModel(models.Model):
    """Abstract base: creates the data keys an instance needs on first save.

    Subclasses declare ``data_key_purposes = {"identity_key": DataKey.Purpose.IDENTITY}``.
    """

    data_key_purposes: dict[str, str] = {}

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        from .models import DataKey

        for key_field, purpose in self.data_key_purposes.items():
            if getattr(self, f"{key_field}_id") is None:
                setattr(self, key_field, DataKey.objects.generate(purpose=purpose))
        super().save(*args, **kwargs)
