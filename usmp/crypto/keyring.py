"""The keyring: master keys (wrap data keys), the blind-index key and the audit-chain key.

Format (JSON, from ``USMP_KEYRING`` or the file named by ``USMP_KEYRING_FILE``)::

    {
      "active": "m2026a",
      "master_keys": {"m2026a": "<base64 of 32 bytes>", "m2025b": "..."},
      "blind_index_key": "<base64 of 32 bytes>",
      "audit_key": "<base64 of 32 bytes>",
      "audit_signing_key": "<base64 of 32 bytes>",
      "transfer_encryption_key": "<base64 of 32 bytes>",
      "transfer_signing_key": "<base64 of 32 bytes>"
    }

``audit_signing_key`` is the Ed25519 private key (its 32-byte seed) that signs the audit
log's checkpoints; ``manage.py audit_public_key`` prints its public half. A keyring from
before it derives one from ``audit_key`` (HKDF-SHA256), so that it needs no edit.

``transfer_encryption_key`` (an X25519 private key, the unit's age identity) and
``transfer_signing_key`` (an Ed25519 seed) are the unit's keys for transfer packages
(``transfers``); ``manage.py unit_keys`` prints their public halves. Absent, each is derived
from ``audit_key`` by HKDF-SHA256 with its own label, like the checkpoint key.

Old master keys stay in the keyring until ``rotate_keys`` has re-wrapped every data key. The
keyring never lives in the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from .errors import KeyNotFound, KeyringError

KEY_BYTES = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True)
class Keyring:
    active_id: str
    master_keys: dict[str, bytes]
    blind_index_key: bytes
    audit_key: bytes
    audit_signing_seed: bytes
    transfer_encryption_seed: bytes = b""
    transfer_signing_seed: bytes = b""

    def master_key(self, key_id: str) -> bytes:
        try:
            return self.master_keys[key_id]
        except KeyError:
            raise KeyNotFound(
                f"Master key {key_id!r} is not in the keyring (it holds: "
                f"{', '.join(sorted(self.master_keys))}). Restore it from the key backup."
            ) from None

    @property
    def active_key(self) -> bytes:
        return self.master_keys[self.active_id]

    def digest_key(self, domain: bytes) -> bytes:
        """The HMAC key of one kind of stored digest, derived from the blind-index key for
        DOMAIN. A digest kept beside a patient's row (a push, a reconciliation, a backup's
        manifest) is keyed: an unkeyed hash of a prison number, a consent's decision or a
        short note could be found again by trying the few values it can take."""
        return _digest_key(self.blind_index_key, domain)


@lru_cache(maxsize=16)
def _digest_key(blind_index_key: bytes, domain: bytes) -> bytes:
    return hmac.new(blind_index_key, domain, hashlib.sha256).digest()


def _decode_key(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"Keyring: {what} must be a base64 string.")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"Keyring: {what} is not valid base64.") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"Keyring: {what} must be {KEY_BYTES} bytes, got {len(raw)}.")
    return raw


def parse_keyring(text: str) -> Keyring:
    """Parse and validate a keyring document; raise KeyringError with a clear message."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        raise KeyringError("Keyring: not valid JSON.") from None
    if not isinstance(data, dict):
        raise KeyringError("Keyring: the document must be a JSON object.")
    missing = {"active", "master_keys", "blind_index_key", "audit_key"} - set(data)
    if missing:
        raise KeyringError(f"Keyring: missing entries: {', '.join(sorted(missing))}.")
    masters = data["master_keys"]
    if not isinstance(masters, dict) or not masters:
        raise KeyringError("Keyring: master_keys must be a non-empty object.")
    decoded: dict[str, bytes] = {}
    for key_id, value in masters.items():
        if not KEY_ID_RE.match(key_id):
            raise KeyringError(f"Keyring: invalid master key id {key_id!r}.")
        decoded[key_id] = _decode_key(value, f"master key {key_id!r}")
    active = data["active"]
    if active not in decoded:
        raise KeyringError(f"Keyring: the active master key {active!r} is not in master_keys.")
    audit_key = _decode_key(data["audit_key"], "audit_key")
    signing = data.get("audit_signing_key")

    def optional(name: str, label: bytes) -> bytes:
        value = data.get(name)
        if value is not None:
            return _decode_key(value, name)
        return derive_key(audit_key, label)

    return Keyring(
        active_id=active,
        master_keys=decoded,
        blind_index_key=_decode_key(data["blind_index_key"], "blind_index_key"),
        audit_key=audit_key,
        audit_signing_seed=(
            _decode_key(signing, "audit_signing_key")
            if signing is not None
            else derive_signing_seed(audit_key)
        ),
        transfer_encryption_seed=optional(
            "transfer_encryption_key", b"cloison transfer encryption key v1"
        ),
        transfer_signing_seed=optional("transfer_signing_key", b"cloison transfer signing key v1"),
    )


def derive_signing_seed(audit_key: bytes) -> bytes:
    """The checkpoint signing key of a keyring written before it had one."""
    return derive_key(audit_key, b"cloison audit checkpoint signing key v1")


def derive_key(audit_key: bytes, label: bytes) -> bytes:
    """A 32-byte key derived from ``audit_key`` for one use, named by LABEL (HKDF-SHA256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label).derive(
        audit_key
    )


def generate_keyring_document(active_id: str = "m1") -> str:
    """A fresh keyring (for development, tests and first installation)."""

    def new_key() -> str:
        return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()

    return json.dumps(
        {
            "active": active_id,
            "master_keys": {active_id: new_key()},
            "blind_index_key": new_key(),
            "audit_key": new_key(),
            "audit_signing_key": new_key(),
            "transfer_encryption_key": new_key(),
            "transfer_signing_key": new_key(),
        },
        indent=2,
    )


def add_master_key(document: str, new_id: str) -> str:
    """Return the keyring document with a new active master key (old ones kept for unwrap)."""
    if not KEY_ID_RE.match(new_id):
        raise KeyringError(f"Keyring: invalid master key id {new_id!r}.")
    parse_keyring(document)
    data = json.loads(document)
    if new_id in data["master_keys"]:
        raise KeyringError(f"Keyring: master key {new_id!r} already exists.")
    data["master_keys"][new_id] = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
    data["active"] = new_id
    return json.dumps(data, indent=2)


@lru_cache(maxsize=4)
def _parse_cached(text: str) -> Keyring:
    return parse_keyring(text)


def get_keyring() -> Keyring:
    """The configured keyring. Raises KeyringError if absent or malformed."""
    from django.conf import settings

    text = getattr(settings, "USMP_KEYRING", None)
    if not text:
        raise KeyringError(
            "No keyring configured: set USMP_KEYRING or USMP_KEYRING_FILE "
            "(`make run` creates a development keyring under var/)."
        )
    return _parse_cached(text)
