"""Session policy. A session ends USMP_SESSION_MAX_SECONDS after its login whatever its
activity (the idle timeout is the session cookie's age). And a password alone reaches nothing: beside Django's LoginRequiredMiddleware, every view
needs a session verified by a second factor (django-otp's ``user.is_verified()``).

Open by design: what LoginRequiredMiddleware leaves open (the login page, health check,
language switch, the bridge's token API), and the login steps marked
``second_factor_not_required`` (choosing and checking a factor, enrolment, logout, the
WebAuthn ceremonies). A refusal is recorded like the anonymous one and sends to the second
step: the factor check, or enrolment for an account that has none. An account holding a
temporary password (``must_change_password``) reaches only the password change, once past
its second factor."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from usmp.access import record
from usmp.access.rules import request_target
from usmp.access.viewer import Viewer

from . import factors
from .signals import LOGIN_AT

View = TypeVar("View", bound=Callable[..., Any])


def allowed_before_password_change(view: View) -> View:
    """Mark a view reachable while the account must still change its temporary password."""
    view.allowed_before_password_change = True  # type: ignore[attr-defined]
    return view


def second_factor_not_required(view: View) -> View:
    """Mark a view of the login steps: reachable after the password, before the factor."""
    view.second_factor_required = False  # type: ignore[attr-defined]
    view.allowed_before_password_change = True  # type: ignore[attr-defined]
    return view


def _expired(request: HttpRequest) -> bool:
    started = request.session.get(LOGIN_AT)
    if not isinstance(started, int | float):
        return True
    return time.time() - started > settings.USMP_SESSION_MAX_SECONDS


class SecondFactorRequired:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        user: Any = request.user
        if not user.is_authenticated:
            return None
        open_view = not getattr(view_func, "login_required", True)
        if _expired(request):
            # Past the absolute lifetime, whatever the activity: log in again.
            logout(request)
            return None if open_view else redirect_to_login(request.get_full_path())
        if open_view:
            return None
        if user.is_verified():
            if user.must_change_password and not getattr(
                view_func, "allowed_before_password_change", False
            ):
                # A temporary password (set by the coordinator) is changed first.
                return redirect(reverse("password_change"))
            return None
        if not getattr(view_func, "second_factor_required", True):
            return None
        record.denied(Viewer.of(request), request_target(request), purpose=record.Purpose.DISPLAY)
        step = "second_factor" if factors.has_factor(user) else "enrol"
        return redirect_to_login(request.get_full_path(), reverse(step))
