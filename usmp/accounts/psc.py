"""Pro Santé Connect (the ANS's OpenID Connect service: CPS card or e-CPS app) as a login
option, with mozilla-django-oidc. Off unless USMP_PSC_ISSUER is set.

A health professional whose RPPS number (the ``SubjectNameID`` claim) is linked to an
active account logs in, and the session counts as strongly authenticated: the CPS card or
e-CPS is itself a second factor. Nothing is created from the provider's claims.

mozilla-django-oidc 5 reads fixed endpoint settings, does not check the token's audience
or issuer, and lets an expired token's error through as a server error: the endpoints come
from the provider's discovery document here, and ``Backend._verify_jws`` checks signature,
audience, issuer and expiry, each refusal with its reason."""

from __future__ import annotations

import time
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from .models import User

DEVICE_NAME = "Pro Santé Connect"
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


class Unavailable(Exception):
    """The provider did not answer, or answered nonsense."""


class Refused(SuspiciousOperation):
    """The provider's answer does not log anyone in; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def enabled() -> bool:
    return bool(settings.USMP_PSC_ISSUER)


def issuer() -> str:
    return str(settings.USMP_PSC_ISSUER).rstrip("/")


def discovery() -> dict[str, Any]:
    """The provider's discovery document (kept 10 minutes)."""
    cached = _cache.get(issuer())
    if cached is not None and time.monotonic() - cached[0] < 600:
        return cached[1]
    try:
        response = requests.get(
            f"{issuer()}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise Unavailable from error
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer():
        raise Unavailable
    if not all(isinstance(document.get(key), str) for key in _ENDPOINTS.values()):
        raise Unavailable
    _cache[issuer()] = (time.monotonic(), document)
    return document


def setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, the endpoints taken from discovery."""
    if attr in _ENDPOINTS:
        return discovery()[_ENDPOINTS[attr]]
    if attr == "OIDC_RP_CLIENT_ID":
        return settings.USMP_PSC_CLIENT_ID
    return import_from_settings(attr, *args)


class Backend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """Authenticates the OpenID Connect callback only (never a password login)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Settings are read when a callback arrives, not for every password login.
        self.UserModel = User

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    def authenticate(self, request: Any, **kwargs: Any) -> User | None:
        if request is None or "nonce" not in kwargs or not enabled():
            return None
        try:
            self.OIDC_OP_TOKEN_ENDPOINT = setting("OIDC_OP_TOKEN_ENDPOINT")
            self.OIDC_OP_USER_ENDPOINT = setting("OIDC_OP_USER_ENDPOINT")
            self.OIDC_OP_JWKS_ENDPOINT = setting("OIDC_OP_JWKS_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = settings.USMP_PSC_CLIENT_ID
            self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
            self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
            self.OIDC_RP_IDP_SIGN_KEY = None
            user: User | None = super().authenticate(request, **kwargs)
        except (Unavailable, requests.RequestException):
            request.psc_refusal = "unavailable"
            return None
        except Refused as refusal:
            request.psc_refusal = refusal.reason
            return None
        if user is None and not getattr(request, "psc_refusal", ""):
            request.psc_refusal = "unknown_rpps"
        return user

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=discovery()["issuer"],
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Refused("expired") from None
        except jwt.InvalidAudienceError:
            raise Refused("audience") from None
        except jwt.PyJWTError:
            raise Refused("invalid_token") from None
        return claims

    def retrieve_matching_jwk(self, token: str) -> Any:
        """The provider's signing key for TOKEN: by its ``kid``, or the only key of its
        algorithm when the header names none (mozilla-django-oidc fails on that)."""
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        try:
            header = jwt.get_unverified_header(token)
            keys = [
                k for k in response.json()["keys"] if k.get("alg", header["alg"]) == header["alg"]
            ]
        except (jwt.PyJWTError, ValueError, KeyError, TypeError, AttributeError):
            raise Refused("invalid_token") from None
        if "kid" in header:
            keys = [k for k in keys if k.get("kid") == header["kid"]]
        if len(keys) != 1:
            raise Refused("invalid_token")
        return jwt.PyJWK(keys[0])

    def get_user(self, user_id: Any) -> User | None:
        # A deactivated account's session ends here as with a password (ModelBackend).
        return User.objects.filter(pk=user_id, is_active=True).first()

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(rpps_of(claims))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        rpps = rpps_of(claims)
        if not rpps:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(rpps=rpps, is_active=True)


def rpps_of(claims: dict[str, Any]) -> str:
    value = claims.get(settings.USMP_PSC_RPPS_CLAIM)
    return value.strip() if isinstance(value, str) else ""
