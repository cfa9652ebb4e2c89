"""The coordinator's account pages (usmp.accounts.staff) and everyone's password change."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from usmp.access.rules import page
from usmp.access.viewer import StaffRequest
from usmp.core.audit import acting_as
from usmp.core.errors import form_refusal, service_call
from usmp.core.net import client_ip

from . import staff
from .forms import StaffForm
from .middleware import allowed_before_password_change
from .models import User
from .roles import Role


def _say_roles(request: StaffRequest, outcome: staff.RolesOutcome) -> None:
    for role in outcome.proposed:
        messages.info(
            request,
            _("Role %(role)s proposed: it takes effect once the medical lead confirms it.")
            % {"role": Role(role).label},
        )


@page("accounts_manage")
@require_http_methods(["GET"])
def staff_list(request: StaffRequest) -> HttpResponse:
    show = request.GET.get("show", "active")
    active = {"active": True, "inactive": False}.get(show)
    return render(
        request,
        "accounts/staff_list.html",
        {
            "accounts": staff.staff_list(active=active),
            "show": show if active is not None else "all",
        },
    )


def _password_page(request: StaffRequest, account: User, password: str, *, created: bool) -> Any:
    return render(
        request,
        "accounts/staff_password.html",
        {"account": account, "password": password, "created": created},
    )


@page("accounts_manage")
@require_http_methods(["GET", "POST"])
def staff_create(request: StaffRequest) -> HttpResponse:
    form = StaffForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            made = service_call(
                form,
                staff.staff_create,
                acting_user=request.user,
                source_ip=client_ip(request),
                **form.cleaned_data,
            )
            if made is not None:
                account, password, outcome = made
                _say_roles(request, outcome)
                return _password_page(request, account, password, created=True)
        return render(request, "accounts/staff_form.html", {"form": form}, status=400)
    return render(request, "accounts/staff_form.html", {"form": form})


@page("accounts_manage")
@require_http_methods(["GET", "POST"])
def staff_edit(request: StaffRequest, user_id: int) -> HttpResponse:
    account = get_object_or_404(User.objects.prefetch_related("groups"), pk=user_id)
    own = account.pk == request.user.pk
    if account.is_superuser and not request.user.is_superuser:
        return render(request, "accounts/staff_locked.html", {"account": account}, status=403)
    held = [g.name for g in account.groups.all() if g.name in Role.values]
    initial = {
        "username": account.username,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "email": account.email,
        "roles": held,
    }
    form = StaffForm(request.POST or None, initial=initial, own_account=own)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            roles = None if own else data.pop("roles")
            data.pop("roles", None)
            try:
                outcome = staff.staff_update(
                    acting_user=request.user,
                    user=account,
                    roles=roles,
                    source_ip=client_ip(request),
                    **data,
                )
            except ValidationError as exc:
                status = form_refusal(request, form, exc)
            else:
                _say_roles(request, outcome)
                messages.success(request, _("Account saved."))
                return redirect("staff_edit", user_id=account.pk)
    return render(
        request,
        "accounts/staff_form.html",
        {
            "form": form,
            "account": account,
            "own": own,
            "pending": staff.staff_list_pending(account),
        },
        status=status,
    )


@page("accounts_manage")
@require_http_methods(["POST"])
def staff_status(request: StaffRequest, user_id: int) -> HttpResponse:
    """Deactivate or reactivate, after the page's confirmation step."""
    account = get_object_or_404(User, pk=user_id)
    action = request.POST.get("action")
    if action not in {"deactivate", "reactivate"}:
        return HttpResponse(_("Choose to deactivate or to reactivate."), status=400)
    if request.POST.get("confirm") != "yes":
        return render(
            request, "accounts/staff_confirm.html", {"account": account, "action": action}
        )
    try:
        staff.staff_set_active(
            acting_user=request.user, user=account, active=action == "reactivate"
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Account deactivated: it can no longer log in.")
            if action == "deactivate"
            else _("Account reactivated."),
        )
    return redirect("staff_edit", user_id=account.pk)


@page("accounts_manage")
@require_http_methods(["POST"])
def staff_password_reset(request: StaffRequest, user_id: int) -> HttpResponse:
    account = get_object_or_404(User, pk=user_id)
    if request.POST.get("confirm") != "yes":
        return render(
            request, "accounts/staff_confirm.html", {"account": account, "action": "password"}
        )
    try:
        password = staff.staff_password_reset(acting_user=request.user, user=account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("staff_edit", user_id=account.pk)
    return _password_page(request, account, password, created=False)


@allowed_before_password_change
@require_http_methods(["GET", "POST"])
def password_change(request: StaffRequest) -> HttpResponse:
    """Everyone's own password; the first page after a temporary one."""
    form = PasswordChangeForm(request.user, request.POST or None)
    # The validators' rules as one sentence (the page's lead), not Django's HTML list.
    form.fields["new_password1"].help_text = ""
    if request.method == "POST":
        if form.is_valid():
            with acting_as(request.user):
                user = form.save(commit=False)
                user.must_change_password = False
                user.save(update_fields=["password", "must_change_password"])
            update_session_auth_hash(request, user)
            messages.success(request, _("Password changed."))
            return redirect("home")
        return render(request, "accounts/password_change.html", {"form": form}, status=400)
    return render(request, "accounts/password_change.html", {"form": form})
