"""The unit's transfer keys from its keyring."""

from __future__ import annotations

import base64
import json

import pyrage
from pyrage import x25519

from transfers.keys import age_identity, age_recipient, fingerprint
from usmp.crypto.keyring import generate_keyring_document, parse_keyring

from .helpers import UNIT_B_KEYRING


def test_an_old_keyring_derives_distinct_transfer_keys():
    keyring = parse_keyring(UNIT_B_KEYRING)
    seeds = {keyring.transfer_encryption_seed, keyring.transfer_signing_seed}
    assert len(seeds) == 2
    assert keyring.audit_signing_seed not in seeds
    assert parse_keyring(UNIT_B_KEYRING) == keyring  # stable


def test_explicit_transfer_keys_are_used():
    document = json.loads(generate_keyring_document())
    keyring = parse_keyring(json.dumps(document))
    assert keyring.transfer_signing_seed == base64.b64decode(document["transfer_signing_key"])
    assert keyring.transfer_encryption_seed == base64.b64decode(document["transfer_encryption_key"])


def test_age_keys_are_what_the_age_format_reads():
    seed = bytes(range(32))
    identity = x25519.Identity.from_str(age_identity(seed))
    assert str(identity.to_public()) == age_recipient(seed)
    ciphertext = pyrage.encrypt(b"x", [x25519.Recipient.from_str(age_recipient(seed))])
    assert pyrage.decrypt(ciphertext, [identity]) == b"x"


def test_fingerprint_reads_in_eight_groups_and_depends_on_both_keys():
    fp = fingerprint("age1abc", "key")
    assert len(fp.split(" ")) == 8 and all(len(g) == 4 for g in fp.split(" "))
    assert fp != fingerprint("age1abc", "other") != fingerprint("age1abd", "key")
