"""The AP-facing API, v1 (django-ninja): movement slots as JSON, CSV and ICS; custody events
pushed by the prison side.

Every answer to an authenticated client, 304 included, is recorded as a BRIDGE_PULL access
event in the transaction that computed it; every push, accepted or refused, as a BRIDGE_PUSH.
Errors carry a generic message only.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from appointments import movements as agenda
from usmp.audit.services import Action, Outcome, access_record
from usmp.core.net import client_ip

from . import auth, feeds, policy
from .models import BridgeClient, Scope


class BridgeToken(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> BridgeClient | None:
        client = auth.resolve_client(token)
        request.bridge_client = client  # type: ignore[attr-defined]
        return client


class BridgeAPI(NinjaAPI):
    def get_root_path(self, path_params: dict[str, Any]) -> str:
        # Mounted inside the "bridge" namespace, without ninja's api-root page.
        return reverse("bridge:v1:openapi-json").removesuffix("openapi.json")


api = BridgeAPI(
    title="Cloison bridge",
    version="1",
    description=(
        "Movement slots for the prison administration: who must be moved where and when, "
        "nothing else."
    ),
    urls_namespace="v1",
    docs_url=None,
    auth=BridgeToken(),
)


class ErrorOut(Schema):
    detail: Any


class MovementOut(Schema):
    id: str
    prison_number: str
    start: datetime.datetime
    end: datetime.datetime
    location: str
    status: Literal["scheduled", "cancelled"]


class FeedOut(Schema):
    generated_at: datetime.datetime
    horizon_end: datetime.datetime
    movements: list[MovementOut]


ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}


def _error(status: int, message: str, **headers: str) -> HttpResponse:
    response = HttpResponse(
        b'{"detail":"%s"}' % message.encode(), status=status, content_type="application/json"
    )
    for name, value in headers.items():
        response[name] = value
    return response


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})


@api.exception_handler(auth.BridgeAuthError)
def _auth_error(request: HttpRequest, exc: auth.BridgeAuthError) -> HttpResponse:
    if exc.status == 401:
        return _error(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})
    return _error(exc.status, exc.message)


@api.exception_handler(auth.RateLimited)
def _rate_limited(request: HttpRequest, exc: auth.RateLimited) -> HttpResponse:
    return _error(429, "Too many requests", **{"Retry-After": str(exc.retry_after)})


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _error(422, "Invalid request")


def authorize(
    request: HttpRequest, scope: str, *, action: str = Action.BRIDGE_PULL, object_type: str = ""
) -> BridgeClient:
    """Address, scope and rate for the client the token resolved to."""
    client: BridgeClient = request.auth  # type: ignore[attr-defined]
    if not auth.address_allowed(client, client_ip(request)) or scope not in client.scopes:
        access_record(
            request=request,
            action=action,
            outcome=Outcome.DENIED,
            object_type=object_type or "bridge_client",
            object_id="" if object_type else str(client.pk),
        )
        raise auth.BridgeForbidden
    auth.check_rate(client)
    return client


class _BadSince(Exception):
    pass


def parse_since(value: str | None) -> datetime.datetime | None:
    """ISO 8601 datetime; a date-only or numeric value is refused (422), naive is local."""
    if value is None:
        return None
    text = value.strip()
    # An unencoded "+01:00" arrives as " 01:00" in a query string.
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    if len(text) < 16 or "T" not in text.upper():
        raise _BadSince
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise _BadSince from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=policy.unit_tz())
    return parsed


@api.exception_handler(_BadSince)
def _bad_since(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(422, "Invalid since: expected an ISO 8601 datetime")


Renderer = Callable[[feeds.Feed], bytes]
FORMATS: dict[str, tuple[str, Renderer]] = {
    "json": ("application/json", feeds.as_json),
    "csv": ("text/csv; charset=utf-8", feeds.as_csv),
    "ics": ("text/calendar; charset=utf-8", feeds.as_ics),
}


def pull(request: HttpRequest, fmt: str, since: str | None) -> HttpResponse:
    client = authorize(request, Scope.MOVEMENTS_READ)
    since_at = parse_since(since)
    content_type, render = FORMATS[fmt]
    with transaction.atomic():
        feed = feeds.build_feed()
        if since_at is not None:
            feed = feeds.changed_since(feed, since_at)
        tag = feeds.etag(feed, fmt)
        if feeds.etag_matches(request.headers.get("If-None-Match"), tag):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(render(feed), content_type=content_type)
        access_record(
            request=request,
            action=Action.BRIDGE_PULL,
            object_type="bridge_client",
            object_id=str(client.pk),
        )
    response["ETag"] = tag
    response["Cache-Control"] = "no-store, private"
    return response


@api.get(
    "/movements",
    response={200: FeedOut, 304: None, **ERRORS},
    url_name="movements",
    summary="Movements in the publication horizon (JSON)",
)
def movements(request: HttpRequest, since: str | None = None) -> HttpResponse:
    return pull(request, "json", since)


@api.get(
    "/movements.csv",
    response={200: str, 304: None, **ERRORS},
    url_name="movements_csv",
    summary="Movements in the publication horizon (CSV)",
    openapi_extra={
        "responses": {
            "200": {"description": "OK", "content": {"text/csv": {"schema": {"type": "string"}}}}
        }
    },
)
def movements_csv(request: HttpRequest, since: str | None = None) -> HttpResponse:
    return pull(request, "csv", since)


@api.get(
    "/movements.ics",
    response={200: str, 304: None, **ERRORS},
    url_name="movements_ics",
    summary="Movements in the publication horizon (iCalendar)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "OK",
                "content": {"text/calendar": {"schema": {"type": "string"}}},
            }
        }
    },
)
def movements_ics(request: HttpRequest, since: str | None = None) -> HttpResponse:
    return pull(request, "ics", since)


# -- Custody events (push) ---------------------------------------------------------------------

CUSTODY_MAX_BYTES = 16 * 1024


class CustodyEventIn(BaseModel):
    """An arrival, release or transfer, with its date. No reason is asked. A plain pydantic
    model, validated from the JSON bytes: ninja's Schema would validate in Python mode, where
    a strict date refuses the ISO string."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="The client's reference")
    prison_number: str = Field(min_length=1, max_length=32)
    kind: Literal["arrival", "release", "transfer"]
    date: datetime.date


class CustodyEventOut(Schema):
    id: str
    status: Literal["recorded", "duplicate"]


class _TooLarge(Exception):
    pass


def _bounded_body(request: HttpRequest) -> bytes:
    """The request body, refused (_TooLarge) beyond CUSTODY_MAX_BYTES before it is read."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > CUSTODY_MAX_BYTES:
        raise _TooLarge
    # Read at most one byte more than allowed: a body without a length cannot be larger.
    body = request.body if hasattr(request, "_body") else request.read(CUSTODY_MAX_BYTES + 1)
    if len(body) > CUSTODY_MAX_BYTES:
        raise _TooLarge
    return body


def _push_refused(request: HttpRequest, status: int, message: str, ref: str = "") -> HttpResponse:
    access_record(
        request=request,
        action=Action.BRIDGE_PUSH,
        outcome=Outcome.DENIED,
        object_type="custody_event",
        object_id=ref,
    )
    return _error(status, message)


def _json(status: int, payload: dict[str, str]) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload).encode(), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store, private"
    return response


@api.post(
    "/custody-events",
    response={200: CustodyEventOut, 201: CustodyEventOut, 413: ErrorOut, **ERRORS},
    url_name="custody_events",
    summary="Record an arrival, release or transfer (idempotent by id)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CustodyEventIn.model_json_schema()}},
        }
    },
)
def custody_events(request: HttpRequest) -> HttpResponse:
    client = authorize(
        request, Scope.CUSTODY_WRITE, action=Action.BRIDGE_PUSH, object_type="custody_event"
    )
    try:
        body = _bounded_body(request)
    except _TooLarge:
        return _push_refused(request, 413, "Payload too large")
    try:
        event = CustodyEventIn.model_validate_json(body)
    except PydanticValidationError:
        return _push_refused(request, 422, "Invalid request")
    try:
        with transaction.atomic():
            result = agenda.custody_event_record(
                prison_number=event.prison_number,
                kind=event.kind,
                date=event.date,
                client_ref=event.id,
                acting_client_label=f"{client.establishment} (#{client.pk})",
            )
            access_record(
                request=request,
                action=Action.BRIDGE_PUSH,
                object_type="custody_event",
                object_id=event.id,
            )
    except agenda.UnknownPrisonNumber:
        return _push_refused(request, 422, "Unknown prison number", event.id)
    except agenda.CustodyInconsistent:
        return _push_refused(request, 422, "Inconsistent custody event", event.id)
    if result.created:
        return _json(201, {"id": event.id, "status": "recorded"})
    return _json(200, {"id": event.id, "status": "duplicate"})
