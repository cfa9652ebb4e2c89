"""The request's safety net: every refused request leaves a trace.

``AccessMiddleware`` gives each request a fresh record state, writes the refusals that
access functions made during it (after the view, outside its transactions), and records a
refusal for any 401, 403, 404 or 422 answer that nothing recorded (a page rule, a malformed
address, the bridge's validation). ``LoginRequired`` records the refusal of an anonymous
request before redirecting it to the login page. Refusals of unauthenticated requests are
aggregated per source and minute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from . import record
from .rules import request_target
from .viewer import Viewer

REFUSED_STATUSES = frozenset({401, 403, 404, 422, 429})


class AccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = record.begin_request()
        try:
            response = self.get_response(request)
            state = record.request_state()
            assert state is not None  # noqa: S101 - set just above
            record.flush_denials(state)
            if response.status_code in REFUSED_STATUSES and not state.refused:
                record.denied(
                    Viewer.of(request), request_target(request), purpose=record.Purpose.DISPLAY
                )
                record.flush_denials(state)
        finally:
            record.end_request(token)
        return response


class LoginRequired(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, recording the refusal it answers with a redirect."""

    def handle_no_permission(self, request: HttpRequest, view_func: Any) -> HttpResponseRedirect:
        record.denied(Viewer.of(request), request_target(request), purpose=record.Purpose.DISPLAY)
        return super().handle_no_permission(request, view_func)  # type: ignore[no-any-return]
