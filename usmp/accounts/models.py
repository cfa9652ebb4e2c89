from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_otp.models import DeviceManager
from django_otp.plugins.otp_totp.models import TOTPDevice

from usmp.crypto.fields import EncryptedBinaryField, EncryptedModel
from usmp.crypto.models import DataKey

from .roles import CLINICAL_ROLES, Role

# A TOTP secret's length: 160 bits, as RFC 4226 recommends and django-otp's default.
SECRET_BYTES = 20


class User(AbstractUser):
    """A member of the health unit's staff.

    Superusers (IT administrators) do NOT implicitly hold the permissions of the protected
    apps (clinical and identifying data): those come from role groups only.
    """

    # Who made the account in the admin: never the one who confirms its clinical roles.
    created_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )

    # The health professional's RPPS number as Pro Santé Connect gives it (SubjectNameID):
    # linked by whoever manages accounts, it lets the professional log in with the CPS card.
    rpps = models.CharField(
        _("RPPS number"), max_length=16, unique=True, null=True, blank=True, default=None
    )
    # Changed when the account's second factors change: every session made before ends
    # (it is part of the session's auth hash, as the password is).
    security_stamp = models.CharField(max_length=32, blank=True, editable=False)
    # Set with a temporary password (account created or password reset in the product): the
    # next login goes to the password change before anything else (usmp.accounts.middleware).
    must_change_password = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        key_salt = "usmp.accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}|{self.security_stamp}", secret=secret, algorithm="sha256"
        ).hexdigest()

    @cached_property
    def roles(self) -> frozenset[str]:
        if not self.is_active or not self.pk:
            return frozenset()
        return frozenset(self.groups.values_list("name", flat=True))

    @property
    def is_clinician(self) -> bool:
        return bool(self.roles & CLINICAL_ROLES)

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in sorted(self.roles) if r in Role.values]

    @cached_property
    def _role_permissions(self) -> frozenset[str]:
        if not self.is_active or not self.pk:
            return frozenset()
        from django.contrib.auth.models import Permission

        rows = Permission.objects.filter(group__user=self).values_list(
            "content_type__app_label", "codename"
        )
        return frozenset(f"{app}.{code}" for app, code in rows)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if perm.split(".", 1)[0] in settings.USMP_PROTECTED_APP_LABELS:
            if self.is_superuser:
                # The IT administrator never reads clinical or identifying data, even if
                # someone added the account to a clinical group.
                return False
            if obj is not None:
                # Object permissions (guardian) are checked by the domain's access_* functions.
                return False
            return perm in self._role_permissions
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if app_label in settings.USMP_PROTECTED_APP_LABELS:
            if self.is_superuser:
                return False
            return any(p.startswith(f"{app_label}.") for p in self._role_permissions)
        return super().has_module_perms(app_label)


class FailureCount(models.Model):
    """Failed logins and second-factor codes of one account or one source address within
    the lockout window (usmp.accounts.lockout). A counter, not a record: the access events
    are the record."""

    class Scope(models.TextChoices):
        ACCOUNT = "account", _("Account")
        ADDRESS = "address", _("Source address")

    scope = models.CharField(max_length=8, choices=Scope.choices)
    # The username as typed (case-folded) or the source address.
    key = models.CharField(max_length=150)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("failure count")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="failure_count_key"),
        ]

    def __str__(self) -> str:
        return f"FailureCount {self.scope} {self.pk}"


class RoleChange(models.Model):
    """A clinical role (or the medical lead's) proposed for an account: it takes effect only
    once a second person, the unit's medical lead, confirms it (usmp.accounts.role_changes)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REFUSED = "refused", _("Refused")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_changes")
    role = models.CharField(max_length=32)
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("role change")
        verbose_name_plural = _("role changes")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(status="pending"),
                name="one_pending_role_change",
            ),
        ]

    def __str__(self) -> str:
        return f"RoleChange {self.pk} {self.role} {self.status}"

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role in Role.values else self.role


class TOTPSecret(EncryptedModel):
    """The secret of a TOTP application, sealed under a data key of its own (rotated, backed
    up and verified with every other encrypted value). The django-otp device row it belongs
    to holds a random decoy in its ``key`` column, from which no code can be computed: the
    device is used through ``SealedTOTPDevice``, whose ``bin_key`` is this secret."""

    data_key_purposes = {"data_key": DataKey.Purpose.SECOND_FACTOR}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.OneToOneField(
        TOTPDevice, on_delete=models.CASCADE, related_name="sealed_secret"
    )
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    secret = EncryptedBinaryField(key_field="data_key")

    class Meta:
        verbose_name = _("TOTP secret")
        verbose_name_plural = _("TOTP secrets")
        default_permissions = ()

    def __str__(self) -> str:
        return f"TOTPSecret {self.pk}"


class SealedDeviceManager(DeviceManager):  # type: ignore[misc] # django-otp is untyped
    """Only the devices whose secret is sealed, with it: a device row without one (made
    outside Cloison, say in a shell) has only a decoy key and is never found here."""

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset: models.QuerySet[Any] = (
            super()
            .get_queryset()
            .filter(sealed_secret__isnull=False)
            .select_related("sealed_secret__data_key")
        )
        return queryset


class SealedTOTPDevice(TOTPDevice):  # type: ignore[misc] # django-otp is untyped
    """django-otp's TOTP device with its secret read from ``TOTPSecret`` (verification,
    enrolment's QR code): the only class Cloison verifies TOTP codes with, and its manager
    the only way to them."""

    objects = SealedDeviceManager()

    class Meta:
        proxy = True
        verbose_name = _("TOTP application")
        verbose_name_plural = _("TOTP applications")
        default_permissions = ()

    @property
    def bin_key(self) -> bytes:
        secret: bytes = self.sealed_secret.secret
        return secret

    @classmethod
    def enrol(cls, *, user: Any, name: str, confirmed: bool = False) -> SealedTOTPDevice:
        """A new device with a fresh secret, sealed; its own ``key`` column keeps
        django-otp's random default as the decoy."""
        device: SealedTOTPDevice = cls.objects.create(user=user, name=name, confirmed=confirmed)
        TOTPSecret(device=device, secret=secrets.token_bytes(SECRET_BYTES)).save()
        return device
