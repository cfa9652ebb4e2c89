from __future__ import annotations

from collections.abc import Callable

from auditlog.cid import set_cid
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control

from .audit import RequestAttribution, attribute_requests, request_attribution
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


class AuditlogMiddleware:
    """Attributes the write-history rows (django-auditlog) of a request to its user and
    source address, as django-auditlog's own middleware does (its correlation id
    included), with the address read as everywhere else (``client_ip``: X-Forwarded-For
    only from trusted proxies) and without its per-request signal connection
    (``usmp.core.audit.request_attribution``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.user_model = get_user_model()
        attribute_requests()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        set_cid(request)
        user = getattr(request, "user", None)
        actor = user if isinstance(user, self.user_model) and user.is_authenticated else None
        remote_addr = None if settings.AUDITLOG_DISABLE_REMOTE_ADDR else client_ip(request)
        token = request_attribution.set(RequestAttribution(actor, remote_addr))
        try:
            return self.get_response(request)
        finally:
            request_attribution.reset(token)
