"""Account management. The admin holds no clinical or identifying model."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static import admin as _otp_static_admin  # noqa: F401 - registered
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: F401 - first, then
from django_otp.plugins.otp_totp.models import TOTPDevice

from usmp.core.net import client_ip

from . import alerts
from .models import User
from .role_changes import needs_confirmation, role_change_propose
from .roles import Role


class GroupAdmin(BaseGroupAdmin):
    """Roles are defined in code (usmp.accounts.roles) and re-synchronised at every migrate:
    nobody edits a group's permissions here (a secretary's group given the psychiatric
    team's permission would be a role change nobody confirmed)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "last_name", "first_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "groups")
    actions = None  # no bulk delete: users are deactivated, never deleted

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        if request.user.is_superuser:
            return (*fieldsets, (_("Pro Santé Connect"), {"fields": ("rpps",)}))
        # A coordinator assigns roles (groups) but cannot grant superuser or raw permissions.
        return (
            (None, {"fields": ("username", "password")}),
            (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (_("Roles"), {"fields": ("is_active", "groups")}),
            (_("Pro Santé Connect"), {"fields": ("rpps",)}),
            (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if "rpps" in form.changed_data:
            # Opens (or closes) the account to a CPS card: recorded and told, in the
            # transaction the admin opens for the whole change form.
            alerts.rpps_changed(
                user=obj,
                acting_user=request.user,
                source_ip=client_ip(request),
                linked=bool(obj.rpps),
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Clinical roles (and the medical lead's) chosen here are only proposed: the account
        gets them once the medical lead confirms (usmp.accounts.role_changes). Roles taken
        away take effect at once."""
        user = form.instance
        chosen = form.cleaned_data.get("groups")
        withheld = []
        if chosen is not None:
            held = set(user.groups.values_list("name", flat=True)) if change else set()
            withheld = [g for g in chosen if needs_confirmation(g.name) and g.name not in held]
            form.cleaned_data["groups"] = [g for g in chosen if g not in withheld]
        super().save_related(request, form, formsets, change)
        for group in withheld:
            role_change_propose(
                user=user, role=group.name, acting_user=request.user, source_ip=client_ip(request)
            )
            messages.info(
                request,
                _("Role %(role)s proposed: it takes effect once the medical lead confirms it.")
                % {"role": Role(group.name).label},
            )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly += ["is_staff", "is_superuser"]
        else:
            # Linking an RPPS number opens the account to that CPS card: the coordinator's
            # to do, never the IT administrator's (who could link their own card).
            readonly += ["rpps"]
        if obj is not None and obj.pk == request.user.pk:
            # Nobody grants roles to themselves; another coordinator or admin must.
            readonly += ["groups", "is_active"]
        return readonly


def _login_first(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin has no login of its own: ours asks for the second factor and applies the
    lockout."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


admin.site.login = login_not_required(_login_first)  # type: ignore[method-assign]


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)

# The write history lists patients' ids and their changes: it is the coordinator's to review
# (audit page), not the IT administrator's.
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)

# Second factors are enrolled by their owner and reset by the coordinator (factors_reset),
# never made in the admin: a device added there would carry a key its maker knows. (A TOTP
# device made anyway has no sealed secret and never verifies a code.)
for _factor_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_factor_model):
        admin.site.unregister(_factor_model)
