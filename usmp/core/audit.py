"""Write history (django-auditlog) registration that never records secrets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditlog import get_logentry_model
from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.db import models
from django.db.models.signals import pre_save

if TYPE_CHECKING:
    from usmp.accounts.models import User


def register_audited(
    model: type[models.Model],
    *,
    m2m_fields: set[str] | None = None,
    exclude: set[str] | None = None,
) -> None:
    """Audit writes of MODEL, leaving out every binary column (ciphertexts, wrapped keys),
    every blind index and passwords: the diff reads Python attributes, which hold plaintext."""
    excluded = {
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.BinaryField) or f.name.endswith("_bidx") or f.name == "password"
    }
    auditlog.register(
        model, exclude_fields=sorted(excluded | (exclude or set())), m2m_fields=m2m_fields or set()
    )


@dataclass(frozen=True, slots=True)
class RequestAttribution:
    """Who and where a request's write-history rows come from."""

    actor: User | None
    remote_addr: str | None


# Set while usmp.core.middleware.AuditlogMiddleware handles a request, and reset after it.
# django-auditlog's own context (``set_actor``) connects and disconnects a signal receiver
# at every request, under the signal's lock and clearing its cache, and never resets its
# context variable; a request here costs one context variable instead, read by one
# receiver connected once (``attribute_requests``).
request_attribution: ContextVar[RequestAttribution | None] = ContextVar(
    "usmp_audit_request", default=None
)


def _attribute(sender: type[models.Model], instance: Any, **kwargs: object) -> None:
    """Before a write-history row is saved inside a request: its actor and address, as
    django-auditlog's middleware would set them (an actor already set is kept)."""
    attribution = request_attribution.get()
    if attribution is None:
        return
    if attribution.actor is not None and instance.actor is None:
        instance.actor = attribution.actor
        instance.actor_email = getattr(attribution.actor, "email", None)
    instance.remote_addr = attribution.remote_addr


def attribute_requests() -> None:
    """Connect the receiver (idempotent: once per process, whatever the calls)."""
    pre_save.connect(
        _attribute, sender=get_logentry_model(), dispatch_uid="usmp-request-attribution"
    )


@contextmanager
def acting_as(user: User | None) -> Iterator[None]:
    """Attribute audit rows written inside the block to USER.

    Inside a request the middleware has already set the actor and the source address: they
    are kept. Elsewhere (commands, tests, jobs) USER becomes the actor."""
    if user is None or request_attribution.get() is not None:
        yield
        return
    with set_actor(user):
        yield
