"""Bridge clients (one per establishment), the unit's movement waves, and the rate counter.

A bridge client is not a user: it has no password, no session, no group, and nothing in
``django.contrib.auth`` refers to it, so it can never log into the UI.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    MOVEMENTS_READ = "movements:read", _("Read movements")
    CUSTODY_WRITE = "custody:write", _("Push custody events")


class BridgeClient(models.Model):
    establishment = models.CharField(_("establishment"), max_length=120)
    # sha256 hex of the token: the token itself is shown once and never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # A fingerprint to tell tokens apart on screen: the first hex digits of the token's hash,
    # never a part of the token itself (which would then be in the database and its logs).
    token_prefix = models.CharField(_("token fingerprint"), max_length=12, editable=False)
    scopes = ArrayField(
        models.CharField(max_length=20, choices=Scope.choices), verbose_name=_("scopes")
    )
    allowed_networks = ArrayField(
        models.CharField(max_length=49),
        verbose_name=_("allowed networks"),
        default=list,
        blank=True,
        help_text=_("CIDR blocks, e.g. 10.20.0.0/16. Empty: any address."),
    )
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=60)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bridge client")
        verbose_name_plural = _("bridge clients")
        default_permissions = ("view", "add", "change")
        ordering = ["establishment", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_limit_per_minute__gte=1)
                & models.Q(rate_limit_per_minute__lte=10_000),
                name="bridgeclient_rate_limit_range",
            ),
        ]

    def __str__(self) -> str:
        return self.establishment

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class MovementWave(models.Model):
    """A time of day at which the prison brings or takes back detainees (local time)."""

    time = models.TimeField(_("time"), unique=True)

    class Meta:
        verbose_name = _("movement wave")
        verbose_name_plural = _("movement waves")
        ordering = ["time"]

    def __str__(self) -> str:
        return self.time.strftime("%H:%M")


class BridgeDevice(models.Model):
    """A guards' workstation enrolled to print a client's movement list.

    It holds a random credential in an HttpOnly cookie (only its sha256 is stored), bound to
    one client: it stops working when it expires, when it is revoked, when its client is
    revoked, and when the client's token is rotated after it was enrolled."""

    client = models.ForeignKey(BridgeClient, on_delete=models.CASCADE, related_name="devices")
    label = models.CharField(_("workstation"), max_length=80)
    credential_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty when enrolled with the client's token on the workstation itself."),
    )
    created_at = models.DateTimeField(_("enrolled at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolled workstation")
        verbose_name_plural = _("enrolled workstations")
        default_permissions = ()
        ordering = ["client", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="bridgedevice_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return self.label
