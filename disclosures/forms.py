"""Forms of the register of requests for the record."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appointments.clock import wall_clock
from appointments.forms import TIME_FORMATS, TimeInput
from dossiers.documents import MAX_DOCUMENT_BYTES, too_large_message
from dossiers.models import Compartment
from usmp.core import dates
from usmp.core.dates import PlausibleDateField
from usmp.core.forms import with_nothing_chosen

from .models import DisclosureRequest

# Requests and sendings are recent facts: a year far from today is a typing mistake.
RECENT = dates.YearRange(years_back=2)


def _moment(data: dict[str, Any], day: str, time: str) -> datetime.datetime | None:
    if data.get(day) is None or data.get(time) is None:
        return None
    return wall_clock(data[day], data[time])


class DisclosureRequestForm(forms.Form):
    requester_kind = forms.ChoiceField(
        label=_("Who asks"), choices=DisclosureRequest.Requester.choices, widget=forms.RadioSelect
    )
    requester_name = forms.CharField(
        label=_("Name of the requester"),
        max_length=200,
        required=False,
        help_text=_("Unless the patient asks: the doctor, lawyer, mandatary or heir."),
    )
    requester_address = forms.CharField(
        label=_("Address for the copy"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    heir_ground = forms.ChoiceField(
        label=_("Purpose of an heir's request"),
        choices=with_nothing_chosen(DisclosureRequest.HeirGround.choices),
        required=False,
    )
    received_on = PlausibleDateField(label=_("Received on"), years=RECENT)
    received_time = forms.TimeField(label=_("at"), input_formats=TIME_FORMATS, widget=TimeInput())
    identity_document = forms.ChoiceField(
        label=_("Identity checked on"),
        choices=with_nothing_chosen(DisclosureRequest.IdentityDocument.choices),
    )
    somatic = forms.BooleanField(label=_("Somatic dossier"), required=False)
    psychiatric = forms.BooleanField(label=_("Psychiatric dossier"), required=False)
    older_than_five_years = forms.BooleanField(
        label=_("Information more than five years old (two months to answer)"), required=False
    )
    mandate = forms.FileField(
        label=_("Signed mandate"),
        required=False,
        help_text=_("For a third party: the patient's signed mandate (PDF or image)."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def clean_mandate(self) -> Any:
        upload = self.cleaned_data.get("mandate")
        if upload and upload.size > MAX_DOCUMENT_BYTES:
            raise ValidationError(too_large_message(), code="too_large")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["received_at"] = _moment(data, "received_on", "received_time")
        except ValidationError as exc:
            self.add_error("received_time", exc)
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        upload = data.get("mandate")
        return {
            "requester_kind": data["requester_kind"],
            "requester_name": data["requester_name"],
            "requester_address": data["requester_address"],
            "heir_ground": data["heir_ground"],
            "received_at": data["received_at"],
            "identity_document": data["identity_document"],
            "somatic": data["somatic"],
            "psychiatric": data["psychiatric"],
            "older_than_five_years": data["older_than_five_years"],
            "mandate_filename": upload.name if upload else "",
            "mandate_content": upload.read() if upload else None,
        }


class SendForm(forms.Form):
    sent_via = forms.ChoiceField(
        label=_("Sent by"), choices=DisclosureRequest.Channel.choices, widget=forms.RadioSelect
    )
    sent_on = PlausibleDateField(label=_("On"), years=RECENT)
    sent_time = forms.TimeField(label=_("at"), input_formats=TIME_FORMATS, widget=TimeInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["sent_at"] = _moment(data, "sent_on", "sent_time")
        except ValidationError as exc:
            self.add_error("sent_time", exc)
        return data


class RefuseForm(forms.Form):
    ground = forms.ChoiceField(
        label=_("Ground"), choices=with_nothing_chosen(DisclosureRequest.RefusalGround.choices)
    )
    reason = forms.CharField(
        label=_("Reason, as told to the requester"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CopyForm(forms.Form):
    compartments = forms.MultipleChoiceField(
        label=_("Dossiers to copy"),
        choices=Compartment.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, asked: tuple[str, ...] = (), offered: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asked
        if offered is not None:
            # The page offers only what the producer copies (the access layer decides anyway).
            field = self.fields["compartments"]
            assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101
            field.choices = [(c, label) for c, label in Compartment.choices if c in offered]

    def clean_compartments(self) -> list[str]:
        chosen = list(self.cleaned_data["compartments"])
        if not set(chosen) <= set(self.asked):
            raise ValidationError(
                _("Copy only the dossiers the request asks for."), code="not_asked"
            )
        return chosen
