"""Refusal of guessing: an account, or a source address, that failed too often within the
window is locked for a while, or until a coordinator lifts it. Wrong passwords and wrong
second-factor codes (or a refused security key) count alike.

An own counter rather than django-axes: axes sees only the password step (its backend),
keeps its own tables of usernames and addresses outside the tamper-evident audit trail, and
would need a second mechanism for second-factor codes. Here both steps call ``failure``,
and locking, refusing while locked and lifting are access events."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from usmp.access import record
from usmp.access.viewer import Viewer

from .models import FailureCount

if TYPE_CHECKING:
    from .models import User

Scope = FailureCount.Scope


@dataclass(frozen=True)
class Lock:
    scope: str
    key: str
    until: datetime.datetime


def _limit(scope: str) -> int:
    if scope == Scope.ACCOUNT:
        return int(settings.USMP_LOCKOUT_ACCOUNT_FAILURES)
    return int(settings.USMP_LOCKOUT_ADDRESS_FAILURES)


def _keys(username: str, source_ip: str | None) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    if username.strip():
        keys.append((Scope.ACCOUNT, username.strip().casefold()[:150]))
    if source_ip:
        keys.append((Scope.ADDRESS, source_ip))
    return keys


def locked(username: str, source_ip: str | None) -> Lock | None:
    """The lock that refuses this account or this address now, if any."""
    now = timezone.now()
    for scope, key in _keys(username, source_ip):
        row = FailureCount.objects.filter(scope=scope, key=key, locked_until__gt=now).first()
        if row is not None and row.locked_until is not None:
            return Lock(scope, key, row.locked_until)
    return None


def failure(*, username: str, source_ip: str | None, user: User | None = None) -> Lock | None:
    """Count one failure for the account and the address; lock what reached its limit.
    Returns the lock made, if this failure made one."""
    now = timezone.now()
    window = datetime.timedelta(seconds=settings.USMP_LOCKOUT_WINDOW_SECONDS)
    made = None
    with transaction.atomic():
        for scope, key in _keys(username, source_ip):
            row, _created = FailureCount.objects.select_for_update().get_or_create(
                scope=scope, key=key, defaults={"window_start": now}
            )
            if row.locked_until is not None and row.locked_until > now:
                continue  # already locked: the refusal itself is recorded by the caller
            if row.window_start < now - window:
                row.failures, row.window_start, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= _limit(scope):
                row.locked_until = now + datetime.timedelta(seconds=settings.USMP_LOCKOUT_SECONDS)
                made = Lock(scope, key, row.locked_until)
                # A lockout is always its own event, never folded into the anonymous
                # refusals of the minute (hence a "system" viewer when nobody is known).
                record.denied(
                    Viewer(user=user, source_ip=source_ip, is_system=user is None),
                    record.Target(record.Action.LOCKOUT, object_type=scope, object_id=key),
                    purpose="",
                )
            row.save(update_fields=["failures", "window_start", "locked_until"])
    return made


def success(*, username: str) -> None:
    """A complete login (password and second factor) clears the account's failures; the
    address keeps its count (other accounts may be guessed from it)."""
    key = username.strip().casefold()
    FailureCount.objects.filter(scope=Scope.ACCOUNT, key=key, locked_until__isnull=True).delete()


def current() -> list[FailureCount]:
    """The locks in force, for the coordinator's page."""
    return list(
        FailureCount.objects.filter(locked_until__gt=timezone.now()).order_by("locked_until")
    )


def unlock(*, lock_id: int, acting_user: User, source_ip: str | None) -> bool:
    """Lift a lock before its time (the coordinator). Recorded as an access event."""
    with transaction.atomic():
        row = FailureCount.objects.select_for_update().filter(pk=lock_id).first()
        if row is None or row.locked_until is None or row.locked_until <= timezone.now():
            return False
        record.allowed(
            Viewer(user=acting_user, source_ip=source_ip),
            record.Target(record.Action.UNLOCK, object_type=row.scope, object_id=row.key),
            purpose=record.Purpose.WRITE,
        )
        FailureCount.objects.filter(pk=row.pk).delete()
    return True
