"""Errors: how a service's refusal reaches a form or an API answer, and what error reports
must not carry.

The convention: a service refuses bad input with Django's ValidationError, each error with a
stable ``code`` (and a message for the unit's staff), ``field_error`` for an error about one
field; it writes nothing then. A view hands the
refusal to its form with ``add_service_error``; an API turns its codes into a status and a
generic message of its own with ``api_error``. An edit that would change nothing is refused
the same way, with the code ``unchanged`` (``nothing_changed``): the page says so as an
information, not an error (``form_refusal``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.views.debug import SafeExceptionReporterFilter

T = TypeVar("T")


def field_error(field: str, message: str, code: str) -> ValidationError:
    """A refusal about one field (the form shows it next to that field), with its code:
    ValidationError({field: message}, code=...) would drop the code."""
    return ValidationError({field: ValidationError(message, code=code)})


def error_codes(exc: ValidationError) -> list[str]:
    """The codes of EXC's errors, in order, whether it holds one error, a list or a dict."""
    if hasattr(exc, "error_dict"):
        errors = [error for field in exc.error_dict.values() for error in field]
    else:
        errors = exc.error_list
    return [error.code or "" for error in errors]


UNCHANGED = "unchanged"


def nothing_changed() -> ValidationError:
    """The refusal of an edit whose values are those already recorded: nothing is written,
    so no write history row says that something was."""
    return ValidationError(_("Nothing has changed."), code=UNCHANGED)


def is_unchanged(exc: ValidationError) -> bool:
    return error_codes(exc) == [UNCHANGED]


def form_refusal(request: HttpRequest, form: forms.BaseForm, exc: ValidationError) -> int:
    """Show a service's refusal on the page and return the page's status: an edit that
    changes nothing is an information (200), any other refusal goes to FORM (400)."""
    if is_unchanged(exc):
        messages.info(request, exc.messages[0])
        return 200
    add_service_error(form, exc)
    return 400


def add_service_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Attach a service's refusal to FORM: an error of a field the form shows goes to that
    field, any other to the form as a whole."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@dataclass(frozen=True, slots=True)
class ApiError:
    status: int
    message: str


def api_error(exc: ValidationError, answers: Mapping[str, ApiError]) -> ApiError:
    """The answer an API gives to a service's refusal: that of the first of its codes listed
    in ANSWERS. A refusal with no listed code is raised again: no client's input leads there,
    so it is a fault of ours, not a 4xx."""
    for code in error_codes(exc):
        if code in answers:
            return answers[code]
    raise exc


class ClinicalExceptionReporterFilter(SafeExceptionReporterFilter):
    """Masks every POST value and every local variable, whatever the view declared: forms
    here carry identities and clinical text."""

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


def service_call(form: forms.BaseForm, service: Callable[..., T], /, **kwargs: Any) -> T | None:
    """Call SERVICE with KWARGS; a ValidationError it raises lands on FORM (and None is
    returned), so the page shows it beside what was typed."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        add_service_error(form, exc)
        return None
