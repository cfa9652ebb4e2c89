"""WebAuthn security keys and passkeys (django-otp-webauthn) as a second factor only.

The relying party and the allowed origins come from ``USMP_WEBAUTHN_ORIGINS``: a key is
bound to the host name it was registered under. The library's ceremony views are wrapped
(``usmp.accounts.views``) so that every verification, success or failure, is an access
event and counts toward the lockout like a wrong code."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django_otp_webauthn.helpers import WebAuthnHelper


def origins() -> list[str]:
    return list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)


def relying_party_id() -> str:
    first = origins()[:1]
    return (urlsplit(first[0]).hostname or "") if first else ""


class Helper(WebAuthnHelper):  # type: ignore[misc]
    def get_relying_party_domain(self) -> str:
        return relying_party_id()

    def get_allowed_origins(self) -> list[str]:
        return origins()
