"""Pages that list several patients: the day, the printable day list, a practitioner's
week, the home panels. Each records one ``list_view`` event naming the list (and its day),
never a patient."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dossiers.permissions import is_clinician
from dossiers.selectors import break_glass_to_review_count
from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer

from .. import clock, permissions
from ..models import ACTIVE_STATUSES, CareRequest, Priority
from ..selectors import agenda, reference, visit_tasks
from .convert import Converter, person_name
from .data import AppointmentView, Column, Grid, VisitTaskView
from .wall import NOBODY, wall_for


def user_of(viewer: Viewer) -> Any:
    from django.contrib.auth.models import AnonymousUser

    return viewer.user if viewer.user is not None else AnonymousUser()


def list_target(object_type: str, object_id: str = "") -> Target:
    return Target(Action.LIST_VIEW, object_type=object_type, object_id=object_id)


def require(viewer: Viewer, allowed: bool, target: Target, *, purpose: str) -> None:
    """Refuse (403, recorded) unless ALLOWED."""
    if not allowed:
        record.refuse(viewer, target, purpose=purpose, hide=False)


def _grid(grid: agenda.Grid, convert: Converter) -> Grid:
    views = convert.rows([a for c in grid.columns for a in c.appointments], grid.references)
    return Grid(
        columns=tuple(
            Column(
                key=c.key,
                label=c.label,
                note=c.note,
                absent=c.absent,
                appointments=tuple(views[a.id] for a in c.appointments),
            )
            for c in grid.columns
        ),
        rows=tuple(
            (hour, tuple(tuple(views[a.id] for a in cell) for cell in cells))
            for hour, cells in grid.rows
        ),
        count=grid.count,
    )


def _converter() -> Converter:
    # Printed lists hold no clinical text: no wall to compute, nothing decrypted but identities.
    return Converter(NOBODY, url_base=reverse("appointments:day"))


def _grid_converter(viewer: Viewer, grid: agenda.Grid) -> Converter:
    """Grids hold no clinical text either, but each line links to the dossier of its
    compartment where the viewer reaches it: the wall over the grid's patients (at most
    three queries, whatever the number of lines)."""
    patients = {a.patient_id for c in grid.columns for a in c.appointments}
    return Converter(wall_for(user_of(viewer), patients), url_base=reverse("appointments:day"))


@dataclass(frozen=True)
class DayView:
    day: datetime.date
    by: str
    grid: Grid


def access_day(*, viewer: Viewer, day: datetime.date, by: str) -> DayView:
    """The unit's day in columns per practitioner (or room) and hour rows."""
    target = list_target("agenda_day", day.isoformat())
    require(viewer, permissions.can_view_agenda(user_of(viewer)), target, purpose=Purpose.DISPLAY)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        grid = agenda.day_agenda(day=day, by=by)
        return DayView(day=day, by=by, grid=_grid(grid, _grid_converter(viewer, grid)))


def access_day_list(*, viewer: Viewer, day: datetime.date) -> tuple[AppointmentView, ...]:
    """The printable list of the day: active appointments in time order."""
    target = list_target("agenda_day_print", day.isoformat())
    require(viewer, permissions.can_view_agenda(user_of(viewer)), target, purpose=Purpose.PRINT)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.PRINT)
        rows, refs = agenda.day_list(day=day)
        views = _converter().rows(rows, refs)
        return tuple(views[r.id] for r in rows)


@dataclass(frozen=True)
class Practitioner:
    id: int
    name: str


@dataclass(frozen=True)
class WeekView:
    practitioner: Practitioner | None
    monday: datetime.date
    grid: Grid | None


def access_week(*, viewer: Viewer, practitioner: Any, monday: datetime.date) -> WeekView:
    """One practitioner's week (PRACTITIONER: a user, or None for the viewer themselves when
    they consult)."""
    user = user_of(viewer)
    require(
        viewer,
        permissions.can_view_agenda(user),
        list_target("agenda_week", monday.isoformat()),
        purpose=Purpose.DISPLAY,
    )
    if practitioner is None and viewer.user is not None:
        practitioner = reference.practitioners().filter(pk=viewer.user.pk).first()
    if practitioner is None:
        return WeekView(practitioner=None, monday=monday, grid=None)
    target = list_target("agenda_week", f"{monday.isoformat()}/{practitioner.pk}")
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        grid = agenda.week_agenda(practitioner=practitioner, monday=monday)
        return WeekView(
            practitioner=Practitioner(practitioner.pk, person_name(practitioner)),
            monday=monday,
            grid=_grid(grid, _grid_converter(viewer, grid)),
        )


@dataclass(frozen=True)
class PractitionerDay:
    """One practitioner's consultations of the day, in time order."""

    name: str
    appointments: tuple[AppointmentView, ...]

    @property
    def late(self) -> int:
        return sum(1 for a in self.appointments if a.is_late)


@dataclass(frozen=True)
class HomePanels:
    """The agenda's panels on the home page."""

    day: datetime.date | None = None
    # "Ma journée": the clinician's own consultations of the day, with links to the
    # dossiers they reach.
    show_my_day: bool = False
    my_day: tuple[AppointmentView, ...] = ()
    # The unit's day by practitioner, for those who book without consulting (secretaries).
    show_unit_day: bool = False
    unit_day: tuple[PractitionerDay, ...] = ()
    to_reschedule: tuple[AppointmentView, ...] = ()
    show_tasks: bool = False
    tasks: tuple[VisitTaskView, ...] = ()
    overdue: int = 0
    show_requests: bool = False
    waiting: int = 0
    urgent: int = 0
    # The coordinator's: emergency accesses that await review.
    show_review: bool = False
    to_review: int = 0

    @property
    def late(self) -> int:
        return sum(1 for a in self.my_day if a.is_late)


def _with_lateness(views: dict[Any, AppointmentView]) -> dict[Any, AppointmentView]:
    now = timezone.now()
    return {
        key: replace(view, late=view.start <= now) if view.is_planned else view
        for key, view in views.items()
    }


def _my_day(user: Any, day: datetime.date) -> tuple[AppointmentView, ...]:
    start, end = clock.day_bounds(day)
    rows = agenda.appointment_rows(start, end, practitioner=user, status__in=ACTIVE_STATUSES)
    convert = Converter(wall_for(user, {r.patient_id for r in rows}))
    views = _with_lateness(convert.rows(rows, agenda.references(rows)))
    return tuple(views[r.id] for r in rows)


def by_practitioner(views: Any) -> tuple[PractitionerDay, ...]:
    """VIEWS (in time order) grouped by practitioner, alphabetically, the hospital's
    external consultations (no practitioner) last."""
    groups: dict[str, list[AppointmentView]] = {}
    for view in views:
        groups.setdefault(view.practitioner_name, []).append(view)
    names = sorted(groups, key=lambda n: (n == "", n.casefold()))
    return tuple(PractitionerDay(n, tuple(groups[n])) for n in names)


def _unit_day(day: datetime.date) -> tuple[PractitionerDay, ...]:
    rows, refs = agenda.day_list(day=day)
    views = _with_lateness(_converter().rows(rows, refs))
    return by_practitioner(views[r.id] for r in rows)


def access_home(*, viewer: Viewer) -> HomePanels:
    """The viewer's day (a clinician's consultations, or the unit's by practitioner),
    appointments to reschedule, mandatory visits, the request queue's counts and the
    emergency accesses to review, as the viewer's roles allow. One list event when
    patients are listed."""
    user = user_of(viewer)
    today = clock.today()
    with transaction.atomic():
        convert = _converter()
        show_my_day = permissions.can_view_agenda(user) and is_clinician(user)
        my_day = _my_day(user, today) if show_my_day else ()
        show_unit_day = permissions.can_book(user) and not show_my_day
        unit_day = _unit_day(today) if show_unit_day else ()
        to_reschedule: tuple[AppointmentView, ...] = ()
        if permissions.can_change_appointments(user):
            to_reschedule = tuple(
                convert.appointment(a) for a in agenda.appointments_to_reschedule()
            )
        tasks: tuple[VisitTaskView, ...] = ()
        show_tasks = permissions.can_view_visit_tasks(user)
        if show_tasks:
            tasks = tuple(
                convert.visit_task(row.task, overdue=row.overdue)
                for row in visit_tasks.visit_tasks_pending()
            )
        if my_day or unit_day or to_reschedule or tasks:
            record.allowed(viewer, list_target("home", today.isoformat()), purpose=Purpose.DISPLAY)
        waiting = urgent = 0
        show_requests = permissions.can_view_care_requests(user)
        if show_requests:
            queue = CareRequest.objects.filter(status=CareRequest.Status.WAITING)
            waiting = queue.count()
            urgent = queue.filter(priority=Priority.URGENT).count()
        show_review = bool(user.has_perm("dossiers.review_break_glass"))
        return HomePanels(
            day=today,
            show_my_day=show_my_day,
            my_day=my_day,
            show_unit_day=show_unit_day,
            unit_day=unit_day,
            to_reschedule=to_reschedule,
            show_tasks=show_tasks,
            tasks=tasks,
            overdue=sum(1 for t in tasks if t.overdue),
            show_requests=show_requests,
            waiting=waiting,
            urgent=urgent,
            show_review=show_review,
            to_review=break_glass_to_review_count() if show_review else 0,
        )
