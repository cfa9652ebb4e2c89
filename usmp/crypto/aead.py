"""AES-256-GCM with a versioned header and associated data.

Ciphertext layout: ``b"C1"`` | data key id (16 bytes, UUID) | nonce (12 bytes) | ciphertext+tag.
Wrapped data key layout: ``b"W1"`` | nonce | ciphertext+tag, the master key id kept beside it.
The associated data binds a ciphertext to its place (model, field, row id, compartment): moved
anywhere else it fails to decrypt with DecryptionError, never yielding garbage.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError

CIPHERTEXT_MAGIC = b"C1"
WRAP_MAGIC = b"W1"
NONCE_BYTES = 12
_HEADER = len(CIPHERTEXT_MAGIC) + 16 + NONCE_BYTES


def associated_data(*parts: str) -> bytes:
    # Length-prefixed so that ("a|b", "c") and ("a", "b|c") never collide.
    return b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)


def encrypt(key: bytes | AESGCM, key_id: uuid.UUID, plaintext: bytes, aad: bytes) -> bytes:
    """KEY: the data key, or an AESGCM cipher made from it (a page decrypting many values
    under one key makes it once: ``DataKey.cipher``)."""
    nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonce, never reused per key in practice
    header = CIPHERTEXT_MAGIC + key_id.bytes + nonce
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    return header + cipher.encrypt(nonce, plaintext, header + aad)


def ciphertext_key_id(blob: bytes) -> uuid.UUID:
    if len(blob) < _HEADER + 16 or not blob.startswith(CIPHERTEXT_MAGIC):
        raise DecryptionError("Not a Cloison ciphertext (bad header or too short).")
    return uuid.UUID(bytes=blob[2:18])


def decrypt(key: bytes | AESGCM, key_id: uuid.UUID, blob: bytes, aad: bytes) -> bytes:
    written_with = ciphertext_key_id(blob)
    if written_with != key_id:
        raise DecryptionError(
            f"Ciphertext was written with data key {written_with}, but this row uses data key "
            f"{key_id}: it does not belong here."
        )
    header, body = blob[:_HEADER], blob[_HEADER:]
    nonce = header[-NONCE_BYTES:]
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    try:
        return cipher.decrypt(nonce, body, header + aad)
    except InvalidTag:
        raise DecryptionError(
            f"Authentication failed for a ciphertext under data key {key_id}: it was altered "
            "or copied from another row, field or compartment."
        ) from None


def wrap(master_key: bytes, master_key_id: str, data_key: bytes, data_key_id: uuid.UUID) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    aad = associated_data("datakey", str(data_key_id), master_key_id)
    return WRAP_MAGIC + nonce + AESGCM(master_key).encrypt(nonce, data_key, aad)


def unwrap(master_key: bytes, master_key_id: str, wrapped: bytes, data_key_id: uuid.UUID) -> bytes:
    if not wrapped.startswith(WRAP_MAGIC) or len(wrapped) < 2 + NONCE_BYTES + 16:
        raise DecryptionError(f"Data key {data_key_id}: wrapped key has a bad header.")
    nonce, body = wrapped[2 : 2 + NONCE_BYTES], wrapped[2 + NONCE_BYTES :]
    aad = associated_data("datakey", str(data_key_id), master_key_id)
    try:
        return AESGCM(master_key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError(
            f"Cannot unwrap data key {data_key_id} with master key {master_key_id!r}: "
            "the keyring holds a different key under that id, or the wrapped key was altered."
        ) from None
