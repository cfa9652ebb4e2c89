"""The unit's transfer keys, from its keyring: an age X25519 identity (packages are
encrypted to a unit's recipient) and an Ed25519 key (packages are signed by their sender).

age keys are written in Bech32 (BIP 173, without its 90-character limit, as age does):
``age1...`` for a recipient, ``AGE-SECRET-KEY-1...`` for an identity."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from usmp.crypto.keyring import get_keyring

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _GENERATOR[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _to_5bit(data: bytes) -> list[int]:
    acc = bits = 0
    out = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    values = _to_5bit(data)
    polymod = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[v] for v in values + checksum)


def age_identity(seed: bytes) -> str:
    return bech32_encode("age-secret-key-", seed).upper()


def age_recipient(seed: bytes) -> str:
    public = X25519PrivateKey.from_private_bytes(seed).public_key()
    return bech32_encode("age", public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def fingerprint(recipient: str, verify_key: str) -> str:
    """The fingerprint of a unit's two public keys: 128 bits of SHA-256, as eight groups of
    four hexadecimal digits, to be read over the phone."""
    digest = hashlib.sha256(f"cloison-unit-keys/1\n{recipient}\n{verify_key}\n".encode()).digest()
    hexa = digest[:16].hex().upper()
    return " ".join(hexa[i : i + 4] for i in range(0, 32, 4))


def verify_key_bytes(verify_key: str) -> Ed25519PublicKey:
    """The Ed25519 public key written as base64; ValueError when it is not one."""
    raw = base64.b64decode(verify_key, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class UnitKeys:
    identity: str  # age secret key: never shown
    recipient: str
    signing_key: Ed25519PrivateKey
    verify_key: str  # base64 of the raw Ed25519 public key

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.recipient, self.verify_key)


def own_keys() -> UnitKeys:
    """This unit's transfer keys (from the configured keyring)."""
    keyring = get_keyring()
    signing = Ed25519PrivateKey.from_private_bytes(keyring.transfer_signing_seed)
    public = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return UnitKeys(
        identity=age_identity(keyring.transfer_encryption_seed),
        recipient=age_recipient(keyring.transfer_encryption_seed),
        signing_key=signing,
        verify_key=base64.b64encode(public).decode(),
    )
