"""Writes of the bridge's own data: clients, enrolled workstations, movement waves.

Each takes ``acting_user`` (the coordinator, or None for a workstation enrolled with the
client's token) and is recorded in the write history (django-auditlog, credential hashes
excluded). Secrets are returned once and never stored: only their sha256 is.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as

from . import auth
from .models import BridgeClient, BridgeDevice, MovementWave

if TYPE_CHECKING:
    from usmp.accounts.models import User

DEVICE_LABEL_MAX_LENGTH = 80


def device_lifetime() -> datetime.timedelta:
    """How long an enrolled workstation keeps printing without being enrolled again."""
    return datetime.timedelta(days=int(getattr(settings, "USMP_BRIDGE_DEVICE_DAYS", 90)))


@dataclass(frozen=True)
class IssuedToken:
    client: BridgeClient
    token: str  # shown once, never stored


@dataclass(frozen=True)
class IssuedDevice:
    device: BridgeDevice
    credential: str  # set as the workstation's cookie, never shown nor stored


def client_create(
    *,
    acting_user: User,
    establishment: str,
    scopes: list[str],
    allowed_networks: list[str] | None = None,
    rate_limit_per_minute: int = 60,
) -> IssuedToken:
    """Create a client and return its token (the only time it is visible)."""
    token = auth.new_token()
    with acting_as(acting_user):
        client = BridgeClient.objects.create(
            establishment=establishment,
            token_hash=auth.token_hash(token),
            token_prefix=auth.token_hash(token)[: auth.FINGERPRINT_LENGTH],
            scopes=sorted(set(scopes)),
            allowed_networks=[
                str(ipaddress.ip_network(n, strict=False)) for n in allowed_networks or []
            ],
            rate_limit_per_minute=rate_limit_per_minute,
            created_by=acting_user,
        )
    return IssuedToken(client=client, token=token)


def client_rotate(*, acting_user: User, client: BridgeClient) -> IssuedToken:
    """Replace the token: the old one, and every workstation enrolled before, stop at once."""
    token = auth.new_token()
    client.token_hash = auth.token_hash(token)
    client.token_prefix = client.token_hash[: auth.FINGERPRINT_LENGTH]
    client.rotated_at = timezone.now()
    with acting_as(acting_user):
        client.save(update_fields=["token_hash", "token_prefix", "rotated_at"])
    return IssuedToken(client=client, token=token)


def client_revoke(*, acting_user: User, client: BridgeClient) -> None:
    """End the client: its token and its workstations stop at once."""
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        with acting_as(acting_user):
            client.save(update_fields=["revoked_at"])


def _clean_label(label: str) -> str:
    cleaned = " ".join(label.split())
    if not cleaned or len(cleaned) > DEVICE_LABEL_MAX_LENGTH:
        raise ValidationError(
            _("Name the workstation (at most %(max)d characters), e.g. “Poste bâtiment A”.")
            % {"max": DEVICE_LABEL_MAX_LENGTH},
            code="device_label",
        )
    return cleaned


def device_enrol(*, acting_user: User | None, client_id: int, label: str) -> IssuedDevice:
    """Enrol a workstation for an active client; its credential goes into its cookie."""
    label = _clean_label(label)
    credential = auth.new_device_credential()
    now = timezone.now()
    with transaction.atomic(), acting_as(acting_user):
        client = BridgeClient.objects.select_for_update().filter(pk=client_id).first()
        if client is None or client.revoked_at is not None:
            raise ValidationError(_("This client is revoked."), code="client_revoked")
        device = BridgeDevice.objects.create(
            client=client,
            label=label,
            credential_hash=auth.token_hash(credential),
            created_by=acting_user,
            created_at=now,
            expires_at=now + device_lifetime(),
        )
    return IssuedDevice(device=device, credential=credential)


def device_revoke(*, acting_user: User, device_id: int) -> bool:
    """Stop one workstation; False when it was already stopped or does not exist."""
    device = BridgeDevice.objects.filter(pk=device_id, revoked_at__isnull=True).first()
    if device is None:
        return False
    device.revoked_at = timezone.now()
    with acting_as(acting_user):
        device.save(update_fields=["revoked_at"])  # a save, so the write history has it
    return True


def wave_add(*, acting_user: User, time: datetime.time) -> MovementWave:
    time = time.replace(second=0, microsecond=0)
    if MovementWave.objects.filter(time=time).exists():
        raise ValidationError(_("This wave already exists."), code="wave_exists")
    with acting_as(acting_user):
        return MovementWave.objects.create(time=time)


def wave_delete(*, acting_user: User, wave_id: int) -> bool:
    with acting_as(acting_user):
        wave = MovementWave.objects.filter(pk=wave_id).first()
        if wave is None:
            return False
        wave.delete()
    return True
