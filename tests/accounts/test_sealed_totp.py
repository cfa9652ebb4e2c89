"""TOTP secrets are sealed: never in clear in the database, verified only through
SealedTOTPDevice, rotated and verified with every encrypted value, gone with a reset; the
migration seals the keys of devices enrolled before it, and its reverse gives them back."""

from __future__ import annotations

import importlib
import time
from binascii import hexlify, unhexlify
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.otp import totp_code
from tests.factories import PASSWORD, make_user
from usmp.accounts import factors
from usmp.accounts.models import SECRET_BYTES, SealedTOTPDevice, TOTPSecret
from usmp.crypto.models import DataKey
from usmp.crypto.services import encrypted_models, encrypted_rows_verify

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("usmp.accounts.migrations.0004_sealed_totp_secrets")


def _code(key: bytes) -> str:
    totp = TOTP(key)
    totp.time = time.time()
    return f"{totp.token():06d}"


def _stored(device_id: int) -> tuple[str, bytes]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.key, s.secret FROM otp_totp_totpdevice d "
            "JOIN accounts_totpsecret s ON s.device_id = d.id WHERE d.id = %s",
            [device_id],
        )
        key, sealed = cursor.fetchone()
    return key, bytes(sealed)


def test_enrolment_seals_the_secret_and_only_the_sealed_secret_verifies():
    nurse = make_user("nurse")
    client = Client()
    client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    page = client.get(reverse("enrol"))
    device = SealedTOTPDevice.objects.get(user=nurse, confirmed=False)
    secret = device.bin_key
    assert len(secret) == SECRET_BYTES
    # The page shows the sealed secret (grouped base32), the database never holds it.
    shown = page.context["secret"].replace(" ", "")
    import base64

    assert base64.b32decode(shown + "=" * (-len(shown) % 8)) == secret
    decoy, sealed = _stored(device.pk)
    assert unhexlify(decoy) != secret
    assert secret not in sealed and hexlify(secret) not in sealed
    # A code from the decoy is refused, the application's code accepted.
    assert client.post(reverse("enrol"), {"code": _code(unhexlify(decoy))}).status_code == 400
    response = client.post(reverse("enrol"), {"code": totp_code(device)})
    assert response.status_code == 302
    assert SealedTOTPDevice.objects.get(pk=device.pk).confirmed


def test_a_device_made_outside_cloison_never_counts():
    """A TOTP row with a key its maker knows (a shell, a script): no factor, no login."""
    physician = make_user("physician")
    rogue = TOTPDevice.objects.create(user=physician, name="rogue", confirmed=True)
    assert not factors.has_factor(physician)
    client = Client()
    client.post(reverse("login"), {"username": physician.username, "password": PASSWORD})
    # The account has no usable factor: it is sent to enrol, and the rogue key's code does
    # not complete the login at the second step either.
    assert client.get(reverse("home"))["Location"].startswith(reverse("enrol"))
    client.post(reverse("second_factor"), {"code": _code(rogue.bin_key)})
    assert client.get(reverse("home"))["Location"].startswith(reverse("enrol"))
    assert not client.session.get(factors.VERIFIED_AT)


def test_the_admin_offers_no_second_factor_device():
    from django.contrib import admin
    from django_otp.plugins.otp_static.models import StaticDevice

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


def test_a_reset_removes_the_secret_and_its_data_key():
    nurse = make_user("nurse")
    coordinator = make_user("coordinator")
    device = SealedTOTPDevice.enrol(user=nurse, name="phone", confirmed=True)
    data_key_id = device.sealed_secret.data_key_id
    factors.factors_reset(user=nurse, acting_user=coordinator, source_ip=None)
    assert not TOTPSecret.objects.filter(device_id=device.pk).exists()
    assert not DataKey.objects.filter(pk=data_key_id).exists()


def test_sealed_secrets_are_checked_with_every_encrypted_value():
    nurse = make_user("nurse")
    device = SealedTOTPDevice.enrol(user=nurse, name="phone", confirmed=True)
    assert TOTPSecret.objects.filter(device=device).exists()
    assert TOTPSecret in encrypted_models()
    report = encrypted_rows_verify()
    assert report.values >= 1 and not report.failures
    # A secret moved to another row does not decrypt: the report names it.
    other = SealedTOTPDevice.enrol(user=make_user("physician"), name="phone", confirmed=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_totpsecret SET secret = (SELECT secret FROM accounts_totpsecret "
            "WHERE device_id = %s) WHERE device_id = %s",
            [device.pk, other.pk],
        )
    failures = encrypted_rows_verify().failures
    assert len(failures) == 1 and failures[0].startswith("accounts.TOTPSecret")


def test_the_migration_seals_existing_keys_and_its_reverse_gives_them_back():
    nurse = make_user("nurse")
    known = bytes(range(20))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0, digits, "
            "tolerance, drift, last_t, throttling_failure_timestamp, "
            "throttling_failure_count) VALUES (%s, 'old', true, %s, 30, 0, 6, 1, 0, -1, NULL, 0) "
            "RETURNING id",
            [nurse.pk, hexlify(known).decode()],
        )
        (device_id,) = cursor.fetchone()
    editor = SimpleNamespace(connection=connection)
    MIGRATION.seal_keys(None, editor)
    decoy, sealed = _stored(device_id)
    assert unhexlify(decoy) != known and known not in sealed
    device = SealedTOTPDevice.objects.get(pk=device_id)
    assert device.bin_key == known  # decrypted through the model, as the login does
    assert factors.has_factor(nurse)
    MIGRATION.unseal_keys(None, editor)
    assert not TOTPSecret.objects.filter(device_id=device_id).exists()
    assert TOTPDevice.objects.get(pk=device_id).bin_key == known


def test_a_secret_deleted_any_other_way_takes_its_key_too():
    """Its device deleted (a shell, the admin, a cascade) or the secret row itself: no
    second-factor key is left behind; other keys are never touched."""
    nurse = make_user("nurse")
    first = SealedTOTPDevice.enrol(user=nurse, name="phone", confirmed=True)
    second = SealedTOTPDevice.enrol(user=nurse, name="tablet", confirmed=True)
    keys = [first.sealed_secret.data_key_id, second.sealed_secret.data_key_id]
    untouched = DataKey.objects.exclude(pk__in=keys).count()
    TOTPDevice.objects.filter(pk=first.pk).delete()
    assert not DataKey.objects.filter(pk=keys[0]).exists()
    assert DataKey.objects.filter(pk=keys[1]).exists()
    TOTPSecret.objects.filter(device_id=second.pk).delete()
    assert not DataKey.objects.filter(pk__in=keys).exists()
    assert DataKey.objects.count() == untouched
