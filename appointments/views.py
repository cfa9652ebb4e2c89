"""The agenda's pages. Data comes from the access functions (``appointments.access``), which
record every read and refusal, and is rendered afterwards."""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from certificates.access import access_pending_requests
from disclosures.access import access_due_requests
from dossiers.access import patients as patient_access
from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.core.errors import add_service_error, form_refusal, service_call

from . import charts, clock, movements, permissions, rendering, report_printing, reports
from . import forms as agenda_forms
from .access import lists, objects
from .access.data import AppointmentView
from .models import (
    KINDS_IN_A_ROOM,
    Absence,
    Kind,
    MovementPoint,
    OpeningHours,
    Room,
    RoomClosure,
    Specialty,
    VisitTask,
)
from .selectors.care_requests import care_request_stats
from .selectors.slots import Slot, free_slots
from .services import changes, handover
from .services.availability import BookingConflict
from .services.booking import appointment_book, appointment_series_book, is_treating_doctor
from .services.care_requests import care_request_close, care_request_create
from .services.reference import reference_save
from .services.visit_tasks import prevention_visit_open

# -- Helpers ------------------------------------------------------------------------------------


def _uuid_or_404(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


def _day_url(day: datetime.date) -> str:
    return f"{reverse('appointments:day')}?{urlencode({'date': day.isoformat()})}"


def _booking_context(request: StaffRequest, purpose: str) -> objects.BookingContext:
    """Patient, care request or mandatory visit that a booking starts from (query string on
    GET, hidden fields on POST). A forged or foreign id is a 404 (recorded)."""
    source = request.POST if request.method == "POST" else request.GET
    return objects.access_booking(
        viewer=Viewer.of(request),
        purpose=purpose,
        care_request_id=_uuid_or_404(source.get("care_request")),
        visit_task_id=_uuid_or_404(source.get("visit_task")),
        patient_id=_uuid_or_404(source.get("patient")),
    )


def _slot_links(slots: list[Slot], base: dict[str, str], kind: str) -> list[Any]:
    url = reverse("appointments:book")
    rows = []
    for slot in slots:
        start, end = clock.local(slot.start), clock.local(slot.end)
        query = {
            **base,
            "specialty": str(slot.specialty_id),
            "practitioner": str(slot.practitioner_id),
            "room": str(slot.room_id),
            "kind": kind if kind in (Kind.ON_SITE, Kind.TELECONSULTATION) else Kind.ON_SITE,
            "date": start.date().isoformat(),
            "start_time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"),
        }
        rows.append({"slot": slot, "url": f"{url}?{urlencode(query)}"})
    return rows


SEARCH_KEYS = ("specialty", "practitioner", "date", "duration")


def _search_data(source: QueryDict) -> dict[str, str]:
    """Slot-search criteria: the search form's own fields (prefixed "s-") when it was used,
    otherwise what the booking form holds."""
    if any(key.startswith("s-") and source.get(key) for key in source):
        return {k: str(source.get(f"s-{k}")) for k in SEARCH_KEYS if source.get(f"s-{k}")}
    return {k: str(source.get(k)) for k in SEARCH_KEYS if source.get(k)}


def _search_slots(
    data: dict[str, Any], *, patient: Any
) -> tuple[agenda_forms.SlotSearchForm, list[Slot]]:
    form = agenda_forms.SlotSearchForm({f"s-{k}": v for k, v in data.items()}, prefix="s")
    if not form.is_valid():
        return form, []
    specialty = form.cleaned_data["specialty"]
    practitioner = form.cleaned_data["practitioner"]
    if specialty is None and practitioner is None:
        return form, []
    duration_minutes = form.cleaned_data["duration"] or (
        specialty.default_duration if specialty else 30
    )
    after = timezone.now()
    if form.cleaned_data["date"]:
        after = max(after, clock.day_bounds(form.cleaned_data["date"])[0])
    found = free_slots(
        duration=datetime.timedelta(minutes=duration_minutes),
        after=after,
        specialty=specialty,
        practitioner=practitioner,
        patient=patient,
    )
    return form, found


# -- Home -----------------------------------------------------------------------------------------


@require_GET
def home(request: StaffRequest) -> HttpResponse:
    """Everyone's first page: the patient search, and the agenda's panels the viewer's roles
    call for (appointments to reschedule, mandatory visits, the request queue)."""
    viewer = Viewer.of(request)
    return render(
        request,
        "core/home.html",
        {
            "panels": lists.access_home(viewer=viewer),
            # The unit's physicians: requests for the record overdue or due soon.
            "due_requests": access_due_requests(viewer=viewer),
            # The signers: certificate requests waiting for their decision.
            "pending_certificates": access_pending_requests(viewer=viewer),
        },
    )


# -- Day, week, print, patient --------------------------------------------------------------------


@page("agenda_view")
@require_GET
def day(request: StaffRequest) -> HttpResponse:
    form = agenda_forms.DayForm(request.GET or None)
    the_day = form.day()
    by = (
        form.cleaned_data.get("by") if form.is_bound and form.is_valid() else ""
    ) or "practitioner"
    view = lists.access_day(viewer=Viewer.of(request), day=the_day, by=by)
    return render(
        request,
        "appointments/day.html",
        {
            "form": form,
            "date_errors": form.date_errors(),
            "day": the_day,
            "by": by,
            "grid": view.grid,
            # Columns of rooms show each line's practitioner, and the other way round.
            "rows": rendering.grid_rows(view.grid, show="practitioner" if by == "room" else "room"),
            "previous": the_day - datetime.timedelta(days=1),
            "next": the_day + datetime.timedelta(days=1),
        },
    )


@page("agenda_view")
@require_GET
def day_print(request: StaffRequest) -> HttpResponse:
    form = agenda_forms.DayForm(request.GET or None)
    the_day = form.day()
    return render(
        request,
        "appointments/day_print.html",
        {
            "date_errors": form.date_errors(),
            "day": the_day,
            "practitioners": lists.by_practitioner(
                lists.access_day_list(viewer=Viewer.of(request), day=the_day)
            ),
            "printed_at": timezone.localtime(),
        },
    )


@page("agenda_view")
@require_GET
def week(request: StaffRequest) -> HttpResponse:
    form = agenda_forms.WeekForm(request.GET or None)
    practitioner = None
    the_day = clock.today()
    if form.is_bound and form.is_valid():
        practitioner = form.cleaned_data["practitioner"]
        the_day = form.cleaned_data["date"] or the_day
    monday = clock.week_monday(the_day)
    view = lists.access_week(viewer=Viewer.of(request), practitioner=practitioner, monday=monday)
    date_errors = form.date_errors()
    if not form.is_bound:
        form = agenda_forms.WeekForm(
            initial={
                "practitioner": view.practitioner.id if view.practitioner else None,
                "date": the_day,
            }
        )
    elif view.practitioner is not None and not form.data.get("practitioner"):
        # No practitioner asked: the page shows the viewer's own week, and so does the list.
        data = form.data.copy()
        data["practitioner"] = str(view.practitioner.id)
        form = agenda_forms.WeekForm(data)
    return render(
        request,
        "appointments/week.html",
        {
            "form": form,
            "date_errors": date_errors,
            "practitioner": view.practitioner,
            "monday": monday,
            "grid": view.grid,
            "rows": rendering.grid_rows(view.grid, show="room") if view.grid else [],
            "previous": monday - datetime.timedelta(days=7),
            "next": monday + datetime.timedelta(days=7),
        },
    )


@page("agenda_patient")
@require_GET
def patient(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    agenda = objects.access_patient_agenda(viewer=Viewer.of(request), patient_id=patient_id)
    return render(
        request,
        "appointments/patient.html",
        {
            "patient": agenda.patient,
            "upcoming": agenda.upcoming,
            "past": agenda.past,
            "unavailabilities": agenda.unavailabilities,
            "care_requests": agenda.care_requests,
        },
    )


@page("agenda_prevention")
@require_POST
def prevention_open(request: StaffRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The prison reports that the patient works: open their prevention visit (L.412-47)."""
    opened = objects.access_agenda_patient(
        viewer=Viewer.of(request), patient_id=patient_id, purpose=Purpose.WRITE
    )
    try:
        prevention_visit_open(acting_user=request.user, patient=opened.instance())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Prevention visit opened: it is in the visits to book."))
    return redirect("appointments:patient", patient_id=patient_id)


# -- Booking ------------------------------------------------------------------------------------


def _booked_message(booked: list[Any]) -> str:
    first = clock.local(booked[0].start)
    values = {"day": first.strftime("%d/%m/%Y"), "time": first.strftime("%H:%M")}
    if len(booked) > 1:
        return _("%(count)d appointments booked, the first on %(day)s at %(time)s.") % {
            "count": len(booked),
            **values,
        }
    return _("Appointment booked on %(day)s at %(time)s.") % values


LEAK_CONFIRM = "confirm_single_specialty"


def _leak_warning(
    request: StaffRequest, *, point: Any, specialty: Any, moving: Any = None
) -> str | None:
    """The warning to show before a booking or a move that would leave a movement point
    served by one specialty (bridge.W002), unless the person ticked that they understood."""
    if request.POST.get(LEAK_CONFIRM) == "on":
        return None
    named = movements.specialty_named_by(point=point, specialty=specialty, moving=moving)
    if named is None:
        return None
    named_point, named_specialty = named
    return _(
        "Careful: after this, only %(specialty)s consultations would take place at "
        "“%(point)s”. The guards who bring patients there would then know that they are "
        "seeing %(specialty)s. If you can, choose another room or movement point; otherwise "
        "tick the box to confirm."
    ) % {"point": named_point.label, "specialty": named_specialty.name}


TREATING_CONFIRM = "confirm_treating_doctor"
TREATING_REASON = "treating_reason"


def _treating_warning(
    request: StaffRequest, *, visit_task: Any, practitioner: Any
) -> tuple[str | None, str]:
    """(the warning to show, the override to record) before booking a prevention visit with
    the patient's treating doctor: the booker ticks the box and gives a reason, or chooses
    another practitioner."""
    task = visit_task.instance() if visit_task is not None else None
    if not is_treating_doctor(visit_task=task, practitioner=practitioner, now=timezone.now()):
        return None, ""
    reason = request.POST.get(TREATING_REASON, "")
    if request.POST.get(TREATING_CONFIRM) == "on" and reason in VisitTask.TreatingOverride.values:
        return None, reason
    return _(
        "Careful: %(name)s is this patient's treating doctor (the one who saw them most in the "
        "last twelve months). The Ordre asks that the prevention visit of a working detainee be "
        "held by another doctor. Choose another practitioner if you can; otherwise tick the box "
        "and give the reason, which is recorded."
    ) % {"name": practitioner.get_full_name() or practitioner.get_username()}, ""


@page("agenda_book")
@require_http_methods(["GET", "POST"])
def book(request: StaffRequest) -> HttpResponse:
    ctx = _booking_context(request, Purpose.WRITE if request.method == "POST" else Purpose.BOOK)
    base_query = ctx.query()
    initial: dict[str, Any] = {
        key: request.GET[key]
        for key in (
            "specialty",
            "practitioner",
            "room",
            "kind",
            "date",
            "start_time",
            "end_time",
            "movement_point",
        )
        if request.GET.get(key)
    }
    if ctx.care_request is not None:
        initial.setdefault("specialty", ctx.care_request.specialty_id)
        initial["care_request"] = ctx.care_request.id
    if ctx.visit_task is not None:
        initial["visit_task"] = ctx.visit_task.id
    form = agenda_forms.BookingForm(
        request.POST or None,
        initial=initial,
        patient_id=ctx.patient.id if ctx.patient else None,
        with_motive=permissions.can_view_motive(request.user),
    )
    conflict = False
    leak_warning = treating_warning = None
    treating_override = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        room = data["room"]
        leak_warning = _leak_warning(
            request,
            point=room.movement_point
            if room is not None and data["kind"] in KINDS_IN_A_ROOM
            else data["movement_point"],
            specialty=data["specialty"],
        )
        treating_warning, treating_override = _treating_warning(
            request, visit_task=ctx.visit_task, practitioner=data["practitioner"]
        )
    if (
        request.method == "POST"
        and form.is_valid()
        and leak_warning is None
        and treating_warning is None
    ):
        data = form.cleaned_data
        patient = ctx.patient_instance()
        if patient is None:
            # Typed as a prison number: opened for the booking (the write is its record).
            assert form.patient_id is not None  # noqa: S101 - set by clean_prison_number
            patient = objects.access_agenda_patient(
                viewer=Viewer.of(request), patient_id=form.patient_id, purpose=Purpose.WRITE
            ).instance()
        common = {
            "acting_user": request.user,
            "patient": patient,
            "specialty": data["specialty"],
            "kind": data["kind"],
            "start": data["start"],
            "end": data["end"],
            "practitioner": data["practitioner"],
            "room": data["room"],
            "movement_point": data["movement_point"],
            "motive": data.get("motive"),
            "care_request": ctx.care_request.instance() if ctx.care_request else None,
        }
        try:
            if data["repeat_every"]:
                booked = appointment_series_book(
                    **common, every_n_weeks=data["repeat_every"], occurrences=data["occurrences"]
                )
            else:
                booked = [
                    appointment_book(
                        **common,
                        visit_task=ctx.visit_task.instance() if ctx.visit_task else None,
                        treating_override=treating_override,
                    )
                ]
        except BookingConflict as exc:
            form.add_error(None, exc)
            conflict = True
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _booked_message(booked))
            return redirect(_day_url(clock.local(booked[0].start).date()))
    # Free slots: from the search form, or from what the booking form holds (after a
    # conflict the clerk sees the slots that are free now).
    source = request.POST if request.method == "POST" else request.GET
    search_data = _search_data(source)
    if "specialty" not in search_data and initial.get("specialty"):
        search_data["specialty"] = str(initial["specialty"])
    if request.method == "POST" or request.GET.get("start_time"):
        # A slot was chosen or refused: offer the whole specialty, not one practitioner.
        search_data.pop("practitioner", None)
    search_form, found = _search_slots(search_data, patient=ctx.patient_instance())
    return render(
        request,
        "appointments/book.html",
        {
            "form": form,
            "patient": ctx.patient,
            "care_request": ctx.care_request,
            "visit_task": ctx.visit_task,
            "search_form": search_form,
            "slots": _slot_links(found, base_query, str(source.get("kind", ""))),
            "searched": bool(search_data.get("specialty") or search_data.get("practitioner")),
            "conflict": conflict,
            "base_query": base_query,
            "unavailabilities": ctx.unavailabilities,
            "leak_warning": leak_warning,
            "leak_confirm": LEAK_CONFIRM,
            "treating_warning": treating_warning,
            "treating_confirm": TREATING_CONFIRM,
            "treating_reason": TREATING_REASON,
            "treating_reasons": VisitTask.TreatingOverride.choices,
            "treating_chosen": request.POST.get(TREATING_REASON, ""),
        },
        status=409 if conflict else (400 if form.is_bound and form.errors else 200),
    )


@page("agenda_book")
@require_GET
def slots(request: StaffRequest) -> HttpResponse:
    """Free slots (htmx fragment in the booking page, or a page of its own)."""
    ctx = _booking_context(request, Purpose.BOOK)
    search_data = _search_data(request.GET)
    search_form, found = _search_slots(search_data, patient=ctx.patient_instance())
    context = {
        "search_form": search_form,
        "slots": _slot_links(found, ctx.query(), ""),
        "searched": bool(search_data.get("specialty") or search_data.get("practitioner")),
        "base_query": ctx.query(),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    template = "appointments/_slots.html" if htmx else "appointments/slots.html"
    return render(request, template, context)


VALIDATED_FORMS: dict[str, Any] = {
    "booking": (agenda_forms.BookingForm, permissions.can_book),
    "move": (agenda_forms.MoveForm, permissions.can_change_appointments),
    "care_request": (agenda_forms.CareRequestForm, permissions.can_add_care_requests),
}


@page("agenda_check")
@require_POST
def validate(request: StaffRequest) -> HttpResponse:
    """Inline validation of one field while the user types (htmx). Reads nothing, except
    the patient whose prison number was typed (name and birth date, to confirm it)."""
    name = request.GET.get("form") or request.POST.get("form", "")
    if name not in VALIDATED_FORMS:
        return HttpResponse(_("Unknown form."), status=400)
    form_class, allowed = VALIDATED_FORMS[name]
    if not allowed(request.user):
        raise PermissionDenied  # recorded by the access middleware
    form = form_class(request.POST)
    form.is_valid()
    field = request.GET.get("field") or request.POST.get("field", "")
    errors = form.field_errors(field)
    confirm = None
    if field == "prison_number" and not errors and getattr(form, "patient_id", None):
        # Whose number was typed: the name and birth date, read (and recorded) as a check.
        confirm = patient_access.access_patient(
            viewer=Viewer.of(request), patient_id=form.patient_id, purpose=Purpose.CHECK
        )
    return render(request, "appointments/_feedback.html", {"errors": errors, "confirm": confirm})


# -- One appointment --------------------------------------------------------------------------------


@page("agenda_open")
@require_GET
def appointment_detail(request: StaffRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = objects.access_appointment(
        viewer=Viewer.of(request), appointment_id=appointment_id, purpose=Purpose.DISPLAY
    )
    can_change = permissions.can_change_appointments(request.user)
    return render(
        request,
        "appointments/appointment_detail.html",
        {
            "appointment": appointment,
            "can_change": can_change,
            "can_move": can_change and appointment.is_planned,
            "can_record_outcome": can_change
            and appointment.status != "cancelled"
            and appointment.start <= timezone.now(),
        },
    )


def _open_for_change(request: StaffRequest, appointment_id: uuid.UUID) -> AppointmentView:
    return objects.access_appointment(
        viewer=Viewer.of(request),
        appointment_id=appointment_id,
        purpose=Purpose.WRITE if request.method == "POST" else Purpose.CHANGE,
        for_change=True,
    )


def _appointment_form_page(
    request: StaffRequest,
    appointment: AppointmentView,
    form: forms.Form,
    *,
    title: str,
    submit: str,
    status: int = 200,
    slots: list[Any] | None = None,
    series: Any = None,
    leak_warning: str | None = None,
    chosen: bool = False,
) -> HttpResponse:
    if request.method == "POST":
        # Shown again after a refusal: the appointment is read for the page.
        appointment = objects.access_appointment(
            viewer=Viewer.of(request), appointment_id=appointment.id, purpose=Purpose.CHANGE
        )
    return render(
        request,
        "appointments/appointment_form.html",
        {
            "appointment": appointment,
            "form": form,
            "title": title,
            "submit": submit,
            "slots": slots,
            "series": series,
            "leak_warning": leak_warning,
            "leak_confirm": LEAK_CONFIRM,
            "chosen": chosen,
        },
        status=status,
    )


MOVE_SLOT_KEYS = ("date", "start_time", "end_time", "practitioner", "room")


def _move_slot_links(slots: list[Slot], path: str) -> list[Any]:
    """Each free slot with the address of the move form filled with it."""
    rows = []
    for slot in slots:
        start, end = clock.local(slot.start), clock.local(slot.end)
        query = {
            "date": start.date().isoformat(),
            "start_time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"),
            "practitioner": str(slot.practitioner_id),
            "room": str(slot.room_id),
        }
        rows.append({"slot": slot, "url": f"{path}?{urlencode(query)}#move-form"})
    return rows


@page("agenda_change")
@require_http_methods(["GET", "POST"])
def appointment_move(request: StaffRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _open_for_change(request, appointment_id)
    start, end = appointment.start, appointment.end
    initial: dict[str, Any] = {
        "date": start.date(),
        "start_time": start.time(),
        "end_time": end.time(),
        "practitioner": appointment.practitioner_id,
        "room": appointment.instance().room_id,
    }
    # A free slot clicked below: the form filled with it, still to be confirmed.
    chosen = {key: request.GET[key] for key in MOVE_SLOT_KEYS if request.GET.get(key)}
    if request.method == "GET" and set(chosen) == set(MOVE_SLOT_KEYS):
        initial.update(chosen)
    form = agenda_forms.MoveForm(request.POST or None, initial=initial)
    status = 200
    leak_warning = None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            row = appointment.instance()
            new_room = data["room"]
            leak_warning = _leak_warning(
                request,
                point=new_room.movement_point
                if new_room is not None and row.kind in KINDS_IN_A_ROOM
                else row.movement_point,
                specialty=row.specialty,
                moving=row,
            )
        if leak_warning is not None:
            status = 200  # nothing written yet: the person confirms, or changes the place
        elif form.is_valid():
            data = form.cleaned_data
            try:
                changes.appointment_move(
                    acting_user=request.user,
                    appointment=appointment.instance(),
                    start=data["start"],
                    end=data["end"],
                    practitioner=data["practitioner"],
                    room=data["room"],
                    reason=data["reason"],
                )
            except BookingConflict as exc:
                add_service_error(form, exc)
                status = 409
            except ValidationError as exc:
                status = form_refusal(request, form, exc)
            else:
                messages.success(request, _("Appointment moved."))
                return redirect("appointments:appointment_detail", appointment_id=appointment.id)
    row = appointment.instance()
    found = free_slots(
        duration=row.end - row.start,
        after=timezone.now(),
        specialty=row.specialty,
        patient=row.patient,
        limit=8,
    )
    return _appointment_form_page(
        request,
        appointment,
        form,
        title=_("Move the appointment"),
        submit=_("Move"),
        status=status,
        slots=_move_slot_links(found, request.path),
        leak_warning=leak_warning,
        chosen=bool(chosen) and request.method == "GET",
    )


@page("agenda_change")
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: StaffRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _open_for_change(request, appointment_id)
    form = agenda_forms.CancelForm(
        request.POST or None,
        in_series=appointment.series is not None,
        # A comment is clinical text of the appointment's compartment: for its readers only.
        with_comment=appointment.clinical_readable,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                cancelled = changes.appointment_cancel(
                    acting_user=request.user,
                    appointment=appointment.instance(),
                    reason=data["reason"],
                    side=data["side"],
                    comment=data["comment"] if "comment" in form.fields else changes.KEEP,
                    following=bool(data.get("following")),
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request,
                    _("%(count)d appointment(s) cancelled.") % {"count": len(cancelled)},
                )
                return redirect("appointments:appointment_detail", appointment_id=appointment.id)
    series = None
    if appointment.series is not None:
        series = objects.access_series(viewer=Viewer.of(request), series_id=appointment.series.id)
    return _appointment_form_page(
        request,
        appointment,
        form,
        title=_("Cancel the appointment"),
        submit=_("Cancel the appointment"),
        status=status,
        series=series,
    )


@page("agenda_change")
@require_http_methods(["GET", "POST"])
def appointment_outcome(request: StaffRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _open_for_change(request, appointment_id)
    form = agenda_forms.OutcomeForm(
        request.POST or None, with_comment=appointment.clinical_readable
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                changes.appointment_record_outcome(
                    acting_user=request.user,
                    appointment=appointment.instance(),
                    done=data["done"],
                    reason=data["reason"],
                    side=data["side"],
                    comment=data["comment"] if "comment" in form.fields else changes.KEEP,
                )
            except ValidationError as exc:
                status = form_refusal(request, form, exc)
            else:
                messages.success(request, _("Outcome recorded."))
                return redirect("appointments:appointment_detail", appointment_id=appointment.id)
    return _appointment_form_page(
        request,
        appointment,
        form,
        title=_("Record the outcome"),
        submit=_("Record"),
        status=status,
    )


# -- Care requests and mandatory visits ------------------------------------------------------------


@page("care_requests_view")
@require_GET
def request_list(request: StaffRequest) -> HttpResponse:
    queue = objects.access_care_request_queue(viewer=Viewer.of(request))
    today = clock.today()
    return render(
        request,
        "appointments/requests.html",
        {
            "rows": queue,
            "stats": care_request_stats(since=today - datetime.timedelta(days=90)),
        },
    )


@page("care_requests_add")
@require_http_methods(["GET", "POST"])
def request_create(request: StaffRequest) -> HttpResponse:
    form = agenda_forms.CareRequestForm(
        request.POST or None, initial={"received_on": clock.today()}
    )
    duplicates: tuple[Any, ...] = ()
    confirm = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        assert form.patient_id is not None  # noqa: S101 - set by clean_prison_number
        viewer = Viewer.of(request)
        if request.POST.get("confirm_duplicate") != "1":
            # A slip filed twice: the requests of the last two weeks, before saving.
            duplicates = objects.access_likely_duplicate_requests(
                viewer=viewer, patient_id=form.patient_id, specialty_id=data["specialty"].pk
            )
        if duplicates:
            confirm = patient_access.access_patient(
                viewer=viewer, patient_id=form.patient_id, purpose=Purpose.CHECK
            )
            return render(
                request,
                "appointments/request_form.html",
                {"form": form, "duplicates": duplicates, "confirm": confirm},
            )
        patient = objects.access_agenda_patient(
            viewer=viewer, patient_id=form.patient_id, purpose=Purpose.WRITE
        ).instance()
        try:
            care_request = care_request_create(
                acting_user=request.user,
                patient=patient,
                specialty=data["specialty"],
                received_on=data["received_on"],
                priority=data["priority"],
                text=data["text"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Care request recorded."))
            if request.POST.get("then") == "book" and permissions.can_book(request.user):
                return redirect(
                    f"{reverse('appointments:book')}?"
                    f"{urlencode({'care_request': str(care_request.pk)})}"
                )
            return redirect("appointments:request_list")
    return render(
        request,
        "appointments/request_form.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@page("care_request_change")
@require_http_methods(["GET", "POST"])
def request_close(request: StaffRequest, care_request_id: uuid.UUID) -> HttpResponse:
    viewer = Viewer.of(request)
    form = agenda_forms.CareRequestCloseForm(request.POST or None)
    if request.method == "POST":
        care_request = objects.access_care_request(
            viewer=viewer,
            care_request_id=care_request_id,
            purpose=Purpose.WRITE,
            for_change=True,
        )
        if form.is_valid():
            try:
                care_request_close(
                    acting_user=request.user,
                    care_request=care_request.instance(),
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Care request closed."))
                return redirect("appointments:request_list")
    care_request = objects.access_care_request(
        viewer=viewer, care_request_id=care_request_id, purpose=Purpose.CHANGE, for_change=True
    )
    return render(
        request,
        "appointments/request_close.html",
        {"form": form, "care_request": care_request},
        status=400 if form.is_bound and form.errors else 200,
    )


@page("visit_tasks_view")
@require_GET
def tasks(request: StaffRequest) -> HttpResponse:
    return render(
        request,
        "appointments/tasks.html",
        {"tasks": objects.access_visit_tasks(viewer=Viewer.of(request), horizon_days=31)},
    )


# -- Activity report ------------------------------------------------------------------------------


@page("activity_report")
@require_GET
def report(request: StaffRequest) -> HttpResponse:
    """Aggregates for a period (default: the previous month); bad dates are a 400 with the
    form's message. Counts only: no patient, no clinical text. Charts beside their tables."""
    form = agenda_forms.ReportForm(request.GET)
    if not form.is_valid():
        return render(
            request, "appointments/report.html", {"form": form, "report": None}, status=400
        )
    first, last = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
    the_report = reports.activity_report(first, last)
    return render(
        request,
        "appointments/report.html",
        {
            "form": agenda_forms.ReportForm(initial={"first_day": first, "last_day": last}),
            "report": the_report,
            "charts": charts.report_charts(the_report),
        },
    )


@page("activity_report")
@require_GET
def report_pdf(request: StaffRequest) -> HttpResponse:
    """The same report as an archival PDF (tables and bars), for the yearly report."""
    form = agenda_forms.ReportForm(request.GET)
    if not form.is_valid():
        return render(
            request, "appointments/report.html", {"form": form, "report": None}, status=400
        )
    first, last = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
    pdf = report_printing.report_pdf(reports.activity_report(first, last))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"rapport-activite-{first.isoformat()}-{last.isoformat()}.pdf"
    )
    response["Cache-Control"] = "no-store, private"
    return response


# -- Reference data (coordinator) ------------------------------------------------------------------

REFERENCE: dict[str, tuple[type[models.Model], type[forms.ModelForm], Any]] = {  # type: ignore[type-arg]
    "specialties": (Specialty, agenda_forms.SpecialtyForm, gettext_lazy("Specialties")),
    "movement-points": (
        MovementPoint,
        agenda_forms.MovementPointForm,
        gettext_lazy("Movement points"),
    ),
    "rooms": (Room, agenda_forms.RoomForm, gettext_lazy("Rooms")),
    "opening-hours": (OpeningHours, agenda_forms.OpeningHoursForm, gettext_lazy("Opening hours")),
    "absences": (Absence, agenda_forms.AbsenceForm, gettext_lazy("Absences")),
    "room-closures": (RoomClosure, agenda_forms.RoomClosureForm, gettext_lazy("Room closures")),
}


def _reference_rows() -> dict[str, list[Any]]:
    since = timezone.now() - datetime.timedelta(days=1)
    return {
        "specialties": list(Specialty.objects.order_by("name")),
        "movement-points": list(MovementPoint.objects.order_by("label")),
        "rooms": list(Room.objects.select_related("movement_point").order_by("name")),
        "opening-hours": list(
            OpeningHours.objects.select_related("practitioner", "specialty", "room").order_by(
                "practitioner__last_name", "weekday", "start_time"
            )
        ),
        "absences": list(
            Absence.objects.filter(end__gte=since).select_related("practitioner").order_by("start")
        ),
        "room-closures": list(
            RoomClosure.objects.filter(end__gte=since).select_related("room").order_by("start")
        ),
    }


@page("reference_edit")
@require_GET
def setup(request: StaffRequest) -> HttpResponse:
    rows = _reference_rows()
    sections = [
        {"kind": kind, "title": title, "rows": rows[kind]}
        for kind, (_model, _form, title) in REFERENCE.items()
    ]
    return render(request, "appointments/setup.html", {"sections": sections})


@page("reference_edit")
@require_http_methods(["GET", "POST"])
def setup_edit(request: StaffRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if kind not in REFERENCE:
        raise Http404
    model, form_class, title = REFERENCE[kind]
    instance = None
    if pk is not None:
        if pk > 2**63 - 1:  # beyond a bigint: PostgreSQL would refuse the query itself
            raise Http404
        instance = model._default_manager.filter(pk=pk).first()
        if instance is None:
            raise Http404
    form = form_class(request.POST or None, instance=instance)
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        try:
            reference_save(acting_user=request.user, instance=form.instance)
        except ValidationError as exc:
            status = form_refusal(request, form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("appointments:setup")
    return render(
        request,
        "appointments/setup_form.html",
        {"form": form, "title": title, "kind": kind, "instance": instance},
        status=status,
    )


@page("visit_handover")
@require_http_methods(["GET", "POST"])
def visit_handover(request: StaffRequest, task_id: uuid.UUID) -> HttpResponse:
    """The release handover checklist of a pre-release visit: each item recorded with what
    was handed over, when and by whom."""
    viewer = Viewer.of(request)
    form = agenda_forms.HandoverForm(request.POST or None)
    if request.method == "POST":
        opened = objects.access_handover(viewer=viewer, task_id=task_id, purpose=Purpose.WRITE)
        if form.is_valid():
            done = service_call(
                form,
                handover.handover_record,
                acting_user=request.user,
                task=opened.task.instance(),
                item=form.cleaned_data["item"],
                outcome=form.cleaned_data["outcome"],
                description=form.cleaned_data["description"],
                handed_over_at=form.cleaned_data["handed_over_at"],
            )
            if done is not None:
                messages.success(request, _("Handover recorded."))
                return redirect("appointments:visit_handover", task_id=task_id)
    shown = objects.access_handover(viewer=viewer, task_id=task_id, purpose=Purpose.DISPLAY)
    if not form.is_bound:
        now = timezone.localtime()
        pending = [line.item for line in shown.lines if not line.done]
        form.initial = {
            "item": pending[0] if pending else "",
            "on": now.date(),
            "at": now.strftime("%H:%M"),
        }
    return render(
        request,
        "appointments/visit_handover.html",
        {"handover": shown, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )
