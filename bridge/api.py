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
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as RequestInvalid
from ninja.security import HttpBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from appointments import movements as agenda
from usmp.core import dates
from usmp.core.errors import ApiError, api_error
from usmp.core.net import client_ip

from . import access, auth, feeds, inbound, policy
from .models import BridgeClient, Scope


class BridgeToken(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> BridgeClient | None:
        try:
            client = auth.resolve_client(token)
        except auth.BridgeAuthError as exc:
            access.unauthenticated(request, revoked_client=exc.revoked_client_id)
            raise
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
    # No Authorization header, or not a Bearer one (a bad token is recorded where resolved).
    access.unauthenticated(request)
    return _error(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})


@api.exception_handler(auth.BridgeAuthError)
def _auth_error(request: HttpRequest, exc: auth.BridgeAuthError) -> HttpResponse:
    if exc.status == 401:
        return _error(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})
    return _error(exc.status, exc.message)


@api.exception_handler(auth.RateLimited)
def _rate_limited(request: HttpRequest, exc: auth.RateLimited) -> HttpResponse:
    access.rate_limited(request, exc.client_id)
    return _error(429, "Too many requests", **{"Retry-After": str(exc.retry_after)})


@api.exception_handler(RequestInvalid)
def _invalid(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
    access.refused(request, kind="invalid_request")
    return _error(422, "Invalid request")


def authorize(request: HttpRequest, scope: str, *, object_type: str = "") -> BridgeClient:
    """Address, scope and rate for the client the token resolved to."""
    client: BridgeClient = request.auth  # type: ignore[attr-defined]
    if not auth.address_allowed(client, client_ip(request)) or scope not in client.scopes:
        access.refused(request, kind=object_type or "movements")
        raise auth.BridgeForbidden
    auth.check_rate(client)
    return client


class _BadSince(Exception):
    pass


def parse_since(value: str | None) -> datetime.datetime | None:
    """ISO 8601 datetime; a date-only or numeric value, or a year out of
    dates.BRIDGE_SINCE, is refused (422); naive is local."""
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
    if not dates.BRIDGE_SINCE.contains(parsed.date()):
        raise _BadSince
    return parsed


@api.exception_handler(_BadSince)
def _bad_since(request: HttpRequest, exc: Exception) -> HttpResponse:
    access.refused(request, kind="invalid_since")
    return _error(422, "Invalid since: expected an ISO 8601 datetime")


Renderer = Callable[[feeds.Feed], bytes]
FORMATS: dict[str, tuple[str, Renderer]] = {
    "json": ("application/json", feeds.as_json),
    "csv": ("text/csv; charset=utf-8", feeds.as_csv),
    "ics": ("text/calendar; charset=utf-8", feeds.as_ics),
}


def pull(request: HttpRequest, fmt: str, since: str | None) -> HttpResponse:
    authorize(request, Scope.MOVEMENTS_READ)
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
        access.pulled(request)
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


# -- Pushes from the prison side ------------------------------------------------------------

CUSTODY_MAX_BYTES = 16 * 1024
REF_PATTERN = rf"^[A-Za-z0-9._-]{{1,{agenda.CLIENT_REF_MAX_LENGTH}}}$"
UNKNOWN_MOVEMENT = (
    "Unknown movement: use an id from the feed, for this prison number, once its window has "
    f"begun (at most {inbound.OUTCOME_LOOKBACK_DAYS} days ago)"
)
# The answer to each refusal of appointments.movements, by its code: a status and a generic
# message, never the refusal's own words.
PUSH_ERRORS = {
    agenda.INVALID_PRISON_NUMBER: ApiError(422, "Invalid prison number"),
    agenda.UNKNOWN_PRISON_NUMBER: ApiError(422, "Unknown prison number"),
    agenda.CUSTODY_INCONSISTENT: ApiError(422, "Inconsistent custody event"),
    agenda.UNAVAILABILITY_INVALID: ApiError(
        422,
        "Invalid window: the end must follow the start, at most 7 days later, not in the past "
        "and at most a year ahead",
    ),
    agenda.UNKNOWN_REFERENCE: ApiError(404, "Not found"),
    agenda.OUTCOME_INVALID: ApiError(422, UNKNOWN_MOVEMENT),
    agenda.MOVEMENT_CANCELLED: ApiError(422, "This movement was cancelled"),
    agenda.OUTCOME_CONFLICT: ApiError(409, "An outcome is already recorded for this movement"),
}
# A movement outcome names its movement by the feed's id: a prison number that matches no
# patient there is an unknown movement.
OUTCOME_ERRORS = {**PUSH_ERRORS, agenda.UNKNOWN_PRISON_NUMBER: ApiError(422, UNKNOWN_MOVEMENT)}


def _agenda_year(value: datetime.date) -> datetime.date:
    """A pushed date or time whose year is far from today is refused (422) before it is used."""
    day = value.date() if isinstance(value, datetime.datetime) else value
    if not dates.AGENDA.contains(day):
        raise ValueError("implausible year")
    return value


AgendaDate = Annotated[datetime.date, AfterValidator(_agenda_year)]
AgendaDatetime = Annotated[AwareDatetime, AfterValidator(_agenda_year)]


class CustodyEventIn(BaseModel):
    """An arrival, release or transfer, with its date. No reason is asked. A plain pydantic
    model, validated from the JSON bytes: ninja's Schema would validate in Python mode, where
    a strict date refuses the ISO string."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=REF_PATTERN, description="The client's reference")
    prison_number: str = Field(min_length=1, max_length=32)
    kind: Literal["arrival", "release", "transfer"]
    date: AgendaDate


class UnavailabilityIn(BaseModel):
    """The detainee cannot be brought between two times (court, visiting room...). No reason
    is asked. At most 7 days long, not over yet, at most a year ahead."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=REF_PATTERN, description="The client's reference")
    prison_number: str = Field(min_length=1, max_length=32)
    start: AgendaDatetime
    end: AgendaDatetime


class MovementOutcomeIn(BaseModel):
    """What became of a published movement: done, or not performed with a code. The movement
    is named by the id the feed gave it; its window must have begun in the last 7 days."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=REF_PATTERN, description="The client's reference")
    movement_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    prison_number: str = Field(min_length=1, max_length=32)
    outcome: Literal["done", "not_performed"]
    code: Literal["escort_unavailable", "detainee_refused", "security_incident"] | None = Field(
        default=None, description="Required when not performed, absent when done"
    )


class PushOut(Schema):
    id: str
    status: Literal["recorded", "duplicate", "withdrawn"]


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


def _push_refused(
    request: HttpRequest, status: int, message: str, ref: str = "", kind: str = "custody_event"
) -> HttpResponse:
    access.refused(request, kind=kind, ref=ref)
    return _error(status, message)


def _service_refused(
    request: HttpRequest,
    exc: ValidationError,
    ref: str,
    kind: str,
    answers: Mapping[str, ApiError] = PUSH_ERRORS,
) -> HttpResponse:
    refusal = api_error(exc, answers)
    return _push_refused(request, refusal.status, refusal.message, ref, kind)


def _client_label(client: BridgeClient) -> str:
    return f"{client.establishment} (#{client.pk})"


def _request_body(schema: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }


def _push_body(
    request: HttpRequest, schema: type[BaseModel], kind: str
) -> tuple[BridgeClient, Any] | HttpResponse:
    """The authorised client and the validated push, or the refusal (recorded)."""
    client = authorize(request, Scope.CUSTODY_WRITE, object_type=kind)
    try:
        body = _bounded_body(request)
    except _TooLarge:
        return _push_refused(request, 413, "Payload too large", kind=kind)
    try:
        return client, schema.model_validate_json(body)
    except PydanticValidationError:
        return _push_refused(request, 422, "Invalid request", kind=kind)


def _pushed(request: HttpRequest, kind: str, ref: str, created: bool) -> HttpResponse:
    """The answer to an accepted push; its access event is written in the caller's
    transaction."""
    access.pushed(request, kind=kind, ref=ref)
    if created:
        return _json(201, {"id": ref, "status": "recorded"})
    return _json(200, {"id": ref, "status": "duplicate"})


def _json(status: int, payload: dict[str, str]) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload).encode(), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store, private"
    return response


@api.post(
    "/custody-events",
    response={200: PushOut, 201: PushOut, 413: ErrorOut, **ERRORS},
    url_name="custody_events",
    summary="Record an arrival, release or transfer (idempotent by id)",
    openapi_extra=_request_body(CustodyEventIn),
)
def custody_events(request: HttpRequest) -> HttpResponse:
    pushed = _push_body(request, CustodyEventIn, "custody_event")
    if isinstance(pushed, HttpResponse):
        return pushed
    client, event = pushed
    try:
        with transaction.atomic():
            result = agenda.custody_event_record(
                prison_number=event.prison_number,
                kind=event.kind,
                date=event.date,
                client_ref=event.id,
                acting_client_label=_client_label(client),
            )
            return _pushed(request, "custody_event", event.id, result.created)
    except ValidationError as exc:
        return _service_refused(request, exc, event.id, "custody_event")


@api.post(
    "/unavailabilities",
    response={200: PushOut, 201: PushOut, 413: ErrorOut, **ERRORS},
    url_name="unavailabilities",
    summary="Say that a detainee cannot be brought between two times (idempotent by id)",
    openapi_extra=_request_body(UnavailabilityIn),
)
def unavailabilities(request: HttpRequest) -> HttpResponse:
    pushed = _push_body(request, UnavailabilityIn, "unavailability")
    if isinstance(pushed, HttpResponse):
        return pushed
    client, window = pushed
    try:
        with transaction.atomic():
            created = agenda.unavailability_record(
                prison_number=window.prison_number,
                start=window.start,
                end=window.end,
                client_ref=window.id,
                acting_client_label=_client_label(client),
            )
            return _pushed(request, "unavailability", window.id, created)
    except ValidationError as exc:
        return _service_refused(request, exc, window.id, "unavailability")


@api.delete(
    "/unavailabilities/{ref}",
    response={200: PushOut, 404: ErrorOut, **ERRORS},
    url_name="unavailability",
    summary="Withdraw an unavailability window this client pushed",
)
def unavailability_withdraw(request: HttpRequest, ref: str) -> HttpResponse:
    client = authorize(request, Scope.CUSTODY_WRITE, object_type="unavailability")
    if not re.fullmatch(REF_PATTERN, ref):
        return _push_refused(request, 404, "Not found", "", "unavailability")
    try:
        with transaction.atomic():
            changed = agenda.unavailability_withdraw(
                client_ref=ref, acting_client_label=_client_label(client)
            )
            access.pushed(request, kind="unavailability", ref=ref)
    except ValidationError as exc:
        return _service_refused(request, exc, ref, "unavailability")
    return _json(200, {"id": ref, "status": "withdrawn" if changed else "duplicate"})


@api.post(
    "/movement-outcomes",
    response={200: PushOut, 201: PushOut, 409: ErrorOut, 413: ErrorOut, **ERRORS},
    url_name="movement_outcomes",
    summary="Report whether a published movement was performed (idempotent by id)",
    openapi_extra=_request_body(MovementOutcomeIn),
)
def movement_outcomes(request: HttpRequest) -> HttpResponse:
    pushed = _push_body(request, MovementOutcomeIn, "movement_outcome")
    if isinstance(pushed, HttpResponse):
        return pushed
    client, report = pushed
    kind = "movement_outcome"
    if (report.outcome == "done") != (report.code is None):
        return _push_refused(
            request, 422, "A code is required when not performed, and only then", report.id, kind
        )
    try:
        with transaction.atomic():
            prison_number = agenda.checked_prison_number(report.prison_number)
            if agenda.movement_outcome_known(report.id):
                return _pushed(request, kind, report.id, False)
            movement = inbound.resolve_movement(prison_number, report.movement_id)
            if movement is None:
                return _push_refused(request, 422, UNKNOWN_MOVEMENT, report.id, kind)
            result = agenda.movement_outcome_record(
                prison_number=movement.prison_number,
                movement_point=movement.location,
                window_start=movement.start,
                window_end=movement.end,
                outcome=report.outcome,
                code=report.code or "",
                client_ref=report.id,
                acting_client_label=_client_label(client),
            )
            return _pushed(request, kind, report.id, result.created)
    except ValidationError as exc:
        return _service_refused(request, exc, report.id, kind, OUTCOME_ERRORS)
