"""Write history (django-auditlog) registration that never records secrets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.db import models

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


# True while usmp.core.middleware.AuditlogMiddleware handles a request. django-auditlog's own
# context variable is never reset after a request, so it cannot tell us that.
in_request: ContextVar[bool] = ContextVar("usmp_audit_in_request", default=False)


@contextmanager
def acting_as(user: User | None) -> Iterator[None]:
    """Attribute audit rows written inside the block to USER.

    Inside a request the middleware has already set the actor and the source address: they
    are kept. Elsewhere (commands, tests, jobs) USER becomes the actor."""
    if user is None or in_request.get():
        yield
        return
    with set_actor(user):
        yield
