"""Error reports (500 e-mails, debug pages) must not carry what the user typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

T = TypeVar("T")


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


def add_service_error(form: Any, exc: ValidationError) -> None:
    """Attach a service's ValidationError to FORM: errors of fields the form shows go to
    those fields, the others become general errors."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def service_call(form: Any, service: Callable[..., T], /, **kwargs: Any) -> T | None:
    """Call SERVICE with KWARGS; a ValidationError it raises lands on FORM (and None is
    returned), so the page shows it beside what was typed."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        add_service_error(form, exc)
        return None
