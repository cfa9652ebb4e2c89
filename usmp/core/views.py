from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .language import is_offered, remember_choice

logger = logging.getLogger(__name__)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """The icon browsers ask for at the root whatever the page says (the pages name theirs):
    without it every new browser session left a refused "page" in the audit trail."""
    return HttpResponsePermanentRedirect(static("img/cloison.svg"))


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database reachability, for the container orchestrator, and whether the
    audit sequencer keeps its bound (rows committed and unsequenced past it: a count, no
    content). A sequencer behind is reported, not a failure: the application still serves."""
    from usmp.audit import sequencer

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        waiting = sequencer.status(limit=10_000)
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse(
        {
            "status": "ok",
            "audit_sequencer": "behind" if waiting.behind else "ok",
            "audit_unsequenced_overdue": waiting.overdue,
        }
    )


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language form: the user's explicit choice, stored (usmp.core.language). Back to
    the page it was made on, if that page is of this site."""
    language = request.POST.get("language", "")
    if not is_offered(language):
        return HttpResponse(
            _("Unknown language: choose one of those the form offers."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    response = HttpResponseRedirect(target)
    remember_choice(request, response, language)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid token (opened too long ago, or in another session)."""
    return render(request, "errors/csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """The product's page with its navigation; if that page itself fails (the database is
    down, a template is broken), a bare one that needs nothing."""
    try:
        return render(request, "errors/500.html", status=500)
    except Exception:
        logger.exception("the error page could not be rendered; the bare one was sent")
        return HttpResponse(
            render_to_string("errors/500_bare.html", {"LANGUAGE_CODE": settings.LANGUAGE_CODE}),
            status=500,
        )
