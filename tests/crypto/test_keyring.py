import base64
import json

import pytest

from usmp.crypto.errors import KeyNotFound, KeyringError
from usmp.crypto.keyring import add_master_key, generate_keyring_document, parse_keyring

KEY = base64.b64encode(b"k" * 32).decode()


def doc(**overrides):
    data = {"active": "m1", "master_keys": {"m1": KEY}, "blind_index_key": KEY, "audit_key": KEY}
    data.update(overrides)
    return json.dumps(data)


def test_generated_keyring_parses():
    keyring = parse_keyring(generate_keyring_document("m7"))
    assert keyring.active_id == "m7"
    assert len(keyring.active_key) == 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"active": "m1"}), "missing entries: audit_key, blind_index_key, master_keys"),
        (doc(master_keys={}), "master_keys must be a non-empty object"),
        (doc(master_keys={"m1": "!!!"}), "master key 'm1' is not valid base64"),
        (doc(master_keys={"m1": base64.b64encode(b"short").decode()}), "must be 32 bytes, got 5"),
        (doc(active="m9"), "active master key 'm9' is not in master_keys"),
        (doc(master_keys={"bad id!": KEY}), "invalid master key id"),
        (doc(blind_index_key=123), "blind_index_key must be a base64 string"),
    ],
)
def test_malformed_keyring_is_refused_with_a_clear_message(text, message):
    with pytest.raises(KeyringError) as excinfo:
        parse_keyring(text)
    assert message in str(excinfo.value)


def test_missing_master_key_names_the_key_id():
    keyring = parse_keyring(doc())
    with pytest.raises(KeyNotFound) as excinfo:
        keyring.master_key("m2025")
    assert "'m2025'" in str(excinfo.value)
    assert KEY not in str(excinfo.value)


def test_add_master_key_keeps_old_keys_and_activates_the_new_one():
    new = parse_keyring(add_master_key(doc(), "m2"))
    assert new.active_id == "m2"
    assert set(new.master_keys) == {"m1", "m2"}
    with pytest.raises(KeyringError):
        add_master_key(doc(), "m1")
