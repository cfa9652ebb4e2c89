"""Failed logins count toward the lockout (usmp.accounts.lockout; the access event itself
is written by usmp.access.signals); a login notes its time for the session's absolute
lifetime (usmp.accounts.middleware)."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from usmp.core.net import client_ip

from . import lockout

# When the session's login happened (the absolute lifetime counts from it).
LOGIN_AT = "usmp_login_at"


@receiver(user_logged_in, dispatch_uid="usmp.accounts.login_at")
def note_login_time(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session[LOGIN_AT] = time.time()


@receiver(user_login_failed, dispatch_uid="usmp.accounts.lockout")
def count_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    lockout.failure(
        username=str(credentials.get("username", "")),
        source_ip=client_ip(request) if request is not None else None,
    )
