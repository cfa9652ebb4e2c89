"""Blind indexes: exact-match lookups on encrypted values without decrypting.

HMAC-SHA256 under the keyring's blind-index key, with a domain per indexed attribute so that
equal values in different fields do not produce equal indexes, truncated to 128 bits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from .keyring import get_keyring

INDEX_HEX_LENGTH = 32
_SPACES = re.compile(r"\s+")
# hyphen, apostrophes (straight and typographic), Unicode hyphens, dots, commas
_NAME_PUNCTUATION = re.compile("[-'\u2019\u2010\u2011.,]+")


def normalise(value: str) -> str:
    """NFKD, accents stripped, casefolded, hyphens/apostrophes as spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = _NAME_PUNCTUATION.sub(" ", stripped.casefold())
    return _SPACES.sub(" ", stripped).strip()


def blind_index(domain: str, *values: str) -> str:
    """Hex blind index of the normalised values, separated so that parts cannot slide."""
    message = "\x1f".join(normalise(v) for v in values)
    digest = hmac.new(
        get_keyring().blind_index_key,
        domain.encode() + b"\x00" + message.encode(),
        hashlib.sha256,
    ).hexdigest()
    return digest[:INDEX_HEX_LENGTH]
