"""The transfer package file: an addressing header in clear, signed with the payload.

    cloison-transfer/1\\n
    <header: canonical JSON on one line>\\n
    <Ed25519 signature, base64>\\n
    <the payload encrypted with age to the recipient's X25519 key>

The signature covers the first two lines and the ciphertext, so the addressing cannot be
changed either. The header names the sender and recipient by their key fingerprints and
gives the ciphertext's length and SHA-256, so that a truncated file is told apart from a
tampered one. A package is opened in the order that gives the clearest refusal: format,
completeness, addressing, sender, signature, decryption."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyrage
from cryptography.exceptions import InvalidSignature
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pyrage import x25519

from .keys import UnitKeys, verify_key_bytes

MAGIC = b"cloison-transfer/1\n"
MAX_HEADER = 8192


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def seal(*, header: dict[str, Any], payload: bytes, recipient: str, keys: UnitKeys) -> bytes:
    """The package file: PAYLOAD encrypted to RECIPIENT (an age key), signed by KEYS."""
    ciphertext: bytes = pyrage.encrypt(payload, [x25519.Recipient.from_str(recipient)])
    header = {
        **header,
        "ciphertext_length": len(ciphertext),
        "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
    }
    line = _canonical(header) + b"\n"
    signature = keys.signing_key.sign(MAGIC + line + ciphertext)
    return MAGIC + line + base64.b64encode(signature) + b"\n" + ciphertext


def refused(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


@dataclass(frozen=True)
class Opened:
    header: dict[str, Any]
    payload: bytes
    digest: str  # SHA-256 of the whole file


def open_package(data: bytes, *, keys: UnitKeys, sender_key: Callable[[str], str | None]) -> Opened:
    """Check and decrypt a package addressed to KEYS. SENDER_KEY gives the registered
    signature key of a fingerprint (None when unknown). Raises ValidationError (French)."""
    if not data.startswith(MAGIC):
        raise refused(_("This file is not a Cloison transfer package."), "not_a_package")
    # Offsets into DATA, and a view of its ciphertext: a package may be hundreds of MB, and
    # each slice of bytes would be a copy of it.
    start = len(MAGIC)
    line_end = data.find(b"\n", start, start + MAX_HEADER)
    if line_end < 0:
        raise refused(
            _("The package is truncated or damaged: its header is incomplete."), "truncated"
        )
    header_line = data[start : line_end + 1]
    try:
        header = json.loads(header_line)
        sender = header["sender"]["fingerprint"]
        recipient = header["recipient"]["fingerprint"]
        length = int(header["ciphertext_length"])
        expected_sha = str(header["ciphertext_sha256"])
    except (ValueError, KeyError, TypeError):
        raise refused(
            _("The package's header cannot be read: the file is damaged."), "bad_header"
        ) from None
    sig_start = line_end + 1
    sig_end = data.find(b"\n", sig_start, sig_start + 200)
    try:
        signature = (
            base64.b64decode(data[sig_start:sig_end], validate=True) if sig_end > sig_start else b""
        )
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64:
        raise refused(_("The package is not signed: it cannot be trusted."), "unsigned")
    ciphertext = memoryview(data)[sig_end + 1 :]
    if len(ciphertext) < length:
        raise refused(
            _(
                "The package is truncated (%(got)d of %(expected)d bytes): ask the sender for it again."
            )
            % {"got": len(ciphertext), "expected": length},
            "truncated",
        )
    if recipient != keys.fingerprint:
        raise refused(
            _("This package is addressed to another unit (%(name)s), not to this one.")
            % {"name": str(header.get("recipient", {}).get("name", "?"))[:200]},
            "wrong_recipient",
        )
    verify = sender_key(sender)
    if verify is None:
        raise refused(
            _(
                "The sender of this package (%(name)s, fingerprint %(fp)s) is not a registered "
                "partner unit: the coordinator must register its keys first."
            )
            % {
                "name": str(header.get("sender", {}).get("name", "?"))[:200],
                "fp": str(sender)[:40],
            },
            "unknown_sender",
        )
    try:
        verify_key_bytes(verify).verify(signature, b"".join((MAGIC, header_line, ciphertext)))
    except (InvalidSignature, ValueError):
        raise refused(
            _(
                "The package's signature is not valid: it was altered, or it does not come "
                "from the unit it names. Nothing was imported."
            ),
            "bad_signature",
        ) from None
    if len(ciphertext) != length or hashlib.sha256(ciphertext).hexdigest() != expected_sha:
        raise refused(_("The package is damaged."), "damaged")
    try:
        # pyrage takes bytes only: the one copy of the ciphertext, freed once decrypted.
        payload: bytes = pyrage.decrypt(
            bytes(ciphertext), [x25519.Identity.from_str(keys.identity)]
        )
    except pyrage.DecryptError:
        raise refused(
            _("The package cannot be decrypted with this unit's key."), "undecryptable"
        ) from None
    return Opened(header=header, payload=payload, digest=hashlib.sha256(data).hexdigest())
