"""The client's address, as the configured proxy chain vouches for it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address the trusted proxies appended to X-Forwarded-For.

    With N trusted proxies, the N-th address from the right of X-Forwarded-For is the one the
    outermost trusted proxy saw; anything left of it is client-supplied and may be forged.
    """
    trusted: int = settings.USMP_TRUSTED_PROXY_COUNT
    remote: str | None = request.META.get("REMOTE_ADDR") or None
    if trusted <= 0:
        return remote
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [p.strip() for p in forwarded.split(",")]
    chain = [p for p in chain if p]
    if len(chain) < trusted:
        return remote
    return chain[-trusted]
