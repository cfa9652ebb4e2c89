"""Checkpoints in the C2SP formats, so that existing verifiers and witnesses read them:
``tlog-checkpoint`` (origin, tree size, base64 root, extension lines) inside a ``signed-note``
with an Ed25519 signature (algorithm 0x01), and the verifier key as ``name+hash+base64``.

https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md and signed-note.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
KEY_NAME_RE = re.compile(r"^[^\s+]+$")
TIME_EXTENSION = "time "


class NoteError(ValueError):
    """A note or key that is malformed, or whose signature does not verify."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    public: Ed25519PublicKey

    @property
    def vkey(self) -> str:
        raw = _raw_public(self.public)
        encoded = base64.b64encode(ED25519 + raw).decode()
        return f"{self.name}+{key_hash(self.name, raw).hex()}+{encoded}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Read a verifier key ``name+hash+base64(0x01 || public key)``."""
        parts = vkey.strip().split("+", 2)  # the base64 key may hold a '+' too
        if len(parts) != 3 or not KEY_NAME_RE.match(parts[0]):
            raise NoteError("a verifier key reads name+hash+key")
        name, hash_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("the verifier key is not valid base64") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("only Ed25519 verifier keys are supported")
        if key_hash(name, raw[1:]).hex() != hash_hex.lower():
            raise NoteError("the verifier key's hash does not match its name and key")
        return cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not KEY_NAME_RE.match(self.name):
            raise NoteError("a key name has no space and no '+'")

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private.public_key())

    def sign(self, text: str) -> str:
        """TEXT (lines ending with a newline) followed by a blank line and the signature."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text is non-empty lines, each ending with a newline")
        raw = _raw_public(self.private.public_key())
        signature = key_hash(self.name, raw) + self.private.sign(text.encode())
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of NOTE if it carries a valid signature by VERIFIER (other signatures, from
    witnesses for instance, are ignored); NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    raw = _raw_public(verifier.public)
    expected_hash = key_hash(verifier.name, raw)
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("a signature is not valid base64") from None
        if name != verifier.name or signature[:4] != expected_hash:
            continue
        try:
            verifier.public.verify(signature[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None
        return text
    raise NoteError(f"the note carries no signature of {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    at: datetime.datetime | None = None

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.at is not None:
            lines.append(TIME_EXTENSION + self.at.astimezone(datetime.UTC).isoformat())
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint is an origin, a tree size and a root hash")
        if not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
            raise NoteError("the tree size is a decimal number")
        try:
            root = base64.b64decode(lines[2], validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("the root hash is not valid base64") from None
        if len(root) != 32:
            raise NoteError("the root hash is 32 bytes")
        at = None
        for extension in lines[3:-1]:
            if extension.startswith(TIME_EXTENSION):
                try:
                    at = datetime.datetime.fromisoformat(extension[len(TIME_EXTENSION) :])
                except ValueError:
                    raise NoteError("the time line is not an ISO 8601 time") from None
        return cls(lines[0], int(lines[1]), root, at)


def open_checkpoint(note: str, verifier: Verifier, *, origin: str | None = None) -> Checkpoint:
    point = Checkpoint.parse(open_note(note, verifier))
    if origin is not None and point.origin != origin:
        raise NoteError(f"the checkpoint is of log {point.origin!r}, not {origin!r}")
    return point
