"""Headers of the bridge that depend on the movements only.

The prison's software and the guards' workstation must learn nothing from the headers
either: no ``Vary`` or ``Content-Language`` from the locale machinery (they depend on the
requester's language and cookies, not on the movements), no cookie, the same caching rule
for every answer, and the API's own 404 and 405 as its JSON errors. Outermost in MIDDLEWARE,
so that it sees the response last.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

API_PREFIX = "/bridge/v1/"
PRINT_PATH = "/bridge/print/"
DROPPED = ("Vary", "Content-Language", "Expires", "Pragma", "Last-Modified")
API_ERRORS = {404: "Not found", 405: "Method not allowed"}


class BridgeHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        is_api = path.startswith(API_PREFIX)
        if not (is_api or path == PRINT_PATH):
            return response
        if is_api and response.status_code in API_ERRORS and not _is_json(response):
            allow = response.get("Allow")
            response = HttpResponse(
                json.dumps({"detail": API_ERRORS[response.status_code]}).encode(),
                status=response.status_code,
                content_type="application/json",
            )
            if allow:
                response["Allow"] = allow
        for name in DROPPED:
            if name in response:
                del response[name]
        response.cookies.clear()
        response["Cache-Control"] = "no-store, private"
        return response


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
