"""Failed logins count toward the lockout (usmp.accounts.lockout); the access event itself
is written by usmp.access.signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from usmp.core.net import client_ip

from . import lockout


@receiver(user_login_failed, dispatch_uid="usmp.accounts.lockout")
def count_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    lockout.failure(
        username=str(credentials.get("username", "")),
        source_ip=client_ip(request) if request is not None else None,
    )
