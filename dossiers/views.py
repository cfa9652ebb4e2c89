from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments.services.custody import custody_change, patient_admit
from usmp.accounts.roles import Role
from usmp.audit.models import AccessEvent
from usmp.audit.services import access_record
from usmp.core.errors import add_service_error

from . import permissions, selectors, services
from .forms import (
    BreakGlassForm,
    ConsentForm,
    DocumentForm,
    EntryFilterForm,
    EntryForm,
    GrantForm,
    PatientForm,
    PatientSearchForm,
    PatientUpdateForm,
    WithdrawForm,
)
from .models import Compartment, Consent, Document, Dossier, Entry
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
            with transaction.atomic():
                access_record(
                    request=request,
                    action=AccessEvent.Action.PATIENT_SEARCH,
                    search_index=selectors.search_index(query),
                )
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
                patient = patient_admit(acting_user=request.user, **data)
            except ValidationError as exc:
                add_service_error(form, exc)
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
    clinician = permissions.is_clinician(request.user)
    with transaction.atomic():
        access_record(
            request=request, action=AccessEvent.Action.PATIENT_VIEW, patient_id=patient.pk
        )
        accessible = permissions.accessible_compartments(request.user, patient)
        reachable = {a.dossier.compartment for a in accessible}
        return render(
            request,
            "dossiers/patient_detail.html",
            {
                "patient": patient,
                "can_change": permissions.can_change_patients(request.user),
                "dossier_accesses": accessible,
                # Every patient has both dossiers: offering the emergency access reveals nothing.
                "break_glass_compartments": [c for c in Compartment if c not in reachable]
                if clinician
                else [],
                "is_clinician": clinician,
            },
        )


@require_http_methods(["GET", "POST"])
def patient_update(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = permissions.access_patient(request.user, patient_id, for_change=True)
    if request.method == "POST":
        form = PatientUpdateForm(request.POST, instance=patient)
        if form.is_valid():
            try:
                custody_change(acting_user=request.user, patient=patient, **form.cleaned_data)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Patient updated."))
                return redirect("dossiers:patient_detail", patient_id=patient.pk)
    else:
        form = PatientUpdateForm(initial=PatientUpdateForm.initial_from(patient), instance=patient)
        access_record(
            request=request, action=AccessEvent.Action.PATIENT_VIEW, patient_id=patient.pk
        )
    return render(request, "dossiers/patient_form.html", {"form": form, "patient": patient})


# -- dossiers ---------------------------------------------------------------------------------
# Each view that shows clinical content records exactly one access event, in the same
# transaction as the reads it reports. Denials are recorded by access_dossier (404).


def _dossier_urls(access: permissions.DossierAccess) -> dict[str, str]:
    kwargs = {"patient_id": access.dossier.patient_id, "compartment": access.dossier.compartment}
    return {
        "detail": reverse("dossiers:dossier_detail", kwargs=kwargs),
        "entry_create": reverse("dossiers:entry_create", kwargs=kwargs),
        "entry_validate": reverse("dossiers:entry_validate", kwargs=kwargs),
        "document_upload": reverse("dossiers:document_upload", kwargs=kwargs),
        "sharing": reverse("dossiers:dossier_sharing", kwargs=kwargs),
    }


def _record(
    request: HttpRequest, access: permissions.DossierAccess, action: str, **kw: Any
) -> None:
    access_record(
        request=request,
        action=action,
        patient_id=access.dossier.patient_id,
        compartment=access.dossier.compartment,
        break_glass=access.is_break_glass,
        **kw,
    )


def _render_dossier(
    request: HttpRequest,
    access: permissions.DossierAccess,
    *,
    entry_form: EntryForm | None = None,
    document_form: DocumentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    dossier = access.dossier
    urls = _dossier_urls(access)
    authors = selectors.dossier_authors(dossier)
    filters = EntryFilterForm(request.GET or None, authors=authors)
    kind, author_id = "", None
    if filters.is_bound and filters.is_valid():
        kind = filters.cleaned_data["kind"] or ""
        author_id = filters.cleaned_data["author"]
    filter_query = urlencode({k: v for k, v in (("kind", kind), ("author", author_id or "")) if v})
    with transaction.atomic():
        _record(
            request,
            access,
            AccessEvent.Action.DOSSIER_VIEW,
            object_type="dossier",
            object_id=str(dossier.pk),
        )
        context = {
            "access": access,
            "dossier": dossier,
            "patient": dossier.patient,
            "urls": urls,
            "page": (
                page := Paginator(
                    selectors.dossier_timeline(dossier, kind=kind, author_id=author_id),
                    selectors.TIMELINE_PAGE_SIZE,
                ).get_page(request.GET.get("page"))
            ),
            "entries": selectors.with_dossier_key(page.object_list, dossier),
            "filter_query": filter_query,
            "documents": selectors.dossier_documents(dossier),
            "consents": [c for c in selectors.patient_consents(dossier.patient) if c.is_current],
            "filters": filters,
            "entry_form": entry_form or EntryForm(validate_url=urls["entry_validate"]),
            "document_form": document_form or DocumentForm(),
            "is_team": permissions.is_team_member(request.user, dossier.compartment),
        }
        response = render(request, "dossiers/dossier_detail.html", context, status=status)
    return response


@require_GET
def dossier_detail(request: HttpRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.DOSSIER_VIEW
    )
    return _render_dossier(request, access)


@require_POST
def entry_create(request: HttpRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.DOSSIER_VIEW
    )
    if not access.can_write:
        raise PermissionDenied
    form = EntryForm(request.POST, validate_url=_dossier_urls(access)["entry_validate"])
    if form.is_valid():
        try:
            services.entry_create(acting_user=request.user, access=access, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Note added to the dossier."))
            return redirect(_dossier_urls(access)["detail"])
    return _render_dossier(request, access, entry_form=form, status=400)


@require_POST
def entry_validate(request: HttpRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    """Inline validation of the entry form (htmx). Reads nothing from the dossier."""
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.DOSSIER_VIEW
    )
    form = EntryForm(request.POST)
    form.is_valid()
    name = request.htmx.trigger_name if request.htmx else ""
    del access
    return render(
        request, "dossiers/_field_feedback.html", {"errors": form.field_errors(name or "")}
    )


def _entry_in(access: permissions.DossierAccess, entry_id: uuid.UUID) -> Entry:
    """An entry of THIS dossier: another patient's or compartment's entry id is a 404."""
    try:
        return Entry.objects.select_related("author", "data_key").get(
            pk=entry_id, dossier=access.dossier
        )
    except Entry.DoesNotExist:
        raise Http404 from None


@require_GET
def entry_history(
    request: HttpRequest, patient_id: uuid.UUID, compartment: str, entry_id: uuid.UUID
) -> HttpResponse:
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.ENTRY_HISTORY
    )
    with transaction.atomic():
        entry = _entry_in(access, entry_id)
        _record(
            request,
            access,
            AccessEvent.Action.ENTRY_HISTORY,
            object_type="entry",
            object_id=str(entry.pk),
        )
        return render(
            request,
            "dossiers/entry_history.html",
            {
                "access": access,
                "patient": access.dossier.patient,
                "versions": selectors.entry_versions(entry),
                "urls": _dossier_urls(access),
            },
        )


@require_http_methods(["GET", "POST"])
def entry_correct(
    request: HttpRequest, patient_id: uuid.UUID, compartment: str, entry_id: uuid.UUID
) -> HttpResponse:
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.ENTRY_HISTORY
    )
    if not access.can_write:
        raise PermissionDenied
    urls = _dossier_urls(access)
    with transaction.atomic():
        entry = _entry_in(access, entry_id)
        if request.method == "POST":
            form = EntryForm(request.POST, validate_url=urls["entry_validate"])
            if form.is_valid():
                try:
                    services.entry_create(
                        acting_user=request.user,
                        access=access,
                        supersedes=entry,
                        **form.cleaned_data,
                    )
                except ValidationError as exc:
                    add_service_error(form, exc)
                else:
                    messages.success(request, _("Correction saved; the earlier version is kept."))
                    return redirect(urls["detail"])
        else:
            form = EntryForm(
                initial={"kind": entry.kind, "text": entry.text},
                validate_url=urls["entry_validate"],
            )
        _record(
            request,
            access,
            AccessEvent.Action.ENTRY_HISTORY,
            object_type="entry",
            object_id=str(entry.pk),
        )
        return render(
            request,
            "dossiers/entry_correct.html",
            {
                "access": access,
                "patient": access.dossier.patient,
                "entry": entry,
                "form": form,
                "urls": urls,
            },
            status=400 if form.is_bound else 200,
        )


@require_POST
def document_upload(request: HttpRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.DOSSIER_VIEW
    )
    if not access.can_write:
        raise PermissionDenied
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.document_upload(
                acting_user=request.user,
                access=access,
                title=form.cleaned_data["title"],
                filename=upload.name or "document",
                content=upload.read(),
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Document added to the dossier."))
            return redirect(_dossier_urls(access)["detail"])
    return _render_dossier(request, access, document_form=form, status=400)


@require_GET
def document_download(
    request: HttpRequest, patient_id: uuid.UUID, compartment: str, document_id: uuid.UUID
) -> HttpResponse:
    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.DOCUMENT_DOWNLOAD
    )
    with transaction.atomic():
        try:
            document = Document.objects.select_related("data_key").get(
                pk=document_id, dossier=access.dossier
            )
        except Document.DoesNotExist:
            raise Http404 from None
        _record(
            request,
            access,
            AccessEvent.Action.DOCUMENT_DOWNLOAD,
            object_type="document",
            object_id=str(document.pk),
        )
        content = document.content
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[
        document.content_type
    ]
    response = HttpResponse(content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"document-{document.pk}.{extension}"
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    """A clinician outside the compartment opens one dossier in an emergency."""
    if not permissions.is_clinician(request.user) or compartment not in Compartment.values:
        raise Http404
    patient = permissions.access_patient(request.user, patient_id)
    dossier = Dossier.objects.select_related("patient__identity_key").get(
        patient=patient, compartment=compartment
    )
    existing = permissions.dossier_access_for(request.user, dossier)
    if existing is not None:
        return redirect("dossiers:dossier_detail", patient_id=patient.pk, compartment=compartment)
    form = BreakGlassForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                grant = services.break_glass_open(
                    acting_user=request.user, dossier=dossier, reason=form.cleaned_data["reason"]
                )
                access_record(
                    request=request,
                    action=AccessEvent.Action.BREAK_GLASS_OPEN,
                    patient_id=patient.pk,
                    compartment=compartment,
                    object_type="break_glass",
                    object_id=str(grant.pk),
                    break_glass=True,
                )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return redirect(
                "dossiers:dossier_detail", patient_id=patient.pk, compartment=compartment
            )
    return render(
        request,
        "dossiers/break_glass.html",
        {"patient": patient, "compartment": Compartment(compartment), "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def dossier_sharing(request: HttpRequest, patient_id: uuid.UUID, compartment: str) -> HttpResponse:
    """The compartment's team gives a visiting clinician or a care team access."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

    from usmp.accounts.models import User

    access = permissions.access_dossier(
        request, patient_id, compartment, action=AccessEvent.Action.DOSSIER_VIEW
    )
    if not permissions.is_team_member(request.user, compartment):
        raise Http404
    dossier = access.dossier
    candidates = [
        u
        for u in User.objects.filter(is_active=True, is_superuser=False).order_by("last_name")
        if permissions.is_clinician(u) and not permissions.is_team_member(u, compartment)
    ]
    teams = list(Group.objects.exclude(name__in=[r.value for r in Role]).order_by("name"))
    form = GrantForm(request.POST or None, users=candidates, groups=teams)
    if request.method == "POST":
        revoke = request.POST.get("revoke", "")
        if revoke:
            grantee = form.users.get(revoke) or form.groups.get(revoke)
            if grantee is None:
                granted_users = {
                    f"user:{u.pk}": u
                    for u in get_users_with_perms(
                        dossier, with_superusers=False, with_group_users=False
                    )
                }
                grantee = granted_users.get(revoke)
            if grantee is None:
                return HttpResponse(status=400)
            services.dossier_revoke(acting_user=request.user, dossier=dossier, grantee=grantee)
            messages.success(request, _("Access removed."))
            return redirect(request.path)
        if form.is_valid():
            services.dossier_grant(
                acting_user=request.user,
                dossier=dossier,
                grantee=form.cleaned_data["grantee"],
                write=form.cleaned_data["write"],
            )
            messages.success(request, _("Access given."))
            return redirect(request.path)
    granted_users = get_users_with_perms(dossier, with_superusers=False, with_group_users=False)
    granted_groups = get_groups_with_perms(dossier)
    return render(
        request,
        "dossiers/dossier_sharing.html",
        {
            "access": access,
            "patient": dossier.patient,
            "urls": _dossier_urls(access),
            "form": form,
            "granted_users": granted_users,
            "granted_groups": granted_groups,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def consents(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    if not permissions.is_clinician(request.user):
        raise Http404
    patient = permissions.access_patient(request.user, patient_id)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record(acting_user=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("dossiers:consents", patient_id=patient.pk)
    with transaction.atomic():
        access_record(
            request=request, action=AccessEvent.Action.CONSENTS_VIEW, patient_id=patient.pk
        )
        return render(
            request,
            "dossiers/consents.html",
            {
                "patient": patient,
                "consents": selectors.patient_consents(patient),
                "form": form,
                "withdraw_form": WithdrawForm(initial={"withdrawn_on": timezone.localdate()}),
            },
            status=400 if form.is_bound and form.errors else 200,
        )


@require_POST
def consent_withdraw(
    request: HttpRequest, patient_id: uuid.UUID, consent_id: uuid.UUID
) -> HttpResponse:
    if not permissions.is_clinician(request.user):
        raise Http404
    patient = permissions.access_patient(request.user, patient_id)
    try:
        consent = Consent.objects.get(pk=consent_id, patient=patient)
    except Consent.DoesNotExist:
        raise Http404 from None
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(
                acting_user=request.user, consent=consent, on=form.cleaned_data["withdrawn_on"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Withdrawal recorded; the earlier decision stays on file."))
    else:
        messages.error(request, _("Enter a valid withdrawal date."))
    return redirect("dossiers:consents", patient_id=patient.pk)


@require_GET
def patient_rights(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """For the patient: the dossiers the unit holds and how to obtain them (printable).
    Every patient has both dossiers, so saying so reveals nothing about the care received."""
    patient = permissions.access_patient(request.user, patient_id)
    return render(
        request,
        "dossiers/patient_rights.html",
        {
            "patient": patient,
            "compartments": list(Compartment),
            "unit_name": settings.USMP_UNIT_NAME,
        },
    )


@require_GET
def break_glass_list(request: HttpRequest) -> HttpResponse:
    """The coordinator's in-app list of emergency accesses (review comes with the audit page)."""
    if not request.user.has_perm("dossiers.review_break_glass"):
        raise PermissionDenied
    return render(
        request,
        "dossiers/break_glass_list.html",
        {"accesses": selectors.break_glass_accesses(), "now": timezone.now()},
    )
