"""Certificates and attestations: a patient's requests, deciding one, its PDF, the register
and the types. Thin views: an access function reads, a form validates, one service writes."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.core.errors import add_service_error, service_call

from . import access, services
from .forms import IssueForm, PeriodForm, RefuseForm, RequestForm, TypeForm
from .models import CertificateType


def _patient_page(
    request: StaffRequest, patient_id: uuid.UUID, form: RequestForm, status: int = 200
) -> HttpResponse:
    opened = access.access_patient_certificates(
        viewer=Viewer.of(request), patient_id=patient_id, purpose=Purpose.DISPLAY
    )
    return render(
        request,
        "certificates/patient.html",
        {
            "patient": opened.patient,
            "requests": opened.requests,
            "types": opened.types,
            "form": form,
        },
        status=status,
    )


@page("certificates_desk")
@require_GET
def patient_requests(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    form = RequestForm(initial={"received_on": timezone.localdate()})
    return _patient_page(request, patient_id, form)


@page("certificates_request")
@require_POST
def request_add(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    opened = access.access_patient_certificates(
        viewer=Viewer.of(request), patient_id=patient_id, purpose=Purpose.WRITE
    )
    form = RequestForm(request.POST)
    if form.is_valid():
        recorded = service_call(
            form,
            services.certificate_request_record,
            acting_user=request.user,
            patient=opened.patient_instance(),
            **form.cleaned_data,
        )
        if recorded is not None:
            messages.success(request, _("Request recorded."))
            return redirect("certificates:patient", patient_id=patient_id)
    return _patient_page(request, patient_id, form, status=400)


def _signing_page(
    request: StaffRequest,
    patient_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    issue_form: IssueForm | None = None,
    refuse_form: RefuseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    opened = access.access_certificate_request(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        request_id=request_id,
        purpose=Purpose.DISPLAY,
    )
    kind = opened.request.type
    return render(
        request,
        "certificates/request.html",
        {
            "patient": opened.patient,
            "item": opened.request,
            "kind": kind,
            "compartment": opened.compartment,
            "consent_missing": opened.consent_missing,
            "issue_form": issue_form or IssueForm(certificate_type=kind, initial=_period()),
            "refuse_form": refuse_form or RefuseForm(),
        },
        status=status,
    )


def _period() -> dict[str, Any]:
    today = timezone.localdate()
    return {"first_day": today - datetime.timedelta(days=365), "last_day": today}


@page("certificates_sign")
@require_GET
def request_detail(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    return _signing_page(request, patient_id, request_id)


def _opened_for_write(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> access.SigningView:
    return access.access_certificate_request(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        request_id=request_id,
        purpose=Purpose.WRITE,
    )


@page("certificates_sign")
@require_POST
def request_issue(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    opened = _opened_for_write(request, patient_id, request_id)
    form = IssueForm(request.POST, certificate_type=opened.request.type)
    if form.is_valid():
        try:
            issued = services.certificate_issue(
                acting_user=request.user,
                viewer=Viewer.of(request),
                request=opened.request.instance(),
                first_day=form.cleaned_data.get("first_day"),
                last_day=form.cleaned_data.get("last_day"),
                # A type without text has no field: a posted text reaches the service,
                # which refuses it rather than dropping it silently.
                text=form.cleaned_data.get("text", request.POST.get("text", "")),
            )
        except PermissionDenied:
            form.add_error(None, _("You may not sign this certificate in your compartment."))
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Certificate %(number)s issued.") % {"number": issued.number}
            )
            return redirect("certificates:patient", patient_id=patient_id)
    return _signing_page(request, patient_id, request_id, issue_form=form, status=400)


@page("certificates_sign")
@require_POST
def request_refuse(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    opened = _opened_for_write(request, patient_id, request_id)
    form = RefuseForm(request.POST)
    if form.is_valid():
        try:
            services.certificate_refuse(
                acting_user=request.user,
                request=opened.request.instance(),
                reason=form.cleaned_data["reason"],
            )
        except PermissionDenied:
            form.add_error(None, _("You may not sign this certificate in your compartment."))
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Request refused; the reason is in the register."))
            return redirect("certificates:patient", patient_id=patient_id)
    return _signing_page(request, patient_id, request_id, refuse_form=form, status=400)


@page("certificates_desk")
@require_GET
def certificate_pdf(
    request: StaffRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    number, document = access.access_certificate_pdf(
        viewer=Viewer.of(request), patient_id=patient_id, request_id=request_id
    )
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"certificat-{number}.pdf"
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@page("certificates_register")
@require_GET
def register(request: StaffRequest) -> HttpResponse:
    """The register of a period (default: the current year so far), printable."""
    today = timezone.localdate()
    form = PeriodForm(request.GET or {"start": today.replace(month=1, day=1), "end": today})
    if not form.is_valid():
        return render(
            request, "certificates/register.html", {"form": form, "register": None}, status=400
        )
    view = access.access_register(
        viewer=Viewer.of(request),
        first_day=form.cleaned_data["start"],
        last_day=form.cleaned_data["end"],
    )
    return render(
        request,
        "certificates/register.html",
        {"form": form, "register": view, "printed_at": timezone.localtime()},
    )


@page("certificate_types")
@require_http_methods(["GET", "POST"])
def types(request: StaffRequest) -> HttpResponse:
    """The types of certificates: the coordinator adds one or changes it."""
    instance = None
    if request.GET.get("edit", "").isdigit():
        instance = CertificateType.objects.filter(pk=int(request.GET["edit"])).first()
    form = TypeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = service_call(
            form,
            services.certificate_type_save,
            acting_user=request.user,
            certificate_type=form.save(commit=False),
        )
        if saved is not None:
            messages.success(request, _("Type “%(name)s” saved.") % {"name": saved.name})
            return redirect("certificates:types")
    return render(
        request,
        "certificates/types.html",
        {
            "types": access.access_types(),
            "form": form,
            "editing": instance,
        },
        status=400 if form.is_bound and form.errors else 200,
    )
