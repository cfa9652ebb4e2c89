"""Page rules: what a role may open. One registry, read by the views (``page``), the
navigation, the templates (``can``) and the authorisation matrix, so that a menu and its page
never disagree. Each app declares its rules in its own ``rules`` module; the predicates live
in its ``permissions`` module and never write.

A page rule is the first gate; the access functions then check the object itself."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from . import record
from .viewer import Viewer

Predicate = Callable[[Any], bool]
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True)
class Rule:
    name: str
    test: Predicate
    # Refused with a 404 where the page is about one patient (presence is confidential).
    hidden: bool = False
    # What a refusal is recorded as (the object the page would have read).
    action: str = record.Action.PAGE_OPEN

    def allows(self, user: Any) -> bool:
        return bool(user is not None and user.is_authenticated and self.test(user))


_RULES: dict[str, Rule] = {}


def register(
    name: str, test: Predicate, *, hidden: bool = False, action: str = record.Action.PAGE_OPEN
) -> Rule:
    if name in _RULES and _RULES[name].test is not test:
        raise ValueError(f"Page rule {name!r} is declared twice.")
    _RULES[name] = Rule(name, test, hidden, action)
    return _RULES[name]


def get(name: str) -> Rule:
    return _RULES[name]


def names() -> list[str]:
    return sorted(_RULES)


def allows(user: Any, name: str) -> bool:
    return _RULES[name].allows(user)


def request_target(request: HttpRequest, action: str = record.Action.PAGE_OPEN) -> record.Target:
    """A refused page, named by its URL pattern and the ids in its address (never the
    address itself, which could hold anything typed)."""
    match = getattr(request, "resolver_match", None)
    kwargs: dict[str, Any] = dict(match.kwargs) if match is not None else {}
    patient_id = kwargs.get("patient_id")
    compartment = kwargs.get("compartment", "")
    return record.Target(
        action,
        patient_id=patient_id if isinstance(patient_id, uuid.UUID) else None,
        compartment=compartment if compartment in {"somatic", "psychiatric"} else "",
        object_type="url",
        object_id=(match.view_name if match is not None else "") or "unresolved",
    )


def page(name: str) -> Callable[[View], View]:
    """Decorate a view with the page rule it needs. A refusal is recorded (as the rule's
    action, with the ids of the address) and raises 403, or 404 for hidden rules."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            rule = _RULES[name]
            if not rule.allows(request.user):
                record.refuse(
                    Viewer.of(request),
                    request_target(request, rule.action),
                    purpose=record.Purpose.DISPLAY,
                    hide=rule.hidden,
                )
            return view(request, *args, **kwargs)

        wrapped.access_rule = name  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate


class Can:
    """``can.<rule>`` in templates: whether the current user passes a page rule."""

    def __init__(self, user: Any) -> None:
        self._user = user
        self._seen: dict[str, bool] = {}

    def __getitem__(self, name: str) -> bool:
        if name not in self._seen:
            self._seen[name] = allows(self._user, name)
        return self._seen[name]

    def __contains__(self, name: str) -> bool:
        return name in _RULES
