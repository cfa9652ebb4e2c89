"""Pages of the transfer packages: partner units (coordinator), preparing a package
(the compartment's doctor), importing one (the receiving compartment's doctor)."""

from __future__ import annotations

import hashlib
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dossiers.access.patients import access_patient, access_transfer_matches
from dossiers.models import Compartment, Patient
from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.core.audit import acting_as
from usmp.core.errors import add_service_error

from . import services
from .forms import ConfirmForm, PartnerForm, PrepareForm, UploadForm
from .keys import own_keys
from .models import PackageImport, PartnerUnit, ReceivedPackage
from .permissions import can_transfer, transfer_compartments


@page("partner_units")
@require_http_methods(["GET", "POST"])
def partners(request: StaffRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                unit = services.partner_register(acting_user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Partner unit registered. Check its fingerprint by phone: %(fp)s")
                    % {"fp": unit.fingerprint},
                )
                return redirect("transfers:partners")
    return render(
        request,
        "transfers/partners.html",
        {
            "units": PartnerUnit.objects.select_related("registered_by"),
            "form": form,
            "own": own_keys(),
        },
        status=status,
    )


@page("partner_units")
@require_POST
def partner_deactivate(request: StaffRequest, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(PartnerUnit, pk=unit_id)
    try:
        services.partner_deactivate(acting_user=request.user, unit=unit)
    except ValidationError as exc:
        messages.info(request, exc.messages[0])
    else:
        messages.success(request, _("Partner unit deactivated."))
    return redirect("transfers:partners")


@page("transfer_prepare")
@require_http_methods(["GET", "POST"])
def prepare(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    viewer = Viewer.of(request)
    if not can_transfer(request.user, compartment):
        raise Http404
    patient = access_patient(viewer=viewer, patient_id=patient_id, purpose=Purpose.DISPLAY)
    form = PrepareForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                built = services.package_build(
                    viewer=viewer,
                    acting_user=request.user,
                    patient_id=patient_id,
                    compartment=compartment,
                    recipient=form.cleaned_data["recipient"],
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                response = HttpResponse(built.data, content_type="application/octet-stream")
                response["Content-Disposition"] = content_disposition_header(
                    as_attachment=True, filename=built.filename
                )
                response["Cache-Control"] = "no-store, private"
                response["X-Content-Type-Options"] = "nosniff"
                return response
    return render(
        request,
        "transfers/prepare.html",
        {
            "patient": patient,
            "compartment": Compartment(compartment),
            "form": form,
        },
        status=status,
    )


@page("transfer_import")
@require_http_methods(["GET", "POST"])
def upload(request: StaffRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data["package"]
            try:
                checked = services.package_check(data)
                if not can_transfer(request.user, checked.compartment):
                    raise ValidationError(
                        _(
                            "This package holds a record of the other compartment: its doctor imports it."
                        ),
                        code="other_compartment",
                    )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                done = services.import_of(checked)
                if done is not None and done.status == PackageImport.Status.COMPLETE:
                    messages.info(
                        request, _("This package was already imported: nothing was added.")
                    )
                    return redirect("transfers:import_result", import_id=done.pk)
                with acting_as(request.user):
                    ReceivedPackage.objects.get_or_create(
                        digest=hashlib.sha256(data).hexdigest(),
                        defaults={"data": data, "uploaded_by": request.user},
                    )
                return redirect("transfers:import_confirm", digest=checked.digest)
    return render(
        request,
        "transfers/upload.html",
        {"form": form, "compartments": transfer_compartments(request.user)},
        status=status,
    )


@page("transfer_import")
@require_http_methods(["GET", "POST"])
def confirm(request: StaffRequest, digest: str) -> HttpResponse:
    viewer = Viewer.of(request)
    stored = ReceivedPackage.objects.filter(digest=digest).first()
    if stored is None:
        raise Http404
    try:
        checked = services.package_check(bytes(stored.data))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("transfers:upload")
    if not can_transfer(request.user, checked.compartment):
        raise PermissionDenied
    job = services.import_of(checked)
    if job is not None and job.status == PackageImport.Status.COMPLETE:
        return redirect("transfers:import_result", import_id=job.pk)
    p = checked.received.patient
    matches = access_transfer_matches(
        viewer=viewer,
        last_name=p.last_name,
        first_name=p.first_name,
        birth_date=p.birth_date,
        ins=p.ins,
    )
    choices = [
        (
            str(view.id),
            f"{view.display_name} · {view.birth_date:%d/%m/%Y} · {view.prison_number}"
            + (" · " + _("same INS") if strong else ""),
        )
        for view, strong in matches
    ]
    if job is not None:
        choices = [c for c in choices if c[0] == str(job.patient_id)] or [
            (str(job.patient_id), str(job.patient_id))
        ]
    form = ConfirmForm(request.POST or None, choices=choices)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            chosen = form.cleaned_data["patient"]
            try:
                job = services.package_import(
                    viewer=viewer,
                    acting_user=request.user,
                    checked=checked,
                    patient_id=None if chosen == "new" or job is not None else uuid.UUID(chosen),
                    new_patient={
                        "prison_number": form.cleaned_data["prison_number"],
                        "arrival_date": form.cleaned_data["arrival_date"],
                    }
                    if chosen == "new" and job is None
                    else None,
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                if job.status == PackageImport.Status.COMPLETE:
                    # Imported: the file is not kept (the import keeps its reconciliation).
                    with acting_as(request.user):
                        stored.delete()
                return redirect("transfers:import_result", import_id=job.pk)
    return render(
        request,
        "transfers/confirm.html",
        {
            "checked": checked,
            "identity": p,
            "sex_label": Patient.Sex(p.sex).label,
            "compartment": Compartment(checked.compartment),
            "form": form,
            "resuming": job,
        },
        status=status,
    )


@page("transfer_import")
def result(request: StaffRequest, import_id: uuid.UUID) -> HttpResponse:
    job = PackageImport.objects.select_related("sender", "started_by").filter(pk=import_id).first()
    if job is None or not can_transfer(request.user, job.compartment):
        raise Http404
    return render(
        request,
        "transfers/result.html",
        {
            "job": job,
            "compartment": Compartment(job.compartment),
            "rows": services.reconciliation_rows(job),
        },
    )
