from __future__ import annotations

import csv
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dossiers.models import BreakGlassAccess, Patient
from dossiers.services import break_glass_review
from usmp.audit.models import AccessEvent
from usmp.audit.services import access_record

from . import selectors
from .forms import AuditFilterForm, PatientReportForm, ReviewForm

REVIEW_PERMISSION = "audit.review_audit"


def _require_coordinator(request: HttpRequest) -> None:
    if not request.user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The coordinator's audit page. Filters travel in the URL: they hold ids and dates,
    never a name (the patient is given by prison number and replaced by its id)."""
    _require_coordinator(request)
    form = AuditFilterForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        trail_filter = form.trail_filter() if form.is_bound else selectors.TrailFilter()
        with transaction.atomic():
            access_record(
                request=request,
                action=AccessEvent.Action.AUDIT_VIEW,
                patient_id=trail_filter.patient_id,
            )
            page = selectors.audit_trail(trail_filter, cursor=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "oversight/audit_log.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode(),
            "pending_reviews": selectors.break_glass_pending(),
        },
        status=200 if page is not None else 400,
    )


@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered trail as CSV. The export is itself an access event."""
    _require_coordinator(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("Invalid filters."), status=400, content_type="text/plain")
    trail_filter = form.trail_filter()
    access_record(
        request=request,
        action=AccessEvent.Action.AUDIT_EXPORT,
        patient_id=trail_filter.patient_id,
        object_type="filters",
        object_id=request.GET.urlencode()[:64],
    )

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    header = ["time", "source", "user", "action", "outcome", "patient_id", "compartment",
              "detail", "break_glass", "source_ip", "flags"]  # fmt: skip

    def rows() -> Any:
        yield writer.writerow(header)
        for r in selectors.iter_trail(trail_filter):
            yield writer.writerow(
                [
                    timezone.localtime(r.at).isoformat(),
                    r.source,
                    r.actor.username if r.actor else "",
                    r.action,
                    r.outcome,
                    r.patient_id,
                    r.compartment,
                    r.detail,
                    "yes" if r.break_glass else "",
                    r.source_ip or "",
                    " ".join(r.flags),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cloison-audit.csv"'
    response["Cache-Control"] = "no-store, private"
    return response


@require_http_methods(["GET", "POST"])
def patient_report_lookup(request: HttpRequest) -> HttpResponse:
    """Find the patient by prison number (POST: it never enters a URL)."""
    _require_coordinator(request)
    form = PatientReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect(
            "oversight:patient_report", patient_id=form.cleaned_data["prison_number"].pk
        )
    return render(
        request,
        "oversight/patient_report_lookup.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@require_GET
def patient_report(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Every access to one patient's dossiers and identity, for their right of access."""
    _require_coordinator(request)
    if not Patient.objects.filter(pk=patient_id).exists():
        raise Http404
    with transaction.atomic():
        access_record(
            request=request, action=AccessEvent.Action.ACCESS_REPORT, patient_id=patient_id
        )
        events = list(
            AccessEvent.objects.filter(patient_id=patient_id)
            .exclude(action__in=[AccessEvent.Action.AUDIT_VIEW, AccessEvent.Action.AUDIT_EXPORT,
                                 AccessEvent.Action.ACCESS_REPORT])
            .select_related("actor")
            .prefetch_related("actor__groups")
            .order_by("-at")[:2000]
        )  # fmt: skip
        reasons = {
            (g.user_id, g.dossier.compartment): g
            for g in BreakGlassAccess.objects.filter(dossier__patient_id=patient_id).select_related(
                "dossier", "reason_key"
            )
        }
        rows = []
        for e in events:
            grant = reasons.get((e.actor_id, e.compartment)) if e.break_glass else None
            rows.append({"event": e, "reason": grant.reason if grant else ""})
        prison_number = (
            Patient.objects.select_related("identity_key").get(pk=patient_id).prison_number
        )
        return render(
            request,
            "oversight/patient_report.html",
            {"rows": rows, "prison_number": prison_number, "now": timezone.now()},
        )


@require_POST
def break_glass_review_view(request: HttpRequest, access_id: uuid.UUID) -> HttpResponse:
    if not request.user.has_perm("dossiers.review_break_glass"):
        raise PermissionDenied
    try:
        grant = BreakGlassAccess.objects.select_related("reason_key").get(pk=access_id)
    except BreakGlassAccess.DoesNotExist:
        raise Http404 from None
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            break_glass_review(
                acting_user=request.user, grant=grant, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Emergency access marked as reviewed."))
    else:
        messages.error(request, _("Write a comment (5 characters at least) to review this access."))
    return redirect("coordination:break_glass_list")
