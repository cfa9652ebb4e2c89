"""Second factors: TOTP applications, recovery codes, WebAuthn security keys (django-otp and
django-otp-webauthn). A login is complete only once one of them verified the session.

Every verification, refusal and enrolment is an access event; wrong codes count toward the
lockout (usmp.accounts.lockout) like wrong passwords."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from usmp.access import record
from usmp.access.viewer import Viewer

from . import alerts, lockout
from .models import SealedTOTPDevice

if TYPE_CHECKING:
    from .models import User

VERIFIED_AT = "usmp_second_factor_at"
TOTP_NAME = "Application TOTP"
RECOVERY_NAME = "Codes de secours"
# Marks a session verified by Pro Santé Connect (a device without codes: django-otp needs
# one to call a session verified).
PSC_NAME = "Pro Santé Connect"


def has_factor(user: User) -> bool:
    """Whether the account has a factor it can use at the second step (a key, an
    application, a recovery code left; Pro Santé Connect's session marker is none)."""
    from django_otp_webauthn.models import WebAuthnCredential

    return bool(
        SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
        or StaticToken.objects.filter(device__user=user).exists()
    )


def fresh(request: HttpRequest) -> bool:
    """Whether the session passed its second factor within USMP_STEP_UP_SECONDS (the
    break-the-glass step-up asks for it again otherwise)."""
    at = request.session.get(VERIFIED_AT)
    return isinstance(at, int | float) and time.time() - at <= settings.USMP_STEP_UP_SECONDS


def step_up(request: HttpRequest) -> HttpResponseRedirect:
    """Send to the second step again, then back to this page."""
    query = urlencode({"step_up": "1", "next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse('second_factor')}?{query}")


def kind(device: Device) -> str:
    if isinstance(device, TOTPDevice):
        return "totp"
    if isinstance(device, StaticDevice) and device.name == PSC_NAME:
        return "pro_sante_connect"
    if isinstance(device, StaticDevice):
        return "recovery_code"
    return "webauthn"


def normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").casefold()


def _event(request: HttpRequest, action: str, object_type: str, *, ok: bool) -> None:
    viewer = Viewer.of(request)
    target = record.Target(action, object_type=object_type)
    if ok:
        record.allowed(viewer, target, purpose="")
    else:
        record.denied(viewer, target, purpose="")


def complete(request: HttpRequest, device: Device) -> None:
    """Mark the session verified by DEVICE: the login is now complete. A new session key
    (the privilege changed), the account's failures cleared, the event recorded."""
    user: Any = request.user
    django_otp.login(request, device)
    request.session.cycle_key()
    request.session[VERIFIED_AT] = time.time()
    lockout.success(username=user.get_username())
    _event(request, record.Action.SECOND_FACTOR, kind(device), ok=True)


def complete_by_pro_sante_connect(request: HttpRequest) -> None:
    """The CPS card or e-CPS was the strong authentication: the session is verified."""
    user: Any = request.user
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=PSC_NAME, defaults={"confirmed": True}
    )
    complete(request, device)


def psc_refused(request: HttpRequest, reason: str) -> None:
    """A Pro Santé Connect login that did not happen: a failed login, with its reason."""
    record.denied(
        Viewer.of(request),
        record.Target(
            record.Action.LOGIN_FAILED, object_type="pro_sante_connect", object_id=reason
        ),
        purpose="",
    )


def enrolled(request: HttpRequest, what: str) -> None:
    """A factor added or replaced: recorded, and the account's other sessions end (a
    session opened by whoever had the old factors must not outlive the change)."""
    _event(request, record.Action.FACTOR_ENROL, what, ok=True)
    factors_changed(request)


def factors_changed(request: HttpRequest) -> None:
    user: Any = request.user
    user.security_stamp = secrets.token_hex(16)
    user.save(update_fields=["security_stamp"])
    update_session_auth_hash(request, user)


def completed_by_enrolment(request: HttpRequest) -> None:
    """A first factor enrolled by an unverified session verifies it (django-otp-webauthn
    marks the session itself): the login is complete, as in ``complete``."""
    user: Any = request.user
    request.session.cycle_key()
    request.session[VERIFIED_AT] = time.time()
    lockout.success(username=user.get_username())
    _event(request, record.Action.SECOND_FACTOR, "webauthn_enrol", ok=True)


def refused(request: HttpRequest, what: str) -> lockout.Lock | None:
    """A wrong code or a refused key: recorded, counted toward the lockout."""
    user: Any = request.user
    _event(request, record.Action.SECOND_FACTOR, what, ok=False)
    return lockout.failure(
        username=user.get_username(), source_ip=Viewer.of(request).source_ip, user=user
    )


def recovery_digest(code: str) -> str:
    """What the database keeps of a recovery code: a keyed digest (django-otp would keep
    the code itself), which django-otp's exact-match check compares as it would the code."""
    return salted_hmac("usmp.accounts.recovery_code", code, algorithm="sha256").hexdigest()[:16]


def verify_code(request: HttpRequest, code: str) -> Device | None:
    """Check a TOTP or recovery code against the user's confirmed devices; complete the
    login with the one that accepts it. A recovery code works once (django-otp deletes it)."""
    user: Any = request.user
    token = normalise(code)
    candidates: list[Device] = [
        *SealedTOTPDevice.objects.filter(user=user, confirmed=True),
        *StaticDevice.objects.devices_for_user(user, confirmed=True),
    ]
    for device in candidates:
        allowed, _why = device.verify_is_allowed()
        given = recovery_digest(token) if isinstance(device, StaticDevice) else token
        if allowed and device.verify_token(given):
            complete(request, device)
            return device
    refused(request, "code")
    return None


def totp_pending(user: User) -> SealedTOTPDevice:
    """The TOTP device being enrolled (not yet confirmed by a code), made if needed."""
    device: SealedTOTPDevice | None = (
        SealedTOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    )
    if device is None:
        with transaction.atomic():
            device = SealedTOTPDevice.enrol(user=user, name=TOTP_NAME)
    return device


def totp_confirm(request: HttpRequest, device: SealedTOTPDevice, code: str) -> bool:
    """Enrolment's proof: the application shows the right code. The device then counts,
    and the session is verified by it."""
    if not device.verify_token(normalise(code)):
        refused(request, "totp_enrol")
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    enrolled(request, "totp")
    if not getattr(request.user, "is_verified", lambda: False)():
        complete(request, device)
    return True


def recovery_codes_issue(request: HttpRequest) -> list[str]:
    """New recovery codes for the user (the old ones stop working); shown once."""
    user: Any = request.user
    count = int(settings.USMP_RECOVERY_CODES)
    with transaction.atomic():
        # The device stays (it may be what verified this session); its codes are replaced.
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
        )
        StaticToken.objects.filter(device=device).delete()
        codes = [StaticToken.random_token() for _ in range(count)]
        StaticToken.objects.bulk_create(
            [StaticToken(device=device, token=recovery_digest(c)) for c in codes]
        )
        enrolled(request, "recovery_codes")
    return [f"{c[:4]}-{c[4:]}" for c in codes]


def has_recovery_codes(user: User) -> bool:
    return bool(StaticToken.objects.filter(device__user=user).exists())


def devices(user: User) -> list[dict[str, Any]]:
    """The user's confirmed factors, for their security page (no secret in it)."""
    from django_otp_webauthn.models import WebAuthnCredential

    rows: list[dict[str, Any]] = []
    for device in [
        *SealedTOTPDevice.objects.filter(user=user, confirmed=True).order_by("id"),
        *WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("id"),
    ]:
        rows.append({"kind": kind(device), "name": device.name})
    remaining = StaticToken.objects.filter(device__user=user).count()
    return rows + ([{"kind": "recovery_code", "name": str(remaining)}] if remaining else [])


def factors_reset(*, user: User, acting_user: User, source_ip: str | None) -> int:
    """A lost key or phone: the coordinator removes the account's factors, so that its next
    login enrols new ones; its sessions end. Returns how many factors were removed."""
    from django_otp_webauthn.models import WebAuthnCredential

    if user.pk == acting_user.pk:
        raise ValidationError(_("Nobody resets their own second factors."), code="own")
    with transaction.atomic():
        removed = 0
        # A sealed secret's data key goes with it (a trigger on accounts_totpsecret, for
        # every way a secret is deleted): nothing can decrypt the secret after.
        for model in (TOTPDevice, StaticDevice, WebAuthnCredential):
            removed += model.objects.filter(user=user).delete()[0]
        user.security_stamp = secrets.token_hex(16)
        user.save(update_fields=["security_stamp"])
        record.allowed(
            Viewer(user=acting_user, source_ip=source_ip),
            record.Target(record.Action.FACTOR_RESET, object_type="user", object_id=str(user.pk)),
            purpose=record.Purpose.WRITE,
        )
        alerts.account_security_changed(user=user, actor=acting_user, change=alerts.FACTORS_RESET)
    return removed
