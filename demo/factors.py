"""The demo accounts' second factor: a TOTP application key per account, printed by
`make run` beside the logins (development only), so that a newcomer can log in with any
authenticator application, or with `scripts/totp_code.py <key>`."""

from __future__ import annotations

import base64

from usmp.accounts.models import SealedTOTPDevice, User

from .unit import DEMO_USERS

DEVICE_NAME = "Démo (clé affichée par make run)"


def key_text(device: SealedTOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def demo_second_factors() -> list[tuple[str, str]]:
    """Each demo account with its TOTP key (base32), the device made if missing."""
    rows = []
    for user in User.objects.filter(username__in=[d.username for d in DEMO_USERS]).order_by("id"):
        device = SealedTOTPDevice.objects.filter(
            user=user, name=DEVICE_NAME, confirmed=True
        ).first()
        if device is None:
            device = SealedTOTPDevice.enrol(user=user, name=DEVICE_NAME, confirmed=True)
        rows.append((user.username, key_text(device)))
    return rows
