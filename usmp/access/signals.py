"""Logins, logouts and failed logins are access events like any other. A failed login is a
refusal of an unauthenticated request: aggregated per source, username and minute."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import record
from .viewer import Viewer


def _viewer(request: Any, user: Any = None) -> Viewer:
    if request is None:
        return Viewer(user=user, is_system=user is None)
    viewer = Viewer.of(request)
    return Viewer(user=user, source_ip=viewer.source_ip) if user is not None else viewer


@receiver(user_logged_in, dispatch_uid="usmp.access.login")
def record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record.allowed(_viewer(request, user), record.Target(record.Action.LOGIN), purpose="")


@receiver(user_logged_out, dispatch_uid="usmp.access.logout")
def record_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record.allowed(_viewer(request, user), record.Target(record.Action.LOGOUT), purpose="")


@receiver(user_login_failed, dispatch_uid="usmp.access.login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # The username typed is kept (staff names, not patients'); the password never is.
    target = record.Target(
        record.Action.LOGIN_FAILED,
        object_type="username",
        object_id=str(credentials.get("username", ""))[:64],
    )
    viewer = Viewer(source_ip=_viewer(request).source_ip) if request is not None else Viewer()
    record.denied(viewer, target, purpose="")
