"""Pages of the register of requests for the record: thin views over disclosures.access and
disclosures.services."""

from __future__ import annotations

import hashlib
import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dossiers.access.copy import access_record_copy
from dossiers.permissions import reachable_compartments
from dossiers.record_pdf import record_pdf
from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.core.errors import service_call

from . import access, services
from .forms import CopyForm, DisclosureRequestForm, RefuseForm, SendForm


@page("disclosures")
@require_GET
def register(request: StaffRequest) -> HttpResponse:
    """The unit's requests: open ones by deadline, or all of them (?all=1)."""
    show_all = request.GET.get("all") == "1"
    rows = access.access_register(viewer=Viewer.of(request), open_only=not show_all)
    return render(
        request,
        "disclosures/register.html",
        {"requests": rows, "show_all": show_all, "now": timezone.now()},
    )


@page("disclosures_patient")
@require_http_methods(["GET", "POST"])
def patient_requests(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    """One patient's requests, and the form that registers a new one."""
    viewer = Viewer.of(request)
    form = DisclosureRequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        opened = access.access_patient_requests(
            viewer=viewer, patient_id=patient_id, purpose=Purpose.WRITE
        )
        if form.is_valid():
            created = service_call(
                form,
                services.disclosure_record,
                acting_user=request.user,
                patient=opened.patient_instance(),
                **form.service_arguments(),
            )
            if created is not None:
                messages.success(request, _("Request registered."))
                return redirect(
                    "disclosures:request_detail", patient_id=patient_id, request_id=created.pk
                )
    opened = access.access_patient_requests(
        viewer=viewer, patient_id=patient_id, purpose=Purpose.DISPLAY
    )
    if not form.is_bound:
        now = timezone.localtime()
        form.initial = {"received_on": now.date(), "received_time": now.strftime("%H:%M")}
    return render(
        request,
        "disclosures/patient_requests.html",
        {"patient": opened.patient, "requests": opened.requests, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


def _detail(
    request: StaffRequest,
    patient_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    send_form: SendForm | None = None,
    refuse_form: RefuseForm | None = None,
    copy_form: CopyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    shown = access.access_request(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        request_id=request_id,
        purpose=Purpose.DISPLAY,
    )
    now = timezone.localtime()
    # The producer copies what they read as the compartment's team or through a grant.
    reached = reachable_compartments(request.user, [shown.patient_id])
    copyable = [c for c in shown.compartments if (shown.patient_id, c) in reached]
    return render(
        request,
        "disclosures/request_detail.html",
        {
            "item": shown,
            "copyable": copyable,
            "copy_form": copy_form
            or CopyForm(
                asked=shown.compartments, offered=copyable, initial={"compartments": copyable}
            ),
            "send_form": send_form
            or SendForm(initial={"sent_on": now.date(), "sent_time": now.strftime("%H:%M")}),
            "refuse_form": refuse_form or RefuseForm(),
        },
        status=status,
    )


@page("disclosures_patient")
@require_GET
def request_detail(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    return _detail(request, patient_id, request_id)


@page("disclosures_patient")
@require_POST
def request_send(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    """Record that the copy was handed over or sent, how and when."""
    opened = access.access_request(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        request_id=request_id,
        purpose=Purpose.WRITE,
        for_change=True,
    )
    form = SendForm(request.POST)
    if form.is_valid():
        done = service_call(
            form,
            services.disclosure_send,
            acting_user=request.user,
            request=opened.instance(),
            sent_via=form.cleaned_data["sent_via"],
            sent_at=form.cleaned_data["sent_at"],
        )
        if done is not None:
            messages.success(request, _("Sending recorded."))
            return redirect(
                "disclosures:request_detail", patient_id=patient_id, request_id=request_id
            )
    return _detail(request, patient_id, request_id, send_form=form, status=400)


@page("disclosures_patient")
@require_POST
def request_refuse(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    """Refuse the request with its ground and reason."""
    opened = access.access_request(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        request_id=request_id,
        purpose=Purpose.WRITE,
        for_change=True,
    )
    form = RefuseForm(request.POST)
    if form.is_valid():
        done = service_call(
            form,
            services.disclosure_refuse,
            acting_user=request.user,
            request=opened.instance(),
            ground=form.cleaned_data["ground"],
            reason=form.cleaned_data["reason"],
        )
        if done is not None:
            messages.success(request, _("Refusal recorded."))
            return redirect(
                "disclosures:request_detail", patient_id=patient_id, request_id=request_id
            )
    return _detail(request, patient_id, request_id, refuse_form=form, status=400)


@page("disclosures_patient")
@require_GET
def mandate(request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID) -> HttpResponse:
    """The third party's signed mandate, as uploaded."""
    document = access.access_mandate(
        viewer=Viewer.of(request), patient_id=patient_id, request_id=request_id
    )
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"mandate-{request_id}.{document.content_type.split('/')[1]}"
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@page("disclosures_patient")
@require_POST
def record_copy(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    """The copy of the record the request asks for, as an archival PDF: each compartment
    read through the access layer (a copy event per dossier), the digest kept."""
    viewer = Viewer.of(request)
    opened = access.access_request(
        viewer=viewer,
        patient_id=patient_id,
        request_id=request_id,
        purpose=Purpose.WRITE,
        for_change=True,
    )
    form = CopyForm(request.POST, asked=opened.compartments)
    if form.is_valid() and opened.is_open:
        copy = access_record_copy(
            viewer=viewer, patient_id=patient_id, compartments=form.cleaned_data["compartments"]
        )
        pdf = record_pdf(copy)
        services.disclosure_copy_produced(
            acting_user=request.user,
            request=opened.instance(),
            digest=hashlib.sha256(pdf).hexdigest(),
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"dossier-{patient_id}.pdf"
        )
        response["Cache-Control"] = "no-store, private"
        response["X-Content-Type-Options"] = "nosniff"
        return response
    if form.is_valid():
        form.add_error(None, _("This request is already closed."))
    return _detail(request, patient_id, request_id, copy_form=form, status=400)
