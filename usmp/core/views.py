from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


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


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)
