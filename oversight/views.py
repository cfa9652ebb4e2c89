"""The coordinator's audit pages. Data comes from ``oversight.access``, which records each
read of the trail, and is rendered afterwards."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dossiers.access import emergency
from dossiers.services import break_glass_review
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.audit import chain

from . import access, selectors
from .forms import AuditFilterForm, PatientReportForm, ReviewForm


@page("audit_review")
@require_GET
def audit_log(request: StaffRequest) -> HttpResponse:
    """The coordinator's audit page. Filters travel in the URL: they hold ids and dates,
    never a name (the patient is given by prison number and replaced by its id)."""
    form = AuditFilterForm(request.GET or None)
    opened = None
    if not form.is_bound or form.is_valid():
        trail_filter = form.trail_filter() if form.is_bound else selectors.TrailFilter()
        opened = access.access_audit_trail(
            viewer=Viewer.of(request),
            trail_filter=trail_filter,
            cursor=request.GET.get("after", ""),
        )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "oversight/audit_log.html",
        {
            "form": form,
            "page": opened.page if opened else None,
            "filter_query": query.urlencode(),
            "pending_reviews": opened.pending_reviews if opened else 0,
        },
        status=200 if opened is not None else 400,
    )


CSV_HEADER = ["time", "source", "user", "action", "outcome", "patient_id", "compartment",
              "detail", "break_glass", "source_ip", "count", "flags"]  # fmt: skip


@page("audit_review")
@require_GET
def audit_export(request: StaffRequest) -> HttpResponseBase:
    """The filtered trail as CSV. The export is itself an access event."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("Invalid filters."), status=400, content_type="text/plain")
    rows = access.access_audit_export(
        viewer=Viewer.of(request), trail_filter=form.trail_filter(), query=request.GET.urlencode()
    )

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def lines() -> Iterator[Any]:
        yield writer.writerow(CSV_HEADER)
        for r in rows:
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
                    r.count,
                    " ".join(r.flags),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cloison-audit.csv"'
    response["Cache-Control"] = "no-store, private"
    return response


@page("audit_review")
@require_http_methods(["GET", "POST"])
def patient_report_lookup(request: StaffRequest) -> HttpResponse:
    """Find the patient by prison number (POST: it never enters a URL)."""
    form = PatientReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("oversight:patient_report", patient_id=form.cleaned_data["prison_number"])
    return render(
        request,
        "oversight/patient_report_lookup.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@page("audit_review")
@require_GET
def patient_report(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Every access to one patient's dossiers and identity, for their right of access;
    ``?format=json`` gives the same report as a file with its proofs (audit_prove)."""
    try:
        report = access.access_patient_report(viewer=Viewer.of(request), patient_id=patient_id)
    except chain.RenamedLog:
        # A configuration fault (usmp.E006), not the reader's: say so instead of a 500.
        messages.error(
            request,
            _(
                "The report cannot be proved now: the audit log's name was changed in the "
                "configuration. Ask the IT administrator to set it back "
                "(USMP_AUDIT_LOG_ORIGIN); no access record is lost."
            ),
        )
        return redirect("oversight:patient_report_lookup")
    if request.GET.get("format") == "json":
        response = JsonResponse(report.document(), json_dumps_params={"indent": 1})
        response["Content-Disposition"] = (
            f'attachment; filename="cloison-access-report-{patient_id}.json"'
        )
        response["Cache-Control"] = "no-store, private"
        return response
    return render(request, "oversight/patient_report.html", {"report": report})


@page("emergency_review")
@require_POST
def break_glass_review_view(request: StaffRequest, access_id: uuid.UUID) -> HttpResponse:
    grant = emergency.access_break_glass(viewer=Viewer.of(request), access_id=access_id)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            break_glass_review(
                acting_user=request.user,
                grant=grant.instance(),
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Emergency access marked as reviewed."))
    else:
        messages.error(request, _("Write a comment (5 characters at least) to review this access."))
    return redirect("coordination:break_glass_list")
