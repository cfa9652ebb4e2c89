"""The bridge API's own, shorter middleware stack, and headers that depend on the movements only.

The prison's software and the guards' workstation must learn nothing from the headers
either: no ``Vary`` or ``Content-Language`` from the locale machinery (they depend on the
requester's language and cookies, not on the movements), no cookie, the same caching rule
for every answer, and the API's own JSON error body for Django's 400, 404, 405 and 500.
Outermost in MIDDLEWARE, so that it sees the response last.

Requests to the API (``/bridge/v1/``) do not go through the rest of ``MIDDLEWARE``: a machine
with a bearer token has no session, no second factor, no language, no CSRF cookie, no
messages and no HTML to frame or police, and those layers cost more than the bare view
itself. They go through ``settings.BRIDGE_API_MIDDLEWARE`` instead (the security headers and
redirect, the access layer's safety net that records every refusal, django-auditlog's
request context for the pushes' write history), built here once per process with Django's
own handler (view middleware, exception-to-response conversion) around the URL resolver.
The print page (``/bridge/print/``) is HTML for a person and takes the whole stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

API_PREFIX = "/bridge/v1/"
PRINT_PATH = "/bridge/print/"
DROPPED = ("Vary", "Content-Language", "Expires", "Pragma", "Last-Modified")
# Django's own answers under the API (an unresolved path, a method the operation lacks, a
# request Django refuses before any view, a failure) get the API's JSON error body.
API_ERRORS = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    500: "Internal server error",
}


class ApiStack(BaseHandler):
    """Django's request handling with MIDDLEWARE (paths, outermost first) in place of
    ``settings.MIDDLEWARE``: synchronous middleware only (the bridge runs under WSGI)."""

    def __init__(self, middleware: list[str]) -> None:
        super().__init__()
        self._view_middleware: list[Callable[..., HttpResponse | None]] = []
        self._template_response_middleware: list[Callable[..., HttpResponse]] = []
        self._exception_middleware: list[Callable[..., HttpResponse | None]] = []
        handler = convert_exception_to_response(self._checked_host_response)
        for path in reversed(middleware):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def _checked_host_response(self, request: HttpRequest) -> HttpResponse:
        # Django checks the Host header against ALLOWED_HOSTS only where something asks for
        # it (CommonMiddleware, in the whole stack); nothing in the API's stack does, so ask
        # here, inside the other layers: a refused Host is a 400 with the security headers.
        request.get_host()
        return self._get_response(request)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._middleware_chain(request)  # type: ignore[no-any-return]


class BridgeHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.api = ApiStack(settings.BRIDGE_API_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        is_api = path.startswith(API_PREFIX)
        if is_api:
            response = self.api(request)
        else:
            response = self.get_response(request)
            if path != PRINT_PATH:
                return response
        if (
            is_api
            and response.status_code in API_ERRORS
            and not response.streaming
            and not _is_json(response)
        ):
            # The same answer with a JSON body: it keeps the security headers (and Allow).
            response.content = json.dumps({"detail": API_ERRORS[response.status_code]}).encode()
            response["Content-Type"] = "application/json"
        for name in DROPPED:
            if name in response:
                del response[name]
        response.cookies.clear()
        response["Cache-Control"] = "no-store, private"
        return response


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
