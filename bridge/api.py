"""The AP-facing API, v1 (django-ninja): movement slots as JSON, CSV and ICS; custody events,
unavailability windows and movement outcomes pushed by the prison side.

Every request goes through ``bridge.auth.authorize`` (the ``BridgeToken`` auth of each
operation). Every answer to an authenticated client, 304 included, is recorded as a
BRIDGE_PULL access event in the transaction that computed it; every push, accepted or
refused, as a BRIDGE_PUSH. Errors carry a generic message only.
"""

from __future__ import annotations

import datetime
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as RequestInvalid
from ninja.security.base import AuthBase
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from appointments import movements as agenda
from usmp.core import dates
from usmp.core.errors import ApiError, api_error

from . import access, auth, feeds, inbound, policy
from .models import Scope
from .schemas import (
    REF_PATTERN,
    CustodyEventIn,
    ErrorOut,
    FeedOut,
    MovementOutcomeIn,
    PushIn,
    PushOut,
    UnavailabilityIn,
    request_body,
)


class BridgeToken(AuthBase):
    """``Authorization: Bearer <token>`` for SCOPE, through ``auth.authorize``. Not ninja's
    HttpBearer: that one logs the header of another scheme when DEBUG is on."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, scope: str, kind: str = "movements") -> None:
        super().__init__()
        self.scope = scope
        self.kind = kind

    def __call__(self, request: HttpRequest) -> auth.Caller:
        return auth.authorize(request, scope=self.scope, kind=self.kind)


class BridgePull(BridgeToken):
    """The pulls' auth: a remembered client's pull of an unchanged feed is decided, counted
    and recorded in one statement (``auth.authorize_pull``); any other goes through
    ``auth.authorize`` and the feed's transaction (``pull``). A pull whose ``since`` does
    not parse takes the full path, so that its 422 records no pull."""

    def __call__(self, request: HttpRequest) -> auth.Caller:
        now = timezone.now().replace(microsecond=0)
        try:
            parse_since(request.GET.get("since"))
        except _BadSince:
            return super().__call__(request)
        fast = auth.authorize_pull(
            request, scope=self.scope, now=now, feed_version=feeds.cached_version(now)
        )
        if fast is None:
            return super().__call__(request)
        request.bridge_pull = fast  # type: ignore[attr-defined]
        return fast.caller


class BridgeAPI(NinjaAPI):
    def get_root_path(self, path_params: dict[str, Any]) -> str:
        # Mounted inside the "bridge" namespace, without ninja's api-root page.
        return reverse("bridge:v1:openapi-json").removesuffix("openapi.json")


api = BridgeAPI(
    title="Cloison bridge",
    version="1",
    description=(
        "Movement slots for the prison administration: who must be moved where and when, "
        "nothing else. Authenticate with `Authorization: Bearer <token>`; a token is never "
        "accepted in the address."
    ),
    urls_namespace="v1",
    docs_url=None,
)

READ = BridgePull(Scope.MOVEMENTS_READ)


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string", **schema}}


ETAG = _header("Weak validator of the movements in this format (not of generated_at)")
CACHE_CONTROL = _header("Always `no-store, private`")
RETRY_AFTER = _header("Seconds until the next minute", pattern=r"^[0-9]+$")
WWW_AUTHENTICATE = _header("`Bearer`")
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    405: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    500: ErrorOut,
}
PUSH_ERRORS_OUT: dict[int, Any] = {**ERRORS, 409: ErrorOut, 413: ErrorOut, 415: ErrorOut}


def _headers(success: tuple[int, ...], *, pull: bool) -> dict[int, Any]:
    """The headers of each answer, for the OpenAPI document (ninja declares none). Keys are
    ints, as ninja's own: they merge into its responses."""
    responses: dict[int, Any] = {
        401: {"headers": {"WWW-Authenticate": WWW_AUTHENTICATE}},
        429: {"headers": {"Retry-After": RETRY_AFTER}},
    }
    for status in success:
        headers = {"Cache-Control": CACHE_CONTROL}
        if pull:
            headers["ETag"] = ETAG
        responses[status] = {"headers": headers}
    if pull:
        responses[304] = {
            "description": "The movements are those of the ETag sent (no body, no Content-Type)",
            "headers": {"ETag": ETAG, "Cache-Control": CACHE_CONTROL},
        }
    return responses


def _pull_extra(media_type: str | None = None) -> dict[str, Any]:
    responses = _headers((200,), pull=True)
    if media_type is not None:
        responses[200]["content"] = {media_type: {"schema": {"type": "string"}}}
    return {
        "responses": responses,
        "parameters": [
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "An ETag from an earlier answer: 304 while the movements are "
                "unchanged",
                "schema": {"type": "string"},
            }
        ],
    }


def _error(status: int, message: str, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"detail": message}).encode(), status=status, content_type="application/json"
    )
    for name, value in headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store, private"
    return response


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Never reached through BridgeToken (authorize raises BridgeAuthError); kept so that an
    # operation without a credential still answers the generic 401.
    access.unauthenticated(request)
    return _error(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})


@api.exception_handler(auth.BridgeAuthError)
def _auth_error(request: HttpRequest, exc: auth.BridgeAuthError) -> HttpResponse:
    # Recorded by auth.authorize.
    if exc.status == 401:
        return _error(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})
    return _error(exc.status, exc.message)


@api.exception_handler(auth.RateLimited)
def _rate_limited(request: HttpRequest, exc: auth.RateLimited) -> HttpResponse:
    # Recorded by auth.authorize.
    return _error(429, "Too many requests", **{"Retry-After": str(exc.retry_after)})


@api.exception_handler(RequestInvalid)
def _invalid(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
    access.refused(request, kind="invalid_request")
    return _error(422, "Invalid request")


# -- Pulls --------------------------------------------------------------------------------------


class _BadSince(Exception):
    pass


SINCE_DESCRIPTION = (
    "Only the movements whose window ends after this instant: an ISO 8601 date and time "
    "(`2026-11-24T08:00:00+01:00`; without an offset, Paris time). A date alone, a number or "
    "a year far from today is refused (422)."
)


Since = Annotated[str | None, Query(description=SINCE_DESCRIPTION)]


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


CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}


def pull(request: HttpRequest, fmt: str, since: str | None) -> HttpResponse:
    since_at = parse_since(since)
    fast: auth.Pull | None = getattr(request, "bridge_pull", None)
    now = fast.at if fast is not None else timezone.now()
    if fast is not None and fast.recorded:
        # Counted and recorded by the auth's one statement at this feed's version. Another
        # thread may have replaced the worker's entry since: then build without a second event.
        feed = feeds.cached_feed(now, fast.version) or _feed(now, record=None)
    else:
        feed = _feed(now, record=request)
    if since_at is not None:
        feed = feeds.changed_since(feed, since_at)
    tag = feeds.etag(feed, fmt)
    if feeds.etag_matches(request.headers.get("If-None-Match"), tag):
        response = HttpResponse(status=304)
        del response["Content-Type"]  # nothing is sent, so no media type either
    else:
        response = HttpResponse(feeds.render(feed, fmt), content_type=CONTENT_TYPES[fmt])
    response["ETag"] = tag
    response["Cache-Control"] = "no-store, private"
    return response


def _feed(now: datetime.datetime, *, record: HttpRequest | None) -> feeds.Feed:
    """The feed in one transaction, with the pull's access event when RECORD is given."""
    with transaction.atomic():
        feed = feeds.current_feed(now)
        if record is not None:
            access.pulled(record)
    return feed


PULL_RESPONSES: dict[int, Any] = {304: None, **ERRORS}


@api.get(
    "/movements",
    auth=READ,
    response={200: FeedOut, **PULL_RESPONSES},
    url_name="movements",
    summary="Movements in the publication horizon (JSON)",
    openapi_extra=_pull_extra(),
)
def movements(request: HttpRequest, since: Since = None) -> HttpResponse:
    return pull(request, "json", since)


@api.get(
    "/movements.csv",
    auth=READ,
    response={200: str, **PULL_RESPONSES},
    url_name="movements_csv",
    summary="Movements in the publication horizon (CSV)",
    openapi_extra=_pull_extra("text/csv"),
)
def movements_csv(request: HttpRequest, since: Since = None) -> HttpResponse:
    return pull(request, "csv", since)


@api.get(
    "/movements.ics",
    auth=READ,
    response={200: str, **PULL_RESPONSES},
    url_name="movements_ics",
    summary="Movements in the publication horizon (iCalendar)",
    openapi_extra=_pull_extra("text/calendar"),
)
def movements_ics(request: HttpRequest, since: Since = None) -> HttpResponse:
    return pull(request, "ics", since)


# -- Pushes from the prison side ----------------------------------------------------------------

PUSH_MAX_BYTES = 16 * 1024
UNKNOWN_MOVEMENT = (
    "Unknown movement: use an id from the feed, for this prison number, once its window has "
    f"begun (at most {inbound.OUTCOME_LOOKBACK_DAYS} days ago)"
)
OUTCOME_CODE = "outcome_code"
# The answer to each refusal of appointments.movements, by its code: a status and a generic
# message, never the refusal's own words.
PUSH_ERRORS = MappingProxyType(
    {
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
        agenda.PUSH_ID_REUSED: ApiError(409, "This id was already used with another body"),
        OUTCOME_CODE: ApiError(422, "A code is required when not performed, and only then"),
    }
)
# A movement outcome names its movement by the feed's id: a prison number that matches no
# patient there is an unknown movement.
OUTCOME_ERRORS = MappingProxyType(
    {**PUSH_ERRORS, agenda.UNKNOWN_PRISON_NUMBER: ApiError(422, UNKNOWN_MOVEMENT)}
)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bounded_body(request: HttpRequest) -> bytes:
    """The request body: 413 beyond PUSH_MAX_BYTES (before it is read), 415 when a body
    comes as anything but JSON."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > PUSH_MAX_BYTES:
        raise _Refused(413, "Payload too large")
    # Django reads CONTENT_LENGTH bytes at most (none without it), already checked.
    body = request.body
    if len(body) > PUSH_MAX_BYTES:
        raise _Refused(413, "Payload too large")
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if body and media_type != "application/json":
        raise _Refused(415, "Unsupported media type: send application/json")
    return body


def _canonical_digest(push: BaseModel) -> str:
    """HMAC-SHA256 of the push as validated, under a key of the keyring (the push holds a
    prison number, which an unkeyed hash would give away to whoever tries every number):
    the same push resent with other spacing, key order or UTC offset has the same digest."""

    def canonical(value: object) -> object:
        if isinstance(value, datetime.datetime):
            return value.astimezone(datetime.UTC).isoformat()
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value

    fields = {name: canonical(value) for name, value in push.model_dump().items()}
    text = json.dumps([type(push).__name__, fields], sort_keys=True, separators=(",", ":"))
    return hmac.digest(policy.push_digest_key(), text.encode(), "sha256").hex()


# Applies a validated push for a caller: True when recorded, False when a duplicate; a
# refusal raises ValidationError with a code of its ANSWERS.
Apply = Callable[[Any, auth.Caller, str], bool]


@dataclass(frozen=True)
class Push:
    kind: str
    apply: Apply
    answers: Mapping[str, ApiError]
    # The body's schema; None for a withdrawal, whose reference is in the address.
    schema: type[PushIn] | None = None


def _push(request: HttpRequest, spec: Push, ref: str | None = None) -> HttpResponse:
    """The one responder of every push (the three bodies and the withdrawal): bounded body,
    JSON only, schema (or the reference's format), then the service in a transaction that
    also records the access event. Every refusal is recorded."""
    caller: auth.Caller = request.auth  # type: ignore[attr-defined]
    pushed: Any
    try:
        if spec.schema is None:
            if ref is None or not re.fullmatch(REF_PATTERN, ref):
                ref = ""
                raise _Refused(404, "Not found")
            pushed, digest = ref, ""
        else:
            ref = ""
            body = _bounded_body(request)
            try:
                pushed = spec.schema.model_validate_json(body)
            except PydanticValidationError:
                raise _Refused(422, "Invalid request") from None
            ref, digest = pushed.id, _canonical_digest(pushed)
        try:
            with transaction.atomic():
                changed = spec.apply(pushed, caller, digest)
                access.pushed(request, kind=spec.kind, ref=ref)
        except ValidationError as exc:
            refusal = api_error(exc, spec.answers)
            raise _Refused(refusal.status, refusal.message) from None
    except _Refused as refused:
        access.refused(request, kind=spec.kind, ref=ref or "")
        return _error(refused.status, refused.message)
    if spec.schema is None:
        return _json(200, {"id": ref, "status": "withdrawn" if changed else "duplicate"})
    return _json(
        201 if changed else 200, {"id": ref, "status": "recorded" if changed else "duplicate"}
    )


def _json(status: int, payload: dict[str, str]) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload).encode(), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store, private"
    return response


def _custody(event: CustodyEventIn, caller: auth.Caller, digest: str) -> bool:
    return agenda.custody_event_record(
        prison_number=event.prison_number,
        kind=event.kind,
        date=event.date,
        client_ref=event.id,
        acting_client_label=caller.label,
        push_digest=digest,
    ).created


def _unavailability(window: UnavailabilityIn, caller: auth.Caller, digest: str) -> bool:
    return agenda.unavailability_record(
        prison_number=window.prison_number,
        start=window.start,
        end=window.end,
        client_ref=window.id,
        acting_client_label=caller.label,
        push_digest=digest,
    )


def _outcome(report: MovementOutcomeIn, caller: auth.Caller, digest: str) -> bool:
    if (report.outcome == "done") != (report.code is None):
        raise ValidationError("code and outcome disagree", code=OUTCOME_CODE)
    prison_number = agenda.checked_prison_number(report.prison_number)
    if agenda.movement_outcome_known(report.id, digest):
        return False
    movement = inbound.resolve_movement(prison_number, report.movement_id)
    if movement is None:
        raise ValidationError("no such movement", code=agenda.OUTCOME_INVALID)
    return agenda.movement_outcome_record(
        prison_number=movement.prison_number,
        movement_point=movement.location,
        window_start=movement.start,
        window_end=movement.end,
        outcome=report.outcome,
        code=report.code or "",
        client_ref=report.id,
        acting_client_label=caller.label,
        push_digest=digest,
    ).created


def _withdraw(ref: str, caller: auth.Caller, _digest: str) -> bool:
    return agenda.unavailability_withdraw(client_ref=ref, acting_client_label=caller.label)


CUSTODY = Push("custody_event", _custody, PUSH_ERRORS, CustodyEventIn)
UNAVAILABILITY = Push("unavailability", _unavailability, PUSH_ERRORS, UnavailabilityIn)
WITHDRAWAL = Push("unavailability", _withdraw, PUSH_ERRORS)
OUTCOME = Push("movement_outcome", _outcome, OUTCOME_ERRORS, MovementOutcomeIn)
PUSH_RESPONSES: dict[int, Any] = {200: PushOut, 201: PushOut, **PUSH_ERRORS_OUT}


def _push_extra(schema: type[BaseModel]) -> dict[str, Any]:
    return request_body(schema) | {"responses": _headers((200, 201), pull=False)}


@api.post(
    "/custody-events",
    auth=BridgeToken(Scope.CUSTODY_WRITE, CUSTODY.kind),
    response=PUSH_RESPONSES,
    url_name="custody_events",
    summary="Record an arrival, release or transfer (idempotent by id)",
    openapi_extra=_push_extra(CustodyEventIn),
)
def custody_events(request: HttpRequest) -> HttpResponse:
    return _push(request, CUSTODY)


@api.post(
    "/unavailabilities",
    auth=BridgeToken(Scope.CUSTODY_WRITE, UNAVAILABILITY.kind),
    response=PUSH_RESPONSES,
    url_name="unavailabilities",
    summary="Say that a detainee cannot be brought between two times (idempotent by id)",
    openapi_extra=_push_extra(UnavailabilityIn),
)
def unavailabilities(request: HttpRequest) -> HttpResponse:
    return _push(request, UNAVAILABILITY)


@api.delete(
    "/unavailabilities/{ref}",
    auth=BridgeToken(Scope.CUSTODY_WRITE, WITHDRAWAL.kind),
    response={200: PushOut, **ERRORS},
    url_name="unavailability",
    summary="Withdraw an unavailability window this client pushed",
    openapi_extra={"responses": _headers((200,), pull=False)},
)
def unavailability_withdraw(request: HttpRequest, ref: str) -> HttpResponse:
    return _push(request, WITHDRAWAL, ref)


@api.post(
    "/movement-outcomes",
    auth=BridgeToken(Scope.CUSTODY_WRITE, OUTCOME.kind),
    response=PUSH_RESPONSES,
    url_name="movement_outcomes",
    summary="Report whether a published movement was performed (idempotent by id)",
    openapi_extra=_push_extra(MovementOutcomeIn),
)
def movement_outcomes(request: HttpRequest) -> HttpResponse:
    return _push(request, OUTCOME)
