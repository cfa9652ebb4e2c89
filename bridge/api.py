"""The AP-facing API, v1 (django-ninja): movement slots as JSON, CSV and ICS.

Every answer to an authenticated client, 304 included, is recorded as a BRIDGE_PULL access
event in the transaction that computed it. Errors carry a generic message only.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

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


def authorize(request: HttpRequest, scope: str) -> BridgeClient:
    """Address, scope and rate for the client the token resolved to."""
    client: BridgeClient = request.auth  # type: ignore[attr-defined]
    if not auth.address_allowed(client, client_ip(request)) or scope not in client.scopes:
        access_record(
            request=request,
            action=Action.BRIDGE_PULL,
            outcome=Outcome.DENIED,
            object_type="bridge_client",
            object_id=str(client.pk),
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
