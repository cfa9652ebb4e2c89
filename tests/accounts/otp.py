"""Second factors for the tests: enrol a TOTP application and compute its codes as the
user's phone would (django-otp's own TOTP), mark a test client's session verified."""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from usmp.accounts.factors import VERIFIED_AT
from usmp.accounts.models import SealedTOTPDevice, User


def enrol_totp(user: User) -> SealedTOTPDevice:
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or SealedTOTPDevice.enrol(user=user, name="Test", confirmed=True)


def totp_code(device: TOTPDevice, *, offset: int = 0) -> str:
    """The code the application shows now, or OFFSET steps away. A code already accepted
    (django-otp refuses replays within a step) is skipped for the next one, which the
    server's tolerance of one step accepts."""
    device = SealedTOTPDevice.objects.get(pk=device.pk)  # its sealed secret, as stored
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    t = totp.t() + offset
    if offset == 0 and device.last_t >= t:
        t = device.last_t + 1
    totp.time = float(device.t0 + (t - device.drift) * device.step) + 1
    return f"{totp.token():0{device.digits}d}"


def mark_verified(client: Client, user: User) -> None:
    """The session has passed a second factor (a device kept for the tests)."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="test-client", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[VERIFIED_AT] = time.time()
    session.save()
