"""The agenda's panel on the home page: appointments to reschedule, the nurses' mandatory
visits and the request queue."""

from __future__ import annotations

from typing import Any

from django import template

from usmp.audit.models import AccessEvent
from usmp.audit.services import access_record

from .. import permissions
from ..models import CareRequest, Priority
from ..selectors.agenda import appointments_to_reschedule
from ..selectors.visit_tasks import visit_tasks_pending

register = template.Library()


@register.inclusion_tag("appointments/_home.html", takes_context=True)
def agenda_home(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    result: dict[str, Any] = {
        "show_tasks": False,
        "show_requests": False,
        "to_reschedule": [],
    }
    if permissions.can_change_appointments(user):
        result["to_reschedule"] = appointments_to_reschedule()
    if permissions.can_view_visit_tasks(user):
        rows = visit_tasks_pending()
        result.update(
            show_tasks=True,
            task_rows=rows,
            overdue=sum(1 for r in rows if r.overdue),
            can_book=permissions.can_book(user),
        )
    if result["to_reschedule"] or result.get("task_rows"):
        # Names and prison numbers are listed: one access event, as for the agenda's lists.
        access_record(
            request=context["request"],
            action=AccessEvent.Action.LIST_VIEW,
            object_type="home",
        )
    if permissions.can_view_care_requests(user):
        waiting = CareRequest.objects.filter(status=CareRequest.Status.WAITING)
        result.update(
            show_requests=True,
            waiting=waiting.count(),
            urgent=waiting.filter(priority=Priority.URGENT).count(),
            can_add_request=permissions.can_add_care_requests(user),
        )
    return result
