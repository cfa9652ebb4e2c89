"""rotate_keys: re-wraps every data key, keeps every plaintext, survives interruption."""

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from dossiers.models import Patient
from tests.factories import make_patient
from usmp.crypto import services as crypto_services
from usmp.crypto.keyring import add_master_key
from usmp.crypto.models import DataKey

pytestmark = pytest.mark.django_db


def plaintext_digest() -> str:
    h = hashlib.sha256()
    for p in Patient.objects.select_related("identity_key").order_by("pk"):
        for value in (p.prison_number, p.last_name, p.first_name, p.birth_date, p.sex, p.ins):
            h.update(repr(value).encode())
    return h.hexdigest()


@pytest.fixture
def rotated_keyring(settings):
    return add_master_key(settings.USMP_KEYRING, "test2")


def run_rotate(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_keys", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_rotation_rewraps_every_key_and_keeps_every_plaintext(rotated_keyring):
    for i in range(5):
        make_patient(last_name=f"Rotation{chr(65 + i)}")
    before = plaintext_digest()
    with override_settings(USMP_KEYRING=rotated_keyring):
        output = run_rotate()
        assert "Re-wrapped 15 data key(s)." in output  # identity + 2 dossiers each
        assert "Verified 25 value(s) in 5 row(s)." in output  # 5 fields x 5 rows, INS unset
        assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {"test2"}
        assert plaintext_digest() == before
        # Once re-wrapped, the old master key can leave the keyring.
        only_new = json.loads(rotated_keyring)
        del only_new["master_keys"]["test1"]
    with override_settings(USMP_KEYRING=json.dumps(only_new)):
        assert plaintext_digest() == before
        assert "Re-wrapped 0 data key(s)." in run_rotate()


def test_interrupted_rotation_can_be_resumed(rotated_keyring, monkeypatch):
    for i in range(4):
        make_patient(last_name=f"Reprise{chr(65 + i)}")
    before = plaintext_digest()
    original = DataKey.rewrap_under_active
    calls = {"n": 0}

    def flaky(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the operator's Ctrl-C in the middle of a run
        return original(self)

    with override_settings(USMP_KEYRING=rotated_keyring):
        monkeypatch.setattr(DataKey, "rewrap_under_active", flaky)
        with pytest.raises(KeyboardInterrupt):
            crypto_services.data_keys_rewrap(batch_size=2)
        assert DataKey.objects.filter(master_key_id="test2").count() == 2  # first batch kept
        monkeypatch.setattr(DataKey, "rewrap_under_active", original)
        assert "Re-wrapped 10 data key(s)." in run_rotate()  # 12 keys, 2 done before
        assert plaintext_digest() == before


def test_verification_reports_a_row_that_does_not_decrypt(rotated_keyring):
    a, b = make_patient(), make_patient()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dossiers_patient SET last_name = (SELECT last_name FROM dossiers_patient "
            "WHERE id = %s) WHERE id = %s",
            [a.pk, b.pk],
        )
    with pytest.raises(CommandError, match="1 value\\(s\\) failed to decrypt"):
        run_rotate("--verify-only")


def test_rotation_without_the_old_key_fails_clearly(settings):
    make_patient()
    keyring = json.loads(add_master_key(settings.USMP_KEYRING, "test2"))
    del keyring["master_keys"]["test1"]
    with (
        override_settings(USMP_KEYRING=json.dumps(keyring)),
        pytest.raises(CommandError, match="'test1' is not in the keyring"),
    ):
        run_rotate()


def test_rotation_reports_keys_it_could_not_rewrap(rotated_keyring, monkeypatch):
    make_patient()
    # A key locked by a concurrent transaction is skipped by the batch; the command must say so.
    monkeypatch.setattr(crypto_services, "data_keys_rewrap", lambda **kwargs: 0)
    with (
        override_settings(USMP_KEYRING=rotated_keyring),
        pytest.raises(CommandError, match="3 data key\\(s\\) are still under an older master key"),
    ):
        run_rotate()
