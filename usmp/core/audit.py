"""Write history (django-auditlog) registration that never records secrets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.db import models


def register_audited(model: type[models.Model], *, m2m_fields: set[str] | None = None) -> None:
    """Audit writes of MODEL, leaving out every binary column (ciphertexts, wrapped keys) and
    every blind index: the diff reads Python attributes, which hold plaintext."""
    excluded = [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.BinaryField) or f.name.endswith("_bidx")
    ]
    auditlog.register(model, exclude_fields=[*excluded, "password"], m2m_fields=m2m_fields or set())


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Attribute audit rows written inside the block to USER (for commands and services
    called outside a request; inside a request the middleware has already done it)."""
    with set_actor(user):
        yield
