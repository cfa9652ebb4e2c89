"""Recording what an access function read or refused. Every access function goes through
``allowed`` and ``refuse``; the middleware's safety net records the refusals that no access
function recorded (a page rule, a malformed address), so every refused URL leaves a trace,
with the same fields every time.

A read is recorded in the transaction that performs it. A refusal made during a request is
written by the middleware once the view has returned, outside any transaction the view
opened: the exception that carries it rolls those back, never the refusal. Outside a
request (commands, jobs) it is written at once."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

from django.core.exceptions import PermissionDenied
from django.http import Http404

from usmp.audit import writer

from .kinds import Action, Outcome, Purpose
from .viewer import Viewer

if TYPE_CHECKING:
    from usmp.audit.models import AccessEvent

__all__ = ["Action", "Forbidden", "NotFound", "Outcome", "Purpose", "Target"]


@dataclass(frozen=True)
class Target:
    """What was read or refused, as the access event names it: references, never content."""

    action: str
    patient_id: uuid.UUID | None = None
    compartment: str = ""
    object_type: str = ""
    object_id: str = ""
    search_index: str = ""
    break_glass: bool = False


class NotFound(Http404):
    """Refused, and recorded: existence itself is confidential (a 404 page)."""


class Forbidden(PermissionDenied):
    """Refused, and recorded (a 403 page)."""


@dataclass
class RequestState:
    """What the access layer recorded during the current request."""

    pending: list[tuple[Viewer, Target, str]] = field(default_factory=list)
    refusals: int = 0
    events: list[int] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.refusals > 0


_state: ContextVar[RequestState | None] = ContextVar("usmp_access_request", default=None)


def request_state() -> RequestState | None:
    return _state.get()


def begin_request() -> object:
    return _state.set(RequestState())


def end_request(token: object) -> None:
    _state.reset(token)  # type: ignore[arg-type]


def flush_denials(state: RequestState) -> None:
    """Write the refusals of a finished request (the middleware calls it)."""
    while state.pending:
        viewer, target, purpose = state.pending.pop(0)
        _write_denial(viewer, target, purpose=purpose)


def _write_denial(viewer: Viewer, target: Target, *, purpose: str) -> None:
    if viewer.is_anonymous:
        writer.refusal_record(
            source_ip=viewer.source_ip, action=target.action, object_id=target.object_id
        )
    else:
        _write(viewer, target, purpose=purpose, outcome=Outcome.DENIED)


def _write(viewer: Viewer, target: Target, *, purpose: str, outcome: str) -> None:
    event = writer.write_event(
        actor=viewer.user,
        action=target.action,
        outcome=outcome,
        patient_id=target.patient_id,
        compartment=target.compartment,
        object_type=target.object_type,
        object_id=target.object_id,
        search_index=target.search_index,
        break_glass=target.break_glass,
        source_ip=viewer.source_ip,
        client_id=viewer.bridge_client_id,
        purpose=purpose,
    )
    inserted(event)


def inserted(event: AccessEvent) -> None:
    """EVENT was written for the current request (by ``_write`` or by a statement that
    recorded it with other work): the request's state knows it."""
    state = _state.get()
    if state is not None:
        state.events.append(event.pk)


def allowed(viewer: Viewer, target: Target, *, purpose: str) -> None:
    """Record a read that is about to happen, in the transaction that performs it."""
    _write(viewer, target, purpose=purpose, outcome=Outcome.ALLOWED)


def denied(viewer: Viewer, target: Target, *, purpose: str) -> None:
    """Record a refusal. Refusals of unauthenticated requests are aggregated per source
    and minute (usmp.audit.writer.refusal_record)."""
    state = _state.get()
    if state is not None:
        state.refusals += 1
        state.pending.append((viewer, target, purpose))
    else:
        _write_denial(viewer, target, purpose=purpose)


def refuse(viewer: Viewer, target: Target, *, purpose: str, hide: bool = True) -> NoReturn:
    """Record the refusal and raise: NotFound (404) when existence is secret, else
    Forbidden (403)."""
    denied(viewer, target, purpose=purpose)
    raise NotFound if hide else Forbidden
