from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from usmp.audit.models import AccessEvent
from usmp.audit.services import access_record
from usmp.core.errors import add_service_error

from . import clock, permissions, reports
from . import forms as agenda_forms
from .models import (
    Absence,
    Appointment,
    Kind,
    MovementPoint,
    OpeningHours,
    Room,
    RoomClosure,
    Specialty,
    Status,
)
from .selectors.agenda import (
    day_agenda,
    day_list,
    patient_appointments,
    patient_unavailabilities,
    week_agenda,
)
from .selectors.care_requests import care_request_queue, care_request_stats, patient_care_requests
from .selectors.reference import practitioners
from .selectors.slots import Slot, free_slots
from .selectors.visit_tasks import visit_tasks_pending
from .services import changes
from .services.availability import BookingConflict, unavailability_overlapping
from .services.booking import appointment_book, appointment_series_book
from .services.care_requests import care_request_close, care_request_create
from .services.reference import reference_save

# -- Helpers ------------------------------------------------------------------------------------


def _record_read(
    request: HttpRequest, patient_id: uuid.UUID, object_type: str, object_id: Any = ""
) -> None:
    """One access event for a page showing one patient's agenda data (identity, and for
    clinicians motives and care-request texts)."""
    access_record(
        request=request,
        action=AccessEvent.Action.PATIENT_VIEW,
        patient_id=patient_id,
        object_type=object_type,
        object_id=str(object_id),
    )


def _record_list(request: HttpRequest, object_type: str, object_id: Any = "") -> None:
    """One access event for a page listing several patients (names and prison numbers):
    which list, for which day or practitioner; no patient is named in the event."""
    access_record(
        request=request,
        action=AccessEvent.Action.LIST_VIEW,
        object_type=object_type,
        object_id=str(object_id),
    )


def _uuid_or_404(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


def _day_url(day: datetime.date) -> str:
    return f"{reverse('appointments:day')}?{urlencode({'date': day.isoformat()})}"


def _booking_context(request: HttpRequest) -> dict[str, Any]:
    """Patient, care request or mandatory visit that a booking starts from (query string on
    GET, hidden fields on POST). A forged or foreign id is a 404."""
    source = request.POST if request.method == "POST" else request.GET
    user = request.user
    context: dict[str, Any] = {"patient": None, "care_request": None, "visit_task": None}
    request_id = _uuid_or_404(source.get("care_request"))
    task_id = _uuid_or_404(source.get("visit_task"))
    patient_id = _uuid_or_404(source.get("patient"))
    if request_id is not None:
        care_request = permissions.access_care_request(user, request_id, for_change=True)
        context.update(care_request=care_request, patient=care_request.patient)
    elif task_id is not None:
        task = permissions.access_visit_task(user, task_id)
        context.update(visit_task=task, patient=task.patient)
    elif patient_id is not None:
        context["patient"] = permissions.access_agenda_patient(user, patient_id)
    return context


def _context_query(ctx: dict[str, Any]) -> dict[str, str]:
    if ctx["care_request"] is not None:
        return {"care_request": str(ctx["care_request"].pk)}
    if ctx["visit_task"] is not None:
        return {"visit_task": str(ctx["visit_task"].pk)}
    if ctx["patient"] is not None:
        return {"patient": str(ctx["patient"].pk)}
    return {}


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


# -- Day, week, print, patient --------------------------------------------------------------------


@require_GET
def day(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_agenda(request.user):
        raise PermissionDenied
    form = agenda_forms.DayForm(request.GET or None)
    the_day = form.day()
    by = (
        form.cleaned_data.get("by") if form.is_bound and form.is_valid() else ""
    ) or "practitioner"
    grid = day_agenda(day=the_day, by=by)
    _record_list(request, "agenda_day", the_day.isoformat())
    return render(
        request,
        "appointments/day.html",
        {
            "form": form,
            "day": the_day,
            "by": by,
            "grid": grid,
            "previous": the_day - datetime.timedelta(days=1),
            "next": the_day + datetime.timedelta(days=1),
            "can_book": permissions.can_book(request.user),
            "agenda_base": reverse("appointments:day"),
        },
    )


@require_GET
def day_print(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_agenda(request.user):
        raise PermissionDenied
    form = agenda_forms.DayForm(request.GET or None)
    the_day = form.day()
    _record_list(request, "agenda_day_print", the_day.isoformat())
    return render(
        request,
        "appointments/day_print.html",
        {"day": the_day, "appointments": day_list(day=the_day)},
    )


@require_GET
def week(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_agenda(request.user):
        raise PermissionDenied
    form = agenda_forms.WeekForm(request.GET or None)
    practitioner = None
    the_day = clock.today()
    if form.is_bound and form.is_valid():
        practitioner = form.cleaned_data["practitioner"]
        the_day = form.cleaned_data["date"] or the_day
    if practitioner is None and request.user.is_authenticated:
        practitioner = practitioners().filter(pk=request.user.pk).first()
    monday = clock.week_monday(the_day)
    grid = week_agenda(practitioner=practitioner, monday=monday) if practitioner else None
    if grid is not None:
        _record_list(request, "agenda_week", f"{monday.isoformat()}/{practitioner.pk}")
    if not form.is_bound:
        form = agenda_forms.WeekForm(initial={"practitioner": practitioner, "date": the_day})
    return render(
        request,
        "appointments/week.html",
        {
            "form": form,
            "practitioner": practitioner,
            "monday": monday,
            "grid": grid,
            "previous": monday - datetime.timedelta(days=7),
            "next": monday + datetime.timedelta(days=7),
            "agenda_base": reverse("appointments:day"),
        },
    )


@require_GET
def patient(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    the_patient = permissions.access_agenda_patient(request.user, patient_id)
    show_requests = permissions.can_view_care_requests(request.user)
    _record_read(request, the_patient.pk, "agenda")
    return render(
        request,
        "appointments/patient.html",
        {
            "patient": the_patient,
            "appointments": patient_appointments(patient=the_patient),
            "unavailabilities": patient_unavailabilities(patient=the_patient),
            "care_requests": (
                patient_care_requests(patient=the_patient) if show_requests else None
            ),
            "can_view_motive": permissions.can_view_motive(request.user),
            "can_book": permissions.can_book(request.user),
        },
    )


# -- Booking ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    if not permissions.can_book(request.user):
        raise PermissionDenied
    ctx = _booking_context(request)
    patient = ctx["patient"]
    base_query = _context_query(ctx)
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
    if ctx["care_request"] is not None:
        initial.setdefault("specialty", ctx["care_request"].specialty_id)
        initial["care_request"] = ctx["care_request"].pk
    if ctx["visit_task"] is not None:
        initial["visit_task"] = ctx["visit_task"].pk
    form = agenda_forms.BookingForm(
        request.POST or None,
        initial=initial,
        patient=patient,
        with_motive=permissions.can_view_motive(request.user),
    )
    conflict = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "acting_user": request.user,
            "patient": form.patient,
            "specialty": data["specialty"],
            "kind": data["kind"],
            "start": data["start"],
            "end": data["end"],
            "practitioner": data["practitioner"],
            "room": data["room"],
            "movement_point": data["movement_point"],
            "motive": data.get("motive"),
            "care_request": ctx["care_request"],
        }
        try:
            if data["repeat_every"]:
                booked = appointment_series_book(
                    **common, every_n_weeks=data["repeat_every"], occurrences=data["occurrences"]
                )
            else:
                booked = [appointment_book(**common, visit_task=ctx["visit_task"])]
        except BookingConflict as exc:
            add_service_error(form, exc)
            conflict = True
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            first = booked[0]
            if len(booked) > 1:
                messages.success(
                    request,
                    _("%(count)d appointments booked, the first on %(day)s at %(time)s.")
                    % {
                        "count": len(booked),
                        "day": clock.local(first.start).strftime("%d/%m/%Y"),
                        "time": clock.local(first.start).strftime("%H:%M"),
                    },
                )
            else:
                messages.success(
                    request,
                    _("Appointment booked on %(day)s at %(time)s.")
                    % {
                        "day": clock.local(first.start).strftime("%d/%m/%Y"),
                        "time": clock.local(first.start).strftime("%H:%M"),
                    },
                )
            return redirect(_day_url(clock.local(first.start).date()))
    # Free slots: from the search form, or from what the booking form holds (after a
    # conflict the clerk sees the slots that are free now).
    source = request.POST if request.method == "POST" else request.GET
    search_data = _search_data(source)
    if "specialty" not in search_data and initial.get("specialty"):
        search_data["specialty"] = str(initial["specialty"])
    if request.method == "POST" or request.GET.get("start_time"):
        # A slot was chosen or refused: offer the whole specialty, not one practitioner.
        search_data.pop("practitioner", None)
    search_form, found = _search_slots(search_data, patient=patient)
    return render(
        request,
        "appointments/book.html",
        {
            "form": form,
            "patient": patient,
            "care_request": ctx["care_request"],
            "visit_task": ctx["visit_task"],
            "can_view_motive": permissions.can_view_motive(request.user),
            "search_form": search_form,
            "slots": _slot_links(found, base_query, str(source.get("kind", ""))),
            "searched": bool(search_data.get("specialty") or search_data.get("practitioner")),
            "conflict": conflict,
            "base_query": base_query,
            "unavailabilities": patient_unavailabilities(patient=patient) if patient else [],
        },
        status=409 if conflict else 200,
    )


@require_GET
def slots(request: HttpRequest) -> HttpResponse:
    """Free slots (htmx fragment in the booking page, or a page of its own)."""
    if not permissions.can_book(request.user):
        raise PermissionDenied
    ctx = _booking_context(request)
    search_data = _search_data(request.GET)
    search_form, found = _search_slots(search_data, patient=ctx["patient"])
    context = {
        "search_form": search_form,
        "slots": _slot_links(found, _context_query(ctx), ""),
        "searched": bool(search_data.get("specialty") or search_data.get("practitioner")),
        "base_query": _context_query(ctx),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    template = "appointments/_slots.html" if htmx else "appointments/slots.html"
    return render(request, template, context)


VALIDATED_FORMS: dict[str, Any] = {
    "booking": agenda_forms.BookingForm,
    "move": agenda_forms.MoveForm,
    "care_request": agenda_forms.CareRequestForm,
}


@require_POST
def validate(request: HttpRequest) -> HttpResponse:
    """Inline validation of one field while the user types (htmx)."""
    user = request.user
    checks = {
        "booking": permissions.can_book,
        "move": permissions.can_change_appointments,
        "care_request": permissions.can_add_care_requests,
    }
    if not any(check(user) for check in checks.values()):
        raise PermissionDenied
    name = request.GET.get("form") or request.POST.get("form", "")
    form_class = VALIDATED_FORMS.get(name)
    if form_class is None:
        return HttpResponse(status=400)
    if not checks[name](user):
        raise PermissionDenied
    form = form_class(request.POST)
    form.is_valid()
    return render(
        request,
        "appointments/_feedback.html",
        {"errors": form.field_errors(request.GET.get("field") or request.POST.get("field", ""))},
    )


# -- One appointment --------------------------------------------------------------------------------


@require_GET
def appointment_detail(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = permissions.access_appointment(request.user, appointment_id)
    can_change = permissions.can_change_appointments(request.user)
    _record_read(request, appointment.patient_id, "appointment", appointment.pk)
    return render(
        request,
        "appointments/appointment_detail.html",
        {
            "appointment": appointment,
            "can_view_motive": permissions.can_view_motive(request.user),
            "can_change": can_change,
            "can_move": can_change and appointment.status == Status.PLANNED,
            "prison_unavailable": (
                unavailability_overlapping(appointment.patient, appointment.start, appointment.end)
                if appointment.status == Status.PLANNED
                else None
            ),
            "can_record_outcome": can_change
            and appointment.status != Status.CANCELLED
            and appointment.start <= timezone.now(),
        },
    )


def _appointment_form_page(
    request: HttpRequest,
    appointment: Appointment,
    form: forms.Form,
    *,
    title: str,
    submit: str,
    status: int = 200,
    slots: list[Any] | None = None,
) -> HttpResponse:
    _record_read(request, appointment.patient_id, "appointment", appointment.pk)
    return render(
        request,
        "appointments/appointment_form.html",
        {
            "appointment": appointment,
            "form": form,
            "title": title,
            "submit": submit,
            "slots": slots,
            "can_view_motive": permissions.can_view_motive(request.user),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def appointment_move(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = permissions.access_appointment(request.user, appointment_id, for_change=True)
    start, end = clock.local(appointment.start), clock.local(appointment.end)
    form = agenda_forms.MoveForm(
        request.POST or None,
        initial={
            "date": start.date(),
            "start_time": start.time(),
            "end_time": end.time(),
            "practitioner": appointment.practitioner_id,
            "room": appointment.room_id,
        },
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changes.appointment_move(
                acting_user=request.user,
                appointment=appointment,
                start=data["start"],
                end=data["end"],
                practitioner=data["practitioner"],
                room=data["room"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
            status = 409 if isinstance(exc, BookingConflict) else 200
        else:
            messages.success(request, _("Appointment moved."))
            return redirect("appointments:appointment_detail", appointment_id=appointment.pk)
    found = free_slots(
        duration=appointment.end - appointment.start,
        after=timezone.now(),
        specialty=appointment.specialty,
        patient=appointment.patient,
        limit=8,
    )
    return _appointment_form_page(
        request,
        appointment,
        form,
        title=_("Move the appointment"),
        submit=_("Move"),
        status=status,
        slots=found,
    )


@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = permissions.access_appointment(request.user, appointment_id, for_change=True)
    form = agenda_forms.CancelForm(
        request.POST or None,
        in_series=appointment.series_id is not None,
        with_comment=permissions.can_view_motive(request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            cancelled = changes.appointment_cancel(
                acting_user=request.user,
                appointment=appointment,
                reason=data["reason"],
                side=data["side"],
                comment=data.get("comment"),
                following=bool(data.get("following")),
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("%(count)d appointment(s) cancelled.") % {"count": len(cancelled)},
            )
            return redirect("appointments:appointment_detail", appointment_id=appointment.pk)
    return _appointment_form_page(
        request,
        appointment,
        form,
        title=_("Cancel the appointment"),
        submit=_("Cancel the appointment"),
    )


@require_http_methods(["GET", "POST"])
def appointment_outcome(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = permissions.access_appointment(request.user, appointment_id, for_change=True)
    form = agenda_forms.OutcomeForm(
        request.POST or None, with_comment=permissions.can_view_motive(request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changes.appointment_record_outcome(
                acting_user=request.user,
                appointment=appointment,
                done=data["done"],
                reason=data["reason"],
                side=data["side"],
                comment=data.get("comment"),
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Outcome recorded."))
            return redirect("appointments:appointment_detail", appointment_id=appointment.pk)
    return _appointment_form_page(
        request,
        appointment,
        form,
        title=_("Record the outcome"),
        submit=_("Record"),
    )


# -- Care requests and mandatory visits ------------------------------------------------------------


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_care_requests(request.user):
        raise PermissionDenied
    today = clock.today()
    queue = care_request_queue()
    rows = [{"request": r, "waiting_days": (today - r.received_on).days} for r in queue]
    _record_list(request, "care_request_queue")
    return render(
        request,
        "appointments/requests.html",
        {
            "rows": rows,
            "stats": care_request_stats(since=today - datetime.timedelta(days=90)),
            "can_add": permissions.can_add_care_requests(request.user),
            "can_book": permissions.can_book(request.user),
            "can_change": permissions.can_change_care_requests(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_add_care_requests(request.user):
        raise PermissionDenied
    form = agenda_forms.CareRequestForm(
        request.POST or None, initial={"received_on": clock.today()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            care_request = care_request_create(
                acting_user=request.user,
                patient=form.patient,  # type: ignore[arg-type]  # set by clean_prison_number
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
    return render(request, "appointments/request_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def request_close(request: HttpRequest, care_request_id: uuid.UUID) -> HttpResponse:
    care_request = permissions.access_care_request(request.user, care_request_id, for_change=True)
    form = agenda_forms.CareRequestCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            care_request_close(
                acting_user=request.user,
                care_request=care_request,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Care request closed."))
            return redirect("appointments:request_list")
    _record_read(request, care_request.patient_id, "care_request", care_request.pk)
    return render(
        request,
        "appointments/request_close.html",
        {"form": form, "care_request": care_request},
    )


@require_GET
def tasks(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_visit_tasks(request.user):
        raise PermissionDenied
    _record_list(request, "visit_tasks")
    return render(
        request,
        "appointments/tasks.html",
        {
            "task_rows": visit_tasks_pending(horizon_days=31),
            "can_book": permissions.can_book(request.user),
        },
    )


# -- Activity report ------------------------------------------------------------------------------


@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """Aggregates for a period (default: the previous month); bad dates are a 400 with the
    form's message."""
    if not permissions.can_view_activity_report(request.user):
        raise PermissionDenied
    form = agenda_forms.ReportForm(request.GET)
    if not form.is_valid():
        return render(
            request, "appointments/report.html", {"form": form, "report": None}, status=400
        )
    first, last = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
    return render(
        request,
        "appointments/report.html",
        {
            "form": agenda_forms.ReportForm(initial={"first_day": first, "last_day": last}),
            "report": reports.activity_report(first, last),
        },
    )


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


@require_GET
def setup(request: HttpRequest) -> HttpResponse:
    if not permissions.can_edit_reference_data(request.user):
        raise PermissionDenied
    rows = _reference_rows()
    sections = [
        {"kind": kind, "title": title, "rows": rows[kind]}
        for kind, (_model, _form, title) in REFERENCE.items()
    ]
    return render(request, "appointments/setup.html", {"sections": sections})


@require_http_methods(["GET", "POST"])
def setup_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if not permissions.can_edit_reference_data(request.user):
        raise PermissionDenied
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
    if request.method == "POST" and form.is_valid():
        try:
            reference_save(acting_user=request.user, instance=form.instance)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("appointments:setup")
    return render(
        request,
        "appointments/setup_form.html",
        {"form": form, "title": title, "kind": kind, "instance": instance},
    )
