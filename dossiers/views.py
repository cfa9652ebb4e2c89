from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import permissions, selectors, services
from .forms import PatientForm, PatientSearchForm, PatientUpdateForm
from .selectors import PatientQuery


@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest) -> HttpResponse:
    """Search form (GET) and results (POST): search terms are identities, so they never go
    into a URL, where proxy logs, browser history and the login redirect would keep them."""
    if not permissions.can_view_patients(request.user):
        raise PermissionDenied
    form = PatientSearchForm(request.POST or None)
    results = None
    if form.is_bound and form.is_valid():
        query = PatientQuery(**form.cleaned_data)
        if not query.is_empty:
            results = selectors.patient_search(query)
    template = "dossiers/_search_results.html" if request.htmx else "dossiers/patient_search.html"
    return render(request, template, {"form": form, "results": results})


@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_add_patients(request.user):
        raise PermissionDenied
    form = PatientForm(request.POST or None)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = selectors.patient_likely_duplicates(
            last_name=data["last_name"],
            first_name=data["first_name"],
            birth_date=data["birth_date"],
        )
        # The Gasper lesson: show the likely duplicate before creating a second record.
        if not duplicates or request.POST.get("confirm_distinct") == "1":
            try:
                patient = services.patient_create(acting_user=request.user, **data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Patient registered."))
                return redirect("dossiers:patient_detail", patient_id=patient.pk)
    return render(request, "dossiers/patient_form.html", {"form": form, "duplicates": duplicates})


@require_POST
def patient_validate(request: HttpRequest) -> HttpResponse:
    """Inline validation of one field while the user types (htmx)."""
    if not (
        permissions.can_add_patients(request.user) or permissions.can_change_patients(request.user)
    ):
        raise PermissionDenied
    instance = None
    patient_id = request.POST.get("patient_id", "")
    if patient_id:
        try:
            instance = permissions.access_patient(
                request.user, uuid.UUID(patient_id), for_change=True
            )
        except ValueError:
            return HttpResponse(status=400)
    form_class = PatientUpdateForm if instance else PatientForm
    form = form_class(request.POST, instance=instance)
    name = request.htmx.trigger_name if request.htmx else request.POST.get("field", "")
    form.is_valid()
    duplicates = []
    data = form.cleaned_data
    if name in {"last_name", "first_name", "birth_date"} and all(
        data.get(k) for k in ("last_name", "first_name", "birth_date")
    ):
        duplicates = selectors.patient_likely_duplicates(
            last_name=data["last_name"],
            first_name=data["first_name"],
            birth_date=data["birth_date"],
            exclude_id=instance.pk if instance else None,
        )
    return render(
        request,
        "dossiers/_field_feedback.html",
        {"errors": form.field_errors(name or ""), "duplicates": duplicates, "oob": True},
    )


@require_GET
def patient_detail(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = permissions.access_patient(request.user, patient_id)
    return render(
        request,
        "dossiers/patient_detail.html",
        {"patient": patient, "can_change": permissions.can_change_patients(request.user)},
    )


@require_http_methods(["GET", "POST"])
def patient_update(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = permissions.access_patient(request.user, patient_id, for_change=True)
    if request.method == "POST":
        form = PatientUpdateForm(request.POST, instance=patient)
        if form.is_valid():
            try:
                services.patient_update(
                    acting_user=request.user, patient=patient, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Patient updated."))
                return redirect("dossiers:patient_detail", patient_id=patient.pk)
    else:
        form = PatientUpdateForm(initial=PatientUpdateForm.initial_from(patient), instance=patient)
    return render(request, "dossiers/patient_form.html", {"form": form, "patient": patient})
