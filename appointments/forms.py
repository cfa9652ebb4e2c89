from __future__ import annotations

import datetime
import uuid
from collections.abc import MutableMapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from dossiers.forms import PrisonNumberField, described_by
from dossiers.selectors import patient_id_by_prison_number
from usmp.core import dates
from usmp.core.dates import PlausibleDateField
from usmp.core.forms import NOTHING_CHOSEN, ModelForm, with_nothing_chosen

from . import clock, reports
from .models import (
    EVERY_N_WEEKS_MAX,
    Absence,
    CareRequest,
    HandoverItem,
    Kind,
    MovementPoint,
    MoveReason,
    OpeningHours,
    Priority,
    Reason,
    Room,
    RoomClosure,
    Side,
    Specialty,
)
from .selectors.reference import active_specialties, practitioners
from .services.availability import MIN_DURATION
from .services.booking import SERIES_MAX_OCCURRENCES, SERIES_MIN_OCCURRENCES
from .services.texts import TEXT_MAX_LENGTH

TIME_FORMATS = ["%H:%M", "%Hh%M", "%H.%M", "%Hh", "%H"]


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


class PractitionerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A practitioner, by name; nobody chosen reads "—", as in the agenda's other lists."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", NOTHING_CHOSEN)
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


def _date_field(label: Any, **kwargs: Any) -> PlausibleDateField:
    """An agenda date: a year far from today is a typing mistake (20266, 0202), and would
    overflow once turned into the day's bounds in UTC."""
    return PlausibleDateField(label=label, years=dates.AGENDA, **kwargs)


def _time_field(label: Any, **kwargs: Any) -> forms.TimeField:
    return forms.TimeField(label=label, input_formats=TIME_FORMATS, widget=TimeInput(), **kwargs)


class InlineValidationMixin:
    """Each field is checked as the user types (htmx), like the patient form."""

    validate_form_name = ""
    fields: dict[str, forms.Field]
    errors: Any

    def enable_inline_validation(self) -> None:
        url = str(reverse_lazy("appointments:validate"))
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            field.widget.attrs.update(
                {
                    "data-hx-post": f"{url}?form={self.validate_form_name}&field={name}",
                    "data-hx-trigger": "change, keyup changed delay:700ms",
                    "data-hx-target": f"#{name}-feedback",
                    "data-hx-swap": "innerHTML",
                    "data-hx-sync": "closest form:abort",
                    "aria-describedby": described_by(name, field),
                }
            )

    def field_errors(self, name: str) -> list[str]:
        if name not in self.fields:
            return []
        errors = [str(e) for e in self.errors.get(name, [])]
        # Errors of the time span are reported on both time fields.
        if name in {"start_time", "end_time", "date"}:
            errors += [str(e) for e in self.errors.get("__all__", [])]
        return errors


def _patient_id_from_prison_number(value: str) -> uuid.UUID:
    """The id of the patient with this (cleaned) prison number, looked up through its blind
    index (nothing decrypted: the view opens the patient through the access layer)."""
    patient_id = patient_id_by_prison_number(value)
    if patient_id is None:
        raise ValidationError(
            _("No patient with this prison number. Register the patient first."),
            code="unknown_patient",
        )
    return patient_id


class SpanMixin:
    """A date with a start and end time, turned into aware datetimes (Europe/Paris)."""

    cleaned_data: dict[str, Any]

    def clean_span(self) -> None:
        day = self.cleaned_data.get("date")
        start_time = self.cleaned_data.get("start_time")
        end_time = self.cleaned_data.get("end_time")
        if not (day and start_time and end_time):
            return
        try:
            start = clock.wall_clock(day, start_time)
        except ValidationError as exc:
            self.add_error("start_time", exc)  # type: ignore[attr-defined]
            return
        try:
            end = clock.wall_clock(day, end_time)
        except ValidationError as exc:
            self.add_error("end_time", exc)  # type: ignore[attr-defined]
            return
        if end <= start:
            self.add_error("end_time", _("The end is before the start."))  # type: ignore[attr-defined]
            return
        self.cleaned_data["start"], self.cleaned_data["end"] = start, end


class BookingForm(InlineValidationMixin, SpanMixin, forms.Form):
    validate_form_name = "booking"

    prison_number = PrisonNumberField(
        label=_("Prison number"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    specialty = forms.ModelChoiceField(
        label=_("Specialty"), queryset=Specialty.objects.none(), empty_label=NOTHING_CHOSEN
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.ON_SITE)
    practitioner = PractitionerChoiceField(
        label=_("Practitioner"),
        queryset=practitioners().none(),
        required=False,
        help_text=_("Empty only for an external consultation at the hospital."),
    )
    room = forms.ModelChoiceField(
        label=_("Room"), queryset=Room.objects.none(), required=False, empty_label=NOTHING_CHOSEN
    )
    movement_point = forms.ModelChoiceField(
        label=_("Movement point"),
        queryset=MovementPoint.objects.none(),
        required=False,
        empty_label=NOTHING_CHOSEN,
        help_text=_("For an extraction or a visit in a wing (no room)."),
    )
    date = _date_field(_("Date"))
    start_time = _time_field(_("Start"))
    end_time = _time_field(_("End"))
    motive = forms.CharField(
        label=_("Consultation motive"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Encrypted. Never shown to secretaries nor to the prison."),
    )
    repeat_every = forms.TypedChoiceField(
        label=_("Repeat"),
        coerce=int,
        required=False,
        empty_value=0,  # type: ignore[arg-type]
        choices=[
            ("", _("No repetition")),
            (1, _("Every week")),
            (2, _("Every 2 weeks")),
            (3, _("Every 3 weeks")),
            (4, _("Every 4 weeks")),
        ],
    )
    occurrences = forms.IntegerField(
        label=_("Number of occurrences"),
        required=False,
        min_value=SERIES_MIN_OCCURRENCES,
        max_value=SERIES_MAX_OCCURRENCES,
    )
    care_request = forms.UUIDField(required=False, widget=forms.HiddenInput)
    visit_task = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        patient_id: uuid.UUID | None = None,
        with_motive: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.patient_id = patient_id
        self.fields["specialty"].queryset = active_specialties()  # type: ignore[attr-defined]
        self.fields["practitioner"].queryset = practitioners()  # type: ignore[attr-defined]
        self.fields["room"].queryset = Room.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["movement_point"].queryset = MovementPoint.objects.filter(active=True)  # type: ignore[attr-defined]
        if patient_id is not None:
            del self.fields["prison_number"]
        if not with_motive:
            del self.fields["motive"]
        self.enable_inline_validation()

    def clean_prison_number(self) -> str:
        value: str = self.cleaned_data["prison_number"]
        self.patient_id = _patient_id_from_prison_number(value)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_span()
        if data.get("repeat_every") and not data.get("occurrences"):
            self.add_error("occurrences", _("How many occurrences?"))
        return data


class MoveForm(InlineValidationMixin, SpanMixin, forms.Form):
    validate_form_name = "move"

    date = _date_field(_("Date"))
    start_time = _time_field(_("Start"))
    end_time = _time_field(_("End"))
    # Filled with the appointment's own; "—" means none, refused where the kind needs one.
    practitioner = PractitionerChoiceField(
        label=_("Practitioner"),
        queryset=practitioners().none(),
        required=False,
        help_text=_("Empty only for an external consultation at the hospital."),
    )
    room = forms.ModelChoiceField(
        label=_("Room"), queryset=Room.objects.none(), required=False, empty_label=NOTHING_CHOSEN
    )
    reason = forms.ChoiceField(
        label=_("Why is it moved?"),
        choices=with_nothing_chosen(MoveReason.choices),
        help_text=_("Kept in the history of the appointment."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()  # type: ignore[attr-defined]
        self.fields["room"].queryset = Room.objects.filter(active=True)  # type: ignore[attr-defined]
        self.enable_inline_validation()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_span()
        return data


class _ReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Cancellation or failure reason"), choices=with_nothing_chosen(Reason.choices)
    )
    side = forms.ChoiceField(
        label=_("Attributed to"),
        choices=[("", _("Usual attribution of the reason")), *Side.choices],
        required=False,
        help_text=_("Needed for the reason 'other'."),
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional, encrypted. Never shown to secretaries nor to the prison."),
    )

    def __init__(self, *args: Any, with_comment: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_comment:
            del self.fields["comment"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reason") == Reason.OTHER and not data.get("side"):
            self.add_error("side", _("Say who this is attributed to."))
        return data


class CancelForm(_ReasonForm):
    following = forms.BooleanField(
        label=_("Also cancel the following occurrences of the series"), required=False
    )

    def __init__(self, *args: Any, in_series: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not in_series:
            del self.fields["following"]


class OutcomeForm(_ReasonForm):
    done = forms.TypedChoiceField(
        label=_("Outcome"),
        coerce=lambda v: v == "1",
        choices=[("1", _("Done")), ("0", _("Not done"))],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("done") is False and not data.get("reason"):
            self.add_error("reason", _("Why did it not take place?"))
        return data


class CareRequestForm(InlineValidationMixin, forms.Form):
    validate_form_name = "care_request"

    prison_number = PrisonNumberField(
        label=_("Prison number"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    received_on = _date_field(_("Date received"))
    specialty = forms.ModelChoiceField(
        label=_("Requested specialty"),
        queryset=Specialty.objects.none(),
        empty_label=NOTHING_CHOSEN,
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=with_nothing_chosen(Priority.choices))
    text = forms.CharField(
        label=_("Text of the request"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Copy the slip as written. Encrypted."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient_id: uuid.UUID | None = None
        self.fields["specialty"].queryset = active_specialties()  # type: ignore[attr-defined]
        self.enable_inline_validation()

    def clean_prison_number(self) -> str:
        value: str = self.cleaned_data["prison_number"]
        self.patient_id = _patient_id_from_prison_number(value)
        return value

    def clean_received_on(self) -> datetime.date:
        value: datetime.date = self.cleaned_data["received_on"]
        if value > clock.today():
            raise ValidationError(_("The date received cannot be in the future."), code="future")
        if value < clock.today() - datetime.timedelta(days=365):
            raise ValidationError(_("More than a year ago: check the date."), code="too_old")
        return value


class CareRequestCloseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=with_nothing_chosen(CareRequest.CloseReason.choices)
    )


class _TodayByDefault:
    """A page whose date comes from the address, today when absent or not a date it can
    show: the page says why it shows today instead. Its date field shows today when the
    address has none, or an empty one (the page shows today: the picker starts there, not
    empty), as after "Show" with the field cleared or ?by=room alone."""

    is_bound: bool
    errors: Any
    initial: MutableMapping[str, Any]
    data: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("date", clock.today())
        if self.is_bound and not str(self.data.get("date") or "").strip():
            self.data = self.data.copy()
            self.data["date"] = clock.today().isoformat()

    def date_errors(self) -> list[str]:
        return [str(e) for e in self.errors.get("date", [])] if self.is_bound else []


class DayForm(_TodayByDefault, forms.Form):
    date = _date_field(_("Day"), required=False)
    by = forms.ChoiceField(
        label=_("Columns"),
        choices=[("practitioner", _("Practitioners")), ("room", _("Rooms"))],
        required=False,
    )

    def day(self) -> datetime.date:
        return (self.cleaned_data.get("date") if self.is_valid() else None) or clock.today()


class ReportForm(forms.Form):
    first_day = _date_field(_("From"), required=False)
    last_day = _date_field(_("To"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first is None and last is None:
            # The previous calendar month.
            last = clock.today().replace(day=1) - datetime.timedelta(days=1)
            first = last.replace(day=1)
        elif first is None or last is None:
            first = last = first or last
        assert first is not None and last is not None  # noqa: S101 - set just above
        if last < first:
            raise forms.ValidationError(_("The end of the period is before its start."))
        if (last - first).days >= reports.MAX_DAYS:
            raise forms.ValidationError(
                _("A report covers at most %(days)d days.") % {"days": reports.MAX_DAYS}
            )
        data["first_day"], data["last_day"] = first, last
        return data


class WeekForm(_TodayByDefault, forms.Form):
    practitioner = PractitionerChoiceField(
        label=_("Practitioner"), queryset=practitioners().none(), required=False
    )
    date = _date_field(_("Week of"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()  # type: ignore[attr-defined]


class SlotSearchForm(forms.Form):
    specialty = forms.ModelChoiceField(
        label=_("Specialty"),
        queryset=Specialty.objects.none(),
        required=False,
        empty_label=NOTHING_CHOSEN,
    )
    practitioner = PractitionerChoiceField(
        label=_("Practitioner"),
        queryset=practitioners().none(),
        required=False,
    )
    date = _date_field(_("From"), required=False)
    duration = forms.IntegerField(
        label=_("Duration (minutes)"),
        required=False,
        min_value=MIN_DURATION // datetime.timedelta(minutes=1),
        max_value=480,
    )
    patient = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specialty"].queryset = active_specialties()  # type: ignore[attr-defined]
        self.fields["practitioner"].queryset = practitioners()  # type: ignore[attr-defined]


# -- Reference data (coordinator) ---------------------------------------------------------------


class SpecialtyForm(ModelForm):
    class Meta:
        model = Specialty
        fields = ["code", "name", "compartment", "default_duration", "active"]


class MovementPointForm(ModelForm):
    class Meta:
        model = MovementPoint
        fields = ["code", "label", "active"]
        help_texts = {
            "code": _("Published to the prison: a coarse place, never a room or a service."),
        }


class RoomForm(ModelForm):
    class Meta:
        model = Room
        fields = ["name", "movement_point", "active"]


class OpeningHoursForm(ModelForm):
    practitioner = PractitionerChoiceField(label=_("Practitioner"), queryset=practitioners().none())
    # The model's labels, as a ModelForm would show them.
    valid_from = _date_field(capfirst(_("valid from")))
    valid_until = _date_field(capfirst(_("valid until")), required=False)

    class Meta:
        model = OpeningHours
        fields = [
            "practitioner",
            "specialty",
            "room",
            "weekday",
            "start_time",
            "end_time",
            "every_n_weeks",
            "valid_from",
            "valid_until",
        ]
        widgets = {
            "start_time": TimeInput(),
            "end_time": TimeInput(),
        }
        help_texts = {
            "every_n_weeks": _("1 = every week; 2 = every other week, from the first week."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()  # type: ignore[attr-defined]
        self.fields["specialty"].queryset = Specialty.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["room"].queryset = Room.objects.filter(active=True)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", _("The end is before the start."))
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            self.add_error("valid_until", _("The end of validity is before its start."))
        every = data.get("every_n_weeks")
        if every is not None and not 1 <= every <= EVERY_N_WEEKS_MAX:
            self.add_error(
                "every_n_weeks", _("Between 1 and %(max)d.") % {"max": EVERY_N_WEEKS_MAX}
            )
        return data


class _PeriodForm(ModelForm):
    """Start and end as local date and time fields."""

    start_date = _date_field(_("From (date)"))
    start_time = _time_field(_("From (time)"))
    end_date = _date_field(_("To (date)"))
    end_time = _time_field(_("To (time)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            start, end = clock.local(self.instance.start), clock.local(self.instance.end)
            self.initial.update(
                start_date=start.date(),
                start_time=start.time(),
                end_date=end.date(),
                end_time=end.time(),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        parts = [data.get(k) for k in ("start_date", "start_time", "end_date", "end_time")]
        if not all(parts):
            return data
        try:
            start = clock.wall_clock(parts[0], parts[1])  # type: ignore[arg-type]
            end = clock.wall_clock(parts[2], parts[3])  # type: ignore[arg-type]
        except ValidationError as exc:
            self.add_error(None, exc)
            return data
        if end <= start:
            self.add_error("end_time", _("The end is before the start."))
            return data
        self.instance.start, self.instance.end = start, end
        return data


class AbsenceForm(_PeriodForm):
    practitioner = PractitionerChoiceField(label=_("Practitioner"), queryset=practitioners().none())

    class Meta:
        model = Absence
        fields = ["practitioner", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()  # type: ignore[attr-defined]


class RoomClosureForm(_PeriodForm):
    class Meta:
        model = RoomClosure
        fields = ["room", "note"]


class HandoverForm(forms.Form):
    """One item of the release handover checklist."""

    item = forms.ChoiceField(label=_("Item"), choices=HandoverItem.Item.choices)
    outcome = forms.ChoiceField(
        label=_("What became of it"),
        choices=HandoverItem.Outcome.choices,
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        label=_("What was handed over"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. the somatic dossier's copy, 12 pages; the letter for Dr X."),
    )
    on = _date_field(_("On"))
    at = _time_field(_("at"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("on") and data.get("at"):
            try:
                data["handed_over_at"] = clock.wall_clock(data["on"], data["at"])
            except ValidationError as exc:
                self.add_error("at", exc)
        return data
