"""Token -> bridge client: constant-time lookup, scopes, address allow-list, rate limit.

Tokens look like ``clb_<43 url-safe characters>``; only their sha256 is stored. A failure
says nothing beyond "unauthorised" or "forbidden": no hint whether the token exists, was
revoked or came from the wrong address.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from usmp.core.net import client_ip

from .models import BridgeClient, RateCounter, Scope

if TYPE_CHECKING:
    from usmp.accounts.models import User

TOKEN_PREFIX = "clb_"  # noqa: S105 - a prefix, not a secret
DISPLAY_PREFIX_LENGTH = 10
MAX_TOKEN_LENGTH = 200


class BridgeAuthError(Exception):
    status = 401
    message = "Unauthorized"

    def __init__(self, *, revoked_client_id: int | None = None) -> None:
        super().__init__(self.message)
        # A token that was valid once (recorded in the audit trail, never told to the caller).
        self.revoked_client_id = revoked_client_id


class BridgeForbidden(BridgeAuthError):
    status = 403
    message = "Forbidden"


class RateLimited(Exception):
    def __init__(self, retry_after: int, client_id: int = 0) -> None:
        super().__init__("Too many requests")
        self.retry_after = retry_after
        self.client_id = client_id


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    client: BridgeClient
    token: str  # shown once, never stored


def client_create(
    *,
    acting_user: User,
    establishment: str,
    scopes: list[str],
    allowed_networks: list[str] | None = None,
    rate_limit_per_minute: int = 60,
) -> IssuedToken:
    """Create a client and return its token (the only time it is visible)."""
    token = new_token()
    client = BridgeClient.objects.create(
        establishment=establishment,
        token_hash=token_hash(token),
        token_prefix=token[:DISPLAY_PREFIX_LENGTH],
        scopes=sorted(set(scopes)),
        allowed_networks=[
            str(ipaddress.ip_network(n, strict=False)) for n in allowed_networks or []
        ],
        rate_limit_per_minute=rate_limit_per_minute,
        created_by=acting_user,
    )
    return IssuedToken(client=client, token=token)


def client_rotate(*, client: BridgeClient) -> IssuedToken:
    """Replace the token; the old one stops working at once."""
    token = new_token()
    client.token_hash = token_hash(token)
    client.token_prefix = token[:DISPLAY_PREFIX_LENGTH]
    client.rotated_at = timezone.now()
    client.save(update_fields=["token_hash", "token_prefix", "rotated_at"])
    return IssuedToken(client=client, token=token)


def client_revoke(*, client: BridgeClient) -> None:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])


def token_from_request(request: HttpRequest, *, allow_query: bool = False) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query:
        return request.GET.get("token") or None
    return None


def resolve_client(token: str | None) -> BridgeClient:
    """The active client holding TOKEN, or BridgeAuthError."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        raise BridgeAuthError
    digest = token_hash(token)
    client = BridgeClient.objects.filter(token_hash=digest).first()
    # The index finds the row; the comparison that decides is constant-time.
    if client is None or not hmac.compare_digest(client.token_hash, digest):
        raise BridgeAuthError
    if client.revoked_at is not None:
        raise BridgeAuthError(revoked_client_id=client.pk)
    return client


def address_allowed(client: BridgeClient, address: str | None) -> bool:
    if not client.allowed_networks:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in client.allowed_networks)


def check_rate(client: BridgeClient, now: datetime.datetime | None = None) -> None:
    """Count this request in the client's current minute; RateLimited beyond the limit."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    table = RateCounter._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (client_id, minute, count) VALUES (%s, %s, 1) "  # noqa: S608
            "ON CONFLICT (client_id, minute) DO UPDATE SET count = "
            f"{table}.count + 1 RETURNING count",
            [client.pk, minute],
        )
        (count,) = cursor.fetchone()
        if count == 1:
            # First request of a new minute: forget this client's older minutes.
            RateCounter.objects.filter(
                client=client, minute__lt=minute - datetime.timedelta(minutes=5)
            ).delete()
    if count > client.rate_limit_per_minute:
        retry = 60 - now.second if now.second else 60
        raise RateLimited(retry_after=max(1, retry), client_id=client.pk)


def prune_counters(now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = RateCounter.objects.filter(minute__lt=now - datetime.timedelta(minutes=5)).delete()
    return deleted


def authenticate(
    request: HttpRequest, *, scope: str = Scope.MOVEMENTS_READ, allow_query: bool = False
) -> BridgeClient:
    """Token, state, address, scope and rate, in that order."""
    client = resolve_client(token_from_request(request, allow_query=allow_query))
    if not address_allowed(client, client_ip(request)):
        raise BridgeForbidden
    if scope not in client.scopes:
        raise BridgeForbidden
    check_rate(client)
    return client
