from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    permission: str | None = None
    staff_only: bool = False

    def visible_to(self, user: Any) -> bool:
        if self.staff_only and not user.is_staff:
            return False
        return self.permission is None or user.has_perm(self.permission)


NAVIGATION = [
    NavItem(_("Home"), "home"),
    NavItem(_("Patients"), "dossiers:patient_search", "dossiers.view_patient"),
    NavItem(_("New patient"), "dossiers:patient_create", "dossiers.add_patient"),
    NavItem(_("Agenda"), "appointments:day", "appointments.view_appointment"),
    NavItem(_("Care requests"), "appointments:request_list", "appointments.view_carerequest"),
    NavItem(_("Agenda settings"), "appointments:setup", "appointments.change_specialty"),
    NavItem(_("Activity report"), "appointments:report", "appointments.view_activity_report"),
    NavItem(_("Accounts"), "admin:accounts_user_changelist", "accounts.view_user", True),
    NavItem(
        _("Emergency accesses"), "coordination:break_glass_list", "dossiers.review_break_glass"
    ),
    NavItem(_("Audit log"), "oversight:audit_log", "audit.review_audit"),
    NavItem(_("Access report"), "oversight:patient_report_lookup", "audit.review_audit"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for item in NAVIGATION:
            if item.visible_to(user):
                url = reverse(item.url_name)
                items.append({"label": item.label, "url": url, "current": request.path == url})
    return {"nav_items": items, "unit_name": settings.USMP_UNIT_NAME}
