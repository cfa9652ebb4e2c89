"""Account management. The admin holds no clinical or identifying model."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "last_name", "first_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "groups")
    actions = None  # no bulk delete: users are deactivated, never deleted

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        # A coordinator assigns roles (groups) but cannot grant superuser or raw permissions.
        return (
            (None, {"fields": ("username", "password")}),
            (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (_("Roles"), {"fields": ("is_active", "groups")}),
            (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly += ["is_staff", "is_superuser"]
        if obj is not None and obj.pk == request.user.pk:
            # Nobody grants roles to themselves; another coordinator or admin must.
            readonly += ["groups", "is_active"]
        return readonly


def _login_first(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin has no login of its own: ours asks for the second factor and applies the
    lockout."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


admin.site.login = login_not_required(_login_first)  # type: ignore[method-assign]


# The write history lists patients' ids and their changes: it is the coordinator's to review
# (audit page), not the IT administrator's.
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
