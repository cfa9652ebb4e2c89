"""Patients and dossiers. Views get their data from the access functions
(``dossiers.access``), which record every read and refusal, and render it afterwards."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments.access.objects import access_patient_overview
from appointments.services.custody import patient_admit, patient_edit
from appointments.services.merge import patient_merge
from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.accounts.factors import fresh as second_factor_fresh
from usmp.accounts.factors import step_up as second_factor_step_up
from usmp.core.errors import form_refusal, service_call

from . import permissions, services
from .access import consents as consent_access
from .access import dossier as dossier_access
from .access import emergency
from .access import patients as patient_access
from .access.data import DossierView
from .forms import (
    AddendumForm,
    BreakGlassForm,
    ConsentForm,
    CorrectionForm,
    DocumentForm,
    EntryFilterForm,
    EntryForm,
    GrantForm,
    MergeForm,
    PatientForm,
    PatientSearchForm,
    PatientUpdateForm,
    WithdrawForm,
)
from .models import Compartment
from .selectors import PatientLookup, PatientQuery

SEARCH_SESSION_KEY = "patient_search"


@page("patients_search")
@require_http_methods(["GET", "POST"])
def patient_search(request: StaffRequest) -> HttpResponse:
    """Search form and results. Search terms are identities, so they never go into a URL
    (proxy logs, browser history, the login redirect): the form is a POST, answered by a
    redirect (post/redirect/get) to the results, which the session keeps as blind indexes
    (never the terms), so that Back and reload show them again without resubmitting."""
    form = PatientSearchForm(request.POST or None)
    viewer = Viewer.of(request)
    if request.method == "POST":
        if request.POST.get("clear"):
            request.session.pop(SEARCH_SESSION_KEY, None)
            return redirect("dossiers:patient_search")
        if form.is_valid():
            lookup = PatientQuery(**form.cleaned_data).lookup()
            if lookup.is_empty:
                request.session.pop(SEARCH_SESSION_KEY, None)
            else:
                request.session[SEARCH_SESSION_KEY] = lookup.as_dict()
            if not request.htmx:
                return redirect("dossiers:patient_search", permanent=False)
            results = (
                None
                if lookup.is_empty
                else patient_access.access_patient_search(viewer=viewer, lookup=lookup)
            )
            return render(request, "dossiers/_search_results.html", {"results": results})
        template = (
            "dossiers/_search_results.html" if request.htmx else "dossiers/patient_search.html"
        )
        return render(request, template, {"form": form, "results": None}, status=400)
    kept = PatientLookup.from_dict(request.session.get(SEARCH_SESSION_KEY))
    results = None
    if kept is not None:
        results = patient_access.access_patient_search(viewer=viewer, lookup=kept)
    return render(
        request,
        "dossiers/patient_search.html",
        {"form": form, "results": results, "lookup": kept},
    )


def _duplicates(request: StaffRequest, data: dict[str, Any], exclude_id: Any = None) -> Any:
    return patient_access.access_likely_duplicates(
        viewer=Viewer.of(request),
        last_name=data["last_name"],
        first_name=data["first_name"],
        birth_date=data["birth_date"],
        exclude_id=exclude_id,
    )


@page("patients_register")
@require_http_methods(["GET", "POST"])
def patient_create(request: StaffRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    duplicates: Any = ()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = _duplicates(request, data)
        # The Gasper lesson: show the likely duplicate before creating a second record.
        if not duplicates or request.POST.get("confirm_distinct") == "1":
            patient = service_call(form, patient_admit, acting_user=request.user, **data)
            if patient is not None:
                messages.success(request, _("Patient registered."))
                return redirect("dossiers:patient_detail", patient_id=patient.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "dossiers/patient_form.html",
        {"form": form, "duplicates": duplicates},
        status=status,
    )


@page("patients_check")
@require_POST
def patient_validate(request: StaffRequest) -> HttpResponse:
    """Inline validation of one field while the user types (htmx)."""
    patient_id = request.POST.get("patient_id", "")
    instance = None
    if patient_id:
        try:
            parsed = uuid.UUID(patient_id)
        except ValueError:
            return HttpResponse(_("Invalid patient."), status=400)
        instance = patient_access.access_patient(
            viewer=Viewer.of(request), patient_id=parsed, purpose=Purpose.WRITE, for_change=True
        )
    form_class = PatientUpdateForm if instance else PatientForm
    form = form_class(request.POST, patient_id=instance.id if instance else None)
    name = request.htmx.trigger_name if request.htmx else request.POST.get("field", "")
    form.is_valid()
    duplicates: Any = ()
    data = form.cleaned_data
    if name in {"last_name", "first_name", "birth_date"} and all(
        data.get(k) for k in ("last_name", "first_name", "birth_date")
    ):
        duplicates = _duplicates(request, data, exclude_id=instance.id if instance else None)
    return render(
        request,
        "dossiers/_field_feedback.html",
        {"errors": form.field_errors(name or ""), "duplicates": duplicates, "oob": True},
    )


@page("patient_open")
@require_GET
def patient_detail(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    viewer = Viewer.of(request)
    patient = patient_access.access_patient(
        viewer=viewer, patient_id=patient_id, purpose=Purpose.DISPLAY
    )
    if patient.merged_into is not None:
        # A tombstone: old links lead to the registration it was merged into.
        messages.info(request, _("This registration was merged into this patient's."))
        return redirect("dossiers:patient_detail", patient_id=patient.merged_into)
    reachable = patient_access.reachable_dossiers(viewer=viewer, patient_id=patient.id)
    return render(
        request,
        "dossiers/patient_detail.html",
        {
            "patient": patient,
            "agenda": access_patient_overview(viewer=viewer, patient_id=patient.id),
            "dossier_links": reachable,
            "break_glass_compartments": patient_access.break_glass_offers(
                viewer=viewer, reachable=reachable
            ),
            "is_clinician": permissions.is_clinician(request.user),
        },
    )


@page("patient_edit")
@require_http_methods(["GET", "POST"])
def patient_update(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    viewer = Viewer.of(request)
    if request.method == "POST":
        patient = patient_access.access_patient(
            viewer=viewer, patient_id=patient_id, purpose=Purpose.WRITE, for_change=True
        )
        form = PatientUpdateForm(request.POST, patient_id=patient.id)
        status = 400
        if form.is_valid():
            try:
                patient_edit(
                    acting_user=request.user, patient=patient.instance(), **form.cleaned_data
                )
            except ValidationError as exc:
                status = form_refusal(request, form, exc)
            else:
                messages.success(request, _("Patient updated."))
                return redirect("dossiers:patient_detail", patient_id=patient.id)
    else:
        patient = patient_access.access_patient(
            viewer=viewer, patient_id=patient_id, purpose=Purpose.CHANGE, for_change=True
        )
        form = PatientUpdateForm(
            initial=PatientUpdateForm.initial_from(patient), patient_id=patient.id
        )
        status = 200
    return render(
        request, "dossiers/patient_form.html", {"form": form, "patient": patient}, status=status
    )


# -- dossiers ---------------------------------------------------------------------------------


def _dossier_urls(dossier: DossierView) -> dict[str, str]:
    kwargs = {"patient_id": dossier.patient.id, "compartment": dossier.compartment}
    return {
        "detail": reverse("dossiers:dossier_detail", kwargs=kwargs),
        "entry_create": reverse("dossiers:entry_create", kwargs=kwargs),
        "entry_validate": reverse("dossiers:entry_validate", kwargs=kwargs),
        "document_upload": reverse("dossiers:document_upload", kwargs=kwargs),
        "sharing": reverse("dossiers:dossier_sharing", kwargs=kwargs),
    }


def _render_dossier(
    request: StaffRequest,
    patient_id: uuid.UUID,
    compartment: str,
    *,
    entry_form: EntryForm | None = None,
    document_form: DocumentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # Its own ids: the note form on the same page has a "kind" field too.
    filters = EntryFilterForm(request.GET or None, auto_id="filter-%s")
    kind, author_id, page_number = "", None, 1
    if filters.is_bound and filters.is_valid():
        kind = filters.cleaned_data["kind"] or ""
        author_id = filters.cleaned_data["author"]
        page_number = filters.cleaned_data["page"] or 1
    dossier = dossier_access.access_dossier(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        compartment=compartment,
        purpose=Purpose.DISPLAY,
        page=page_number,
        kind=kind,
        author_id=author_id,
    )
    filters.set_authors(dossier.authors)
    urls = _dossier_urls(dossier)
    filter_query = urlencode({k: v for k, v in (("kind", kind), ("author", author_id or "")) if v})
    context = {
        "access": dossier,
        "dossier": dossier,
        "patient": dossier.patient,
        "urls": urls,
        "page": dossier.page,
        "entries": dossier.entries,
        "filter_query": filter_query,
        "documents": dossier.documents,
        "consents": dossier.consents,
        "filters": filters,
        "entry_form": entry_form or EntryForm(validate_url=urls["entry_validate"]),
        "document_form": document_form or DocumentForm(),
        "is_team": dossier.is_team,
    }
    return render(request, "dossiers/dossier_detail.html", context, status=status)


@page("dossier_open")
@require_GET
def dossier_detail(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    return _render_dossier(request, patient_id, compartment)


def _for_change(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> DossierView:
    return dossier_access.access_dossier(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        compartment=compartment,
        purpose=Purpose.WRITE,
        for_change=True,
    )


@page("dossier_open")
@require_POST
def entry_create(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    dossier = _for_change(request, patient_id, compartment)
    urls = _dossier_urls(dossier)
    form = EntryForm(request.POST, validate_url=urls["entry_validate"])
    if form.is_valid():
        entry = service_call(
            form,
            services.entry_create,
            acting_user=request.user,
            access=dossier.access(),
            **form.cleaned_data,
        )
        if entry is not None:
            messages.success(request, _("Note added to the dossier."))
            return redirect(urls["detail"])
    return _render_dossier(request, patient_id, compartment, entry_form=form, status=400)


@page("dossier_open")
@require_POST
def entry_validate(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    """Inline validation of the entry form (htmx). Reads nothing from the dossier."""
    _for_change(request, patient_id, compartment)
    form = EntryForm(request.POST)
    form.is_valid()
    name = request.htmx.trigger_name if request.htmx else ""
    return render(
        request, "dossiers/_field_feedback.html", {"errors": form.field_errors(name or "")}
    )


@page("dossier_open")
@require_GET
def entry_history(
    request: StaffRequest, patient_id: uuid.UUID, compartment: str, entry_id: uuid.UUID
) -> HttpResponse:
    history = dossier_access.access_entry_versions(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        compartment=compartment,
        entry_id=entry_id,
    )
    return render(
        request,
        "dossiers/entry_history.html",
        {
            "access": history.dossier,
            "patient": history.dossier.patient,
            "versions": history.versions,
            "urls": _dossier_urls(history.dossier),
        },
    )


def _open_entry(
    request: StaffRequest,
    patient_id: uuid.UUID,
    compartment: str,
    entry_id: uuid.UUID,
    *,
    author_only: bool,
    again: bool = False,
) -> Any:
    """The entry opened for a correction (its author) or an addendum (who writes). AGAIN:
    shown once more after a refused form, the version is read once more."""
    return dossier_access.access_entry(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        compartment=compartment,
        entry_id=entry_id,
        purpose=Purpose.WRITE if request.method == "POST" and not again else Purpose.CHANGE,
        author_only=author_only,
    )


@page("dossier_open")
@require_http_methods(["GET", "POST"])
def entry_correct(
    request: StaffRequest, patient_id: uuid.UUID, compartment: str, entry_id: uuid.UUID
) -> HttpResponse:
    """The note's author corrects it, saying why; the earlier version stays."""
    opened = _open_entry(request, patient_id, compartment, entry_id, author_only=True)
    urls = _dossier_urls(opened.dossier)
    if request.method == "POST":
        form = CorrectionForm(request.POST, validate_url=urls["entry_validate"])
        status = 400
        if form.is_valid():
            try:
                services.entry_create(
                    acting_user=request.user,
                    access=opened.dossier.access(),
                    supersedes=opened.instance(),
                    kind=form.cleaned_data["kind"],
                    text=form.cleaned_data["text"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                status = form_refusal(request, form, exc)
            else:
                messages.success(request, _("Correction saved; the earlier version is kept."))
                return redirect(urls["detail"])
        opened = _open_entry(
            request, patient_id, compartment, entry_id, author_only=True, again=True
        )
    else:
        form = CorrectionForm(
            initial={"kind": opened.entry.kind, "text": opened.entry.text},
            validate_url=urls["entry_validate"],
        )
        status = 200
    return render(
        request,
        "dossiers/entry_correct.html",
        {
            "access": opened.dossier,
            "patient": opened.dossier.patient,
            "entry": opened.entry,
            "form": form,
            "urls": urls,
        },
        status=status,
    )


@page("dossier_open")
@require_http_methods(["GET", "POST"])
def entry_addendum(
    request: StaffRequest, patient_id: uuid.UUID, compartment: str, entry_id: uuid.UUID
) -> HttpResponse:
    """A clinician who writes in the dossier adds to a note (its author's text stays)."""
    opened = _open_entry(request, patient_id, compartment, entry_id, author_only=False)
    urls = _dossier_urls(opened.dossier)
    form = AddendumForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.entry_create(
                    acting_user=request.user,
                    access=opened.dossier.access(),
                    kind=opened.entry.kind,
                    text=form.cleaned_data["text"],
                    addendum_to=opened.instance(),
                )
            except ValidationError as exc:
                status = form_refusal(request, form, exc)
            else:
                messages.success(request, _("Addendum saved with the note."))
                return redirect(urls["detail"])
        opened = _open_entry(
            request, patient_id, compartment, entry_id, author_only=False, again=True
        )
    return render(
        request,
        "dossiers/entry_addendum.html",
        {
            "access": opened.dossier,
            "patient": opened.dossier.patient,
            "entry": opened.entry,
            "form": form,
            "urls": urls,
        },
        status=status,
    )


@page("dossier_open")
@require_POST
def document_upload(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    dossier = _for_change(request, patient_id, compartment)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        document = service_call(
            form,
            services.document_upload,
            acting_user=request.user,
            access=dossier.access(),
            title=form.cleaned_data["title"],
            filename=upload.name or "document",
            content=upload.read(),
        )
        if document is not None:
            messages.success(request, _("Document added to the dossier."))
            return redirect(_dossier_urls(dossier)["detail"])
    return _render_dossier(request, patient_id, compartment, document_form=form, status=400)


@page("dossier_open")
@require_GET
def document_download(
    request: StaffRequest, patient_id: uuid.UUID, compartment: str, document_id: uuid.UUID
) -> HttpResponse:
    document = dossier_access.access_document(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        compartment=compartment,
        document_id=document_id,
    )
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"document-{document.id}.{document.extension}"
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@page("clinicians_only")
@require_http_methods(["GET", "POST"])
def break_glass(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    """A clinician outside the compartment opens one dossier in an emergency."""
    viewer = Viewer.of(request)
    opened = emergency.access_break_glass_form(
        viewer=viewer,
        patient_id=patient_id,
        compartment=compartment,
        purpose=Purpose.WRITE if request.method == "POST" else Purpose.CHANGE,
    )
    if opened.already:
        return redirect("dossiers:dossier_detail", patient_id=patient_id, compartment=compartment)
    if not second_factor_fresh(request):
        # Step-up: the second factor again (a password is not enough), then back here.
        return second_factor_step_up(request)
    form = BreakGlassForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        grant = service_call(
            form,
            services.break_glass_open,
            acting_user=request.user,
            dossier=opened.dossier_instance(),
            reason=form.cleaned_data["reason"],
            source_ip=viewer.source_ip,
        )
        if grant is not None:
            return redirect(
                "dossiers:dossier_detail", patient_id=patient_id, compartment=compartment
            )
    return render(
        request,
        "dossiers/break_glass.html",
        {"patient": opened.patient, "compartment": opened.compartment, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@page("dossier_open")
@require_http_methods(["GET", "POST"])
def dossier_sharing(request: StaffRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    """The compartment's team gives a visiting clinician or a care team access."""
    sharing = dossier_access.access_sharing(
        viewer=Viewer.of(request),
        patient_id=patient_id,
        compartment=compartment,
        purpose=Purpose.WRITE if request.method == "POST" else Purpose.CHANGE,
    )
    dossier = sharing.dossier
    form = GrantForm(request.POST or None, choices=sharing.candidates)
    if request.method == "POST":
        revoke = request.POST.get("revoke", "")
        if revoke:
            grantee = sharing.grantee(revoke)
            if grantee is None:
                return HttpResponse(_("Unknown access."), status=400)
            services.dossier_revoke(
                acting_user=request.user, dossier=dossier.access().dossier, grantee=grantee
            )
            messages.success(request, _("Access removed."))
            return redirect(request.path)
        if form.is_valid():
            service_call(
                form,
                services.dossier_grant,
                acting_user=request.user,
                dossier=dossier.access().dossier,
                grantee=sharing.grantee(form.cleaned_data["grantee"]),
                write=form.cleaned_data["write"],
                until=form.cleaned_data["until"],
            )
            if not form.errors:
                messages.success(
                    request,
                    _("Access given until %(day)s included.")
                    % {"day": date_format(form.cleaned_data["until"], "SHORT_DATE_FORMAT")},
                )
                return redirect(request.path)
    return render(
        request,
        "dossiers/dossier_sharing.html",
        {
            "access": dossier,
            "patient": dossier.patient,
            "urls": _dossier_urls(dossier),
            "form": form,
            "granted": sharing.granted,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@page("clinicians_only")
@require_http_methods(["GET", "POST"])
def consents(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    form = ConsentForm(request.POST or None)
    if request.method == "POST":
        opened = consent_access.access_consents(
            viewer=Viewer.of(request), patient_id=patient_id, purpose=Purpose.WRITE
        )
        if form.is_valid():
            decision = service_call(
                form,
                services.consent_record,
                acting_user=request.user,
                patient=opened.patient_instance(),
                **form.cleaned_data,
            )
            if decision is not None:
                messages.success(request, _("Decision recorded."))
                return redirect("dossiers:consents", patient_id=patient_id)
    return _consents_page(request, patient_id, form, 400 if form.is_bound and form.errors else 200)


def _consents_page(
    request: StaffRequest, patient_id: uuid.UUID, form: ConsentForm, status: int
) -> HttpResponse:
    opened = consent_access.access_consents(
        viewer=Viewer.of(request), patient_id=patient_id, purpose=Purpose.DISPLAY
    )
    return render(
        request,
        "dossiers/consents.html",
        {
            "patient": opened.patient,
            "consents": opened.consents,
            "form": form,
            "withdraw_form": WithdrawForm(initial={"withdrawn_on": timezone.localdate()}),
        },
        status=status,
    )


@page("clinicians_only")
@require_POST
def consent_withdraw(
    request: StaffRequest, patient_id: uuid.UUID, consent_id: uuid.UUID
) -> HttpResponse:
    consent = consent_access.access_consent(
        viewer=Viewer.of(request), patient_id=patient_id, consent_id=consent_id
    )
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(
                acting_user=request.user,
                consent=consent.instance(),
                on=form.cleaned_data["withdrawn_on"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Withdrawal recorded; the earlier decision stays on file."))
            return redirect("dossiers:consents", patient_id=patient_id)
    else:
        messages.error(
            request,
            " ".join(str(e) for e in form.errors.get("withdrawn_on", []))
            or _("Enter a valid withdrawal date."),
        )
    # Refused: the consents page again, saying why (nothing was written).
    return _consents_page(request, patient_id, ConsentForm(), 400)


@page("patient_open")
@require_GET
def patient_rights(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    """For the patient: the dossiers the unit holds and how to obtain them (printable).
    Every patient has both dossiers, so saying so reveals nothing about the care received."""
    patient = patient_access.access_patient(
        viewer=Viewer.of(request), patient_id=patient_id, purpose=Purpose.PRINT
    )
    return render(
        request,
        "dossiers/patient_rights.html",
        {
            "patient": patient,
            "compartments": list(Compartment),
            "unit_name": settings.USMP_UNIT_NAME,
        },
    )


@page("emergency_review")
@require_GET
def break_glass_list(request: StaffRequest) -> HttpResponse:
    """The coordinator's in-app list of emergency accesses (review comes with the audit page)."""
    return render(
        request,
        "dossiers/break_glass_list.html",
        {
            "accesses": emergency.access_break_glass_list(viewer=Viewer.of(request)),
            "now": timezone.now(),
        },
    )


@page("patient_merge")
@require_http_methods(["GET", "POST"])
def patient_merge_view(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Merge another registration of the same person into this one, in two steps: name it
    and say why, then confirm after seeing both identities."""
    viewer = Viewer.of(request)
    form = MergeForm(request.POST or None)
    other = None
    if request.method == "POST" and form.is_valid():
        survivor, other = patient_access.access_merge_pair(
            viewer=viewer,
            patient_id=patient_id,
            other_prison_number=form.cleaned_data["prison_number"],
        )
        if other is None:
            form.add_error("prison_number", _("No patient has this prison number."))
        elif form.cleaned_data["confirm"]:
            merged = service_call(
                form,
                patient_merge,
                acting_user=request.user,
                survivor=survivor.instance(),
                absorbed=other.instance(),
                reason=form.cleaned_data["reason"],
            )
            if merged is not None:
                messages.success(request, _("The two registrations are merged."))
                return redirect("dossiers:patient_detail", patient_id=patient_id)
            other = None
        elif other.id == survivor.id or other.merged_into is not None:
            form.add_error("prison_number", _("Choose another registration."))
            other = None
    patient = patient_access.access_patient(
        viewer=viewer, patient_id=patient_id, purpose=Purpose.CHANGE
    )
    return render(
        request,
        "dossiers/patient_merge.html",
        {"patient": patient, "other": other, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )
