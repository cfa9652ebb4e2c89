"""Data keys: one per patient identity (and, later, per dossier), wrapped by a master key."""

from __future__ import annotations

import secrets
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import aead
from .keyring import KEY_BYTES, get_keyring


class DataKeyManager(models.Manager["DataKey"]):
    def generate(self, *, purpose: str) -> DataKey:
        """Create and store a fresh data key wrapped by the active master key."""
        keyring = get_keyring()
        key = DataKey(id=uuid.uuid4(), purpose=purpose, master_key_id=keyring.active_id)
        plain = secrets.token_bytes(KEY_BYTES)
        key.wrapped_key = aead.wrap(keyring.active_key, keyring.active_id, plain, key.id)
        key._plain = plain
        key.save(force_insert=True)
        return key


class DataKey(models.Model):
    class Purpose(models.TextChoices):
        IDENTITY = "identity", _("Patient identity")
        SOMATIC = "somatic", _("Somatic dossier")
        PSYCHIATRIC = "psychiatric", _("Psychiatric dossier")
        SECOND_FACTOR = "second_factor", _("Second factor secret")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    master_key_id = models.CharField(max_length=32, db_index=True)
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    objects = DataKeyManager()

    class Meta:
        verbose_name = _("data key")
        verbose_name_plural = _("data keys")

    def __str__(self) -> str:
        return f"DataKey {self.id} ({self.purpose}, {self.master_key_id})"

    def unwrap(self) -> bytes:
        """The plaintext data key (kept on this instance only, never persisted)."""
        plain: bytes | None = getattr(self, "_plain", None)
        if plain is None:
            master = get_keyring().master_key(self.master_key_id)
            plain = aead.unwrap(master, self.master_key_id, bytes(self.wrapped_key), self.id)
            self._plain = plain
        return plain

    def cipher(self) -> AESGCM:
        """AES-256-GCM under the plaintext data key, made once per instance (the key
        schedule is not redone for every value of a page)."""
        cipher: AESGCM | None = getattr(self, "_cipher", None)
        if cipher is None:
            cipher = self._cipher = AESGCM(self.unwrap())
        return cipher

    def rewrap_under_active(self) -> bool:
        """Re-wrap under the keyring's active master key; False if it already was."""
        keyring = get_keyring()
        if self.master_key_id == keyring.active_id:
            return False
        plain = self.unwrap()
        self.wrapped_key = aead.wrap(keyring.active_key, keyring.active_id, plain, self.id)
        self.master_key_id = keyring.active_id
        return True
