from __future__ import annotations

from collections.abc import Callable

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control

from .audit import in_request
from .language import chosen_language
from .net import client_ip


class LanguageMiddleware:
    """Activates the request's language (usmp.core.language): French unless the user chose
    otherwise, whatever the browser's Accept-Language says. Replaces Django's
    LocaleMiddleware, which follows the browser; it needs the user, so it comes after the
    authentication middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = chosen_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        # Back to French for whatever runs next in this thread (a command, a job), except
        # under a streamed response (a CSV export), still being written after this returns.
        if not response.streaming:
            translation.deactivate()
        return response


class PrivateCacheMiddleware:
    """No page of a logged-in user may be stored by the browser or any cache.

    Also sets the Permissions-Policy header, which Django does not manage.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith(
            ("/accounts/", "/patients/")
        ):
            patch_cache_control(response, no_store=True, no_cache=True, private=True)
            response.headers["Pragma"] = "no-cache"
        response.headers.setdefault("Permissions-Policy", settings.USMP_PERMISSIONS_POLICY)
        return response


class AuditlogMiddleware(BaseAuditlogMiddleware):
    """django-auditlog's middleware, believing X-Forwarded-For only from trusted proxies."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = in_request.set(True)
        try:
            return super().__call__(request)  # type: ignore[no-any-return]
        finally:
            in_request.reset(token)

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> int | None:
        return None
