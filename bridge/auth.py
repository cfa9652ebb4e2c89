"""Who is calling the bridge, and may they: one pipeline for the API and the print page.

``authorize(request, scope=..., device=...)`` runs the whole sequence (credential, state,
address, scope, rate) and records every refusal; nothing else in the bridge checks a token.

Credentials:
- the API takes ``Authorization: Bearer clb_<43 url-safe characters>`` only (any other
  scheme, a query string or a cookie is refused: a token never travels in an address);
- the guards' printable list takes an enrolled workstation's cookie ``cld_<...>`` only
  (see ``bridge.services.device_enrol``).
Only the sha256 of either is stored. A failure says "unauthorised" or "forbidden", never
whether the credential exists, was revoked or came from the wrong address.

Cost: no query for a client this worker remembers, one statement otherwise. The request
is counted in the client's current minute in memory that the host's workers share
(``bridge.admission``), and a remembered client is trusted only while no client has changed
since it was read, so a revocation or a rotation refuses the very next request. A pull by
a remembered client is one prepared statement that records it (``authorize_pull``, below).
No credential, nor any part of one, is ever logged: this
module never passes one to a logger, an exception message or an access event.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from appointments.movements import VERSION_COLUMNS, fold_if_due
from usmp.audit import writer
from usmp.core.db import prepared_one
from usmp.core.net import client_ip

from . import access, admission
from .models import BridgeClient, BridgeDevice

TOKEN_PREFIX = "clb_"  # noqa: S105 - a prefix, not a secret
DEVICE_PREFIX = "cld_"
DEVICE_COOKIE = "cloison_bridge_device"
FINGERPRINT_LENGTH = 10
MAX_TOKEN_LENGTH = 200


class BridgeAuthError(Exception):
    status = 401
    message = "Unauthorized"

    def __init__(self, *, revoked_client_id: int | None = None) -> None:
        super().__init__(self.message)
        # A credential that was valid once (recorded in the audit trail, never told).
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


def new_device_credential() -> str:
    return DEVICE_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """The client a credential stands for, as read by the request's one statement."""

    pk: int
    establishment: str
    scopes: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    rate_limit_per_minute: int
    # This request's rank in the client's current minute.
    count: int
    # The client's creation time in microseconds: with PK, its key in the rate counter.
    epoch: int = 0
    device_id: int | None = None

    @property
    def label(self) -> str:
        """How a push is attributed in the agenda's history."""
        return f"{self.establishment} (#{self.pk})"


_CLIENTS = BridgeClient._meta.db_table
_DEVICES = BridgeDevice._meta.db_table
_CALLER_COLUMNS = (
    "c.id, c.establishment, c.scopes, c.allowed_networks, c.rate_limit_per_minute, "
    "c.revoked_at, c.created_at"
)
_BY_TOKEN_SQL = f"""
SELECT {_CALLER_COLUMNS}, NULL::bigint, c.token_hash
FROM {_CLIENTS} c WHERE c.token_hash = %(hash)s::varchar
"""  # noqa: S608 - table names from the models, values bound
# A workstation counts only while it is neither revoked nor expired and was enrolled since
# the client's last rotation; a revoked client is found (to record it) but never counted.
_BY_DEVICE_SQL = f"""
SELECT {_CALLER_COLUMNS}, d.id, d.credential_hash
FROM {_DEVICES} d JOIN {_CLIENTS} c ON c.id = d.client_id
WHERE d.credential_hash = %(hash)s::varchar AND d.revoked_at IS NULL
  AND d.expires_at > %(now)s::timestamptz
  AND (c.rotated_at IS NULL OR d.created_at >= c.rotated_at)
"""  # noqa: S608 - table names from the models, values bound


def _well_formed(credential: str | None, prefix: str) -> bool:
    return (
        credential is not None
        and len(credential) <= MAX_TOKEN_LENGTH
        and credential.startswith(prefix)
        and credential.isascii()
    )


# -- Remembered clients -------------------------------------------------------------------------
# A worker remembers, for each token it has admitted, the client as read then and the
# clients' generation at the time of that read (bridge.admission): while the generation is
# unchanged and the memory is younger than USMP_BRIDGE_CLIENT_CACHE_SECONDS, the token is
# admitted without a query. Any change of a client or workstation through the application
# changes the generation, in every worker of the host, before its transaction commits and
# again once it has: a revocation or rotation refuses the very next request. A change made
# beside the application (raw SQL) is seen when the memory expires.

KNOWN_MAX = 256


@dataclass(frozen=True, slots=True)
class _Memory:
    caller: Caller
    generation: int
    expires: float  # time.monotonic()


_known: dict[str, _Memory] = {}


def _clock() -> float:
    return time.monotonic()


def _remember(digest: str, caller: Caller, generation: int) -> None:
    if len(_known) >= KNOWN_MAX:
        _known.clear()
    lifetime = settings.USMP_BRIDGE_CLIENT_CACHE_SECONDS
    _known[digest] = _Memory(replace(caller, count=0), generation, _clock() + lifetime)


def forget_clients() -> None:
    """Forget the remembered clients (tests; every next request reads its client)."""
    _known.clear()


def _remembered(digest: str, minute: int) -> Caller | None:
    """The remembered client of DIGEST with this request counted, or None (nothing
    counted) when it is not remembered, its memory expired or any client changed since."""
    memory = _known.get(digest)
    if memory is None:
        return None
    if memory.expires <= _clock():
        _known.pop(digest, None)
        return None
    caller = memory.caller
    rank = admission.count_if_unchanged(caller.pk, caller.epoch, minute, memory.generation)
    if rank is None:
        _known.pop(digest, None)
        return None
    return replace(caller, count=rank)


def _lookup(
    sql: str, credential: str | None, prefix: str, now: datetime.datetime, *, remember: bool
) -> Caller:
    if not _well_formed(credential, prefix):
        raise BridgeAuthError
    assert credential is not None  # noqa: S101 - narrowed by _well_formed
    digest = token_hash(credential)
    minute = admission.minute_of(now)
    if remember and (caller := _remembered(digest, minute)) is not None:
        return caller
    seen = admission.generation()  # before the read: a change after it makes it stale
    row = prepared_one(sql, {"hash": digest, "now": now})
    # The index finds the row; the comparison that decides is constant-time.
    if row is None or not hmac.compare_digest(row[8], digest):
        raise BridgeAuthError
    pk, establishment, scopes, networks, limit, revoked_at, created_at, device_id, _hash = row
    if revoked_at is not None:
        _known.pop(digest, None)
        raise BridgeAuthError(revoked_client_id=pk)
    epoch = admission.epoch_of(created_at)
    caller = Caller(
        pk=pk,
        establishment=establishment,
        scopes=tuple(scopes),
        allowed_networks=tuple(networks),
        rate_limit_per_minute=limit,
        count=admission.count(pk, epoch, minute),
        epoch=epoch,
        device_id=device_id,
    )
    if remember:
        _remember(digest, caller, seen)
    return caller


def client_by_token(token: str | None, now: datetime.datetime | None = None) -> Caller:
    """The active client holding TOKEN, this request counted; else BridgeAuthError."""
    return _lookup(_BY_TOKEN_SQL, token, TOKEN_PREFIX, now or timezone.now(), remember=True)


def client_by_device(credential: str | None, now: datetime.datetime | None = None) -> Caller:
    """The client of the enrolled workstation holding CREDENTIAL, this request counted
    (read at every request: the print page is not a hot path)."""
    return _lookup(_BY_DEVICE_SQL, credential, DEVICE_PREFIX, now or timezone.now(), remember=False)


# -- The pull's one statement ---------------------------------------------------------------------
# A pull by a remembered client (see above) whose scope and address it allows is counted
# without a query, then decided and recorded by one prepared statement: the movement facts'
# version read, and the access event inserted if that version is that of the worker's
# cached feed. Anything else (a token not remembered, a client changed, a scope or address
# the remembered client lacks, a cache miss) goes through ``authorize`` and the feed's
# transaction: the fast path decides nothing the full one would refuse.

_FAST_PULL_SQL = f"""
WITH facts AS (
    SELECT {VERSION_COLUMNS}
), event AS (
    {
    writer.insert_select(
        "FROM facts WHERE facts.version = %(feed_version)s::bigint AND NOT facts.own"
    )
}
)
SELECT facts.version, facts.pending, (SELECT id FROM event)
FROM facts
"""  # noqa: S608 - table names from the models, values bound


@dataclass(frozen=True, slots=True)
class Pull:
    """What the pull's one statement established."""

    caller: Caller
    at: datetime.datetime  # the feed's time (to the second) the pull was decided for
    version: int  # of the movement facts, as the statement saw them
    recorded: bool  # the access event is written: the cached feed at VERSION is the answer


def authorize_pull(
    request: HttpRequest, *, scope: str, now: datetime.datetime, feed_version: int | None
) -> Pull | None:
    """A pull by a remembered client in one statement (see above), or None when the full
    pipeline must run (``authorize``, then the feed's transaction). Raises RateLimited,
    recorded, when the count is beyond the limit."""
    token = bearer_token(request)
    if not _well_formed(token, TOKEN_PREFIX):
        return None
    assert token is not None  # noqa: S101 - narrowed by _well_formed
    digest = token_hash(token)
    memory = _known.get(digest)
    if memory is None:
        return None
    if scope not in memory.caller.scopes or not address_allowed(
        memory.caller.allowed_networks, client_ip(request)
    ):
        return None  # the full pipeline refuses it and records why
    caller = _remembered(digest, admission.minute_of(now))
    if caller is None:  # expired, or a client changed since: the full pipeline decides
        return None
    request.bridge_client = caller  # type: ignore[attr-defined]
    try:
        check_rate(caller, now)
    except RateLimited:
        access.rate_limited(request, caller.pk)
        raise
    event = access.pull_event(request, caller.pk, timezone.now())  # to the microsecond
    row = prepared_one(
        _FAST_PULL_SQL,
        {
            "feed_version": -1 if feed_version is None else feed_version,
            **writer.event_params(event),
        },
    )
    assert row is not None  # noqa: S101 - the statement always returns its one row
    version, pending, event_id = row
    fold_if_due(pending)
    if event_id is not None:
        access.pull_recorded(event, event_id)
    return Pull(caller=caller, at=now, version=int(version), recorded=event_id is not None)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None for any other scheme."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def address_allowed(networks: Sequence[str], address: str | None) -> bool:
    if not networks:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in _network(n) for n in networks)


@lru_cache(maxsize=256)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text, strict=False)


def identify(request: HttpRequest, *, device: bool = False) -> Caller:
    """The caller of REQUEST (credential and state only); a refusal is recorded."""
    try:
        if device:
            return client_by_device(request.COOKIES.get(DEVICE_COOKIE))
        return client_by_token(bearer_token(request))
    except BridgeAuthError as exc:
        access.unauthenticated(request, revoked_client=exc.revoked_client_id)
        raise


def check_rate(caller: Caller, now: datetime.datetime | None = None) -> None:
    """RateLimited when this request is beyond the client's limit for its minute."""
    if caller.count > caller.rate_limit_per_minute:
        second = (now or timezone.now()).second
        raise RateLimited(retry_after=max(1, 60 - second), client_id=caller.pk)


def authorize(
    request: HttpRequest, *, scope: str, kind: str = "movements", device: bool = False
) -> Caller:
    """Credential, state, address, scope and rate, in that order; every refusal recorded
    (KIND names what was asked for). The caller is set on the request for the access
    events written after."""
    caller = identify(request, device=device)
    request.bridge_client = caller  # type: ignore[attr-defined]
    if not address_allowed(caller.allowed_networks, client_ip(request)) or (
        scope not in caller.scopes
    ):
        access.refused(request, kind=kind)
        raise BridgeForbidden
    try:
        check_rate(caller)
    except RateLimited:
        access.rate_limited(request, caller.pk)
        raise
    return caller
