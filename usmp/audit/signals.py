"""Chain every write-history row; record logins, failed logins and logouts."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import chain
from .models import AccessEvent, ChainLink
from .services import access_record


@receiver(post_save, sender=LogEntry, dispatch_uid="usmp.audit.chain_write")
def chain_write(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if created:
        chain.append(ChainLink.Source.WRITE, instance.pk)


@receiver(user_logged_in, dispatch_uid="usmp.audit.login")
def record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    access_record(request=request, actor=user, action=AccessEvent.Action.LOGIN)


@receiver(user_logged_out, dispatch_uid="usmp.audit.logout")
def record_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        access_record(request=request, actor=user, action=AccessEvent.Action.LOGOUT)


@receiver(user_login_failed, dispatch_uid="usmp.audit.login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # The username typed is kept (staff names, not patients'); the password never is.
    access_record(
        request=request,
        actor=None,
        action=AccessEvent.Action.LOGIN_FAILED,
        outcome=AccessEvent.Outcome.DENIED,
        object_type="username",
        object_id=str(credentials.get("username", ""))[:64],
    )
