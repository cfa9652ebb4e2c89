from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from usmp.access.rules import Can


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    rule: str | None = None  # a page rule (usmp.access.rules): the menu shows what opens


NAVIGATION = [
    NavItem(_("Home"), "home"),
    NavItem(_("Patients"), "dossiers:patient_search", "patients_search"),
    NavItem(_("New patient"), "dossiers:patient_create", "patients_register"),
    NavItem(_("Agenda"), "appointments:day", "agenda_view"),
    NavItem(_("Care requests"), "appointments:request_list", "care_requests_view"),
    NavItem(_("Agenda settings"), "appointments:setup", "reference_edit"),
    NavItem(_("Activity report"), "appointments:report", "activity_report"),
    NavItem(_("Record requests"), "disclosures:register", "disclosures"),
    NavItem(_("Certificates register"), "certificates:register", "certificates_register"),
    NavItem(_("Certificate types"), "certificates:types", "certificate_types"),
    NavItem(_("Accounts"), "staff_list", "accounts_manage"),
    NavItem(_("Emergency accesses"), "coordination:break_glass_list", "emergency_review"),
    NavItem(_("Audit log"), "oversight:audit_log", "audit_review"),
    NavItem(_("Access report"), "oversight:patient_report_lookup", "audit_review"),
    NavItem(_("Prison bridge"), "bridge:clients", "bridge_manage"),
    NavItem(_("Import a transfer"), "transfers:upload", "transfer_import"),
    NavItem(_("Partner units"), "transfers:partners", "partner_units"),
    NavItem(_("Lockouts"), "lockouts", "lockouts_manage"),
    NavItem(_("Role changes"), "role_changes", "role_changes_view"),
    NavItem(_("Account security"), "security"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items = []
    can = Can(user)
    # Between the password and the second factor, nothing is offered but logging out.
    verified = user is not None and getattr(user, "is_verified", lambda: False)()
    if user is not None and user.is_authenticated and verified:
        for item in NAVIGATION:
            if item.rule is None or can[item.rule]:
                url = reverse(item.url_name)
                items.append({"label": item.label, "url": url, "current": request.path == url})
    return {"nav_items": items, "unit_name": settings.USMP_UNIT_NAME, "can": can}
