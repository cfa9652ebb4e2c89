from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dossiers.forms import PrisonNumberField
from dossiers.models import Compartment
from dossiers.selectors import patient_id_by_prison_number
from usmp.accounts.models import User
from usmp.audit.models import AccessEvent
from usmp.core import dates
from usmp.core.dates import PlausibleDateField
from usmp.core.forms import NOTHING_CHOSEN

from .selectors import WRITE, TrailFilter


# Generic in django-stubs only: subscripting it at run time would fail.
class _ActorChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.username})"


class AuditFilterForm(forms.Form):
    actor = _ActorChoiceField(
        label=_("User"),
        required=False,
        queryset=User.objects.order_by("last_name", "username"),
        empty_label=NOTHING_CHOSEN,
    )
    prison_number = PrisonNumberField(
        label=_("Patient (prison number)"),
        required=False,
        help_text=_("Looked up through the blind index; the number is not logged."),
    )
    compartment = forms.ChoiceField(
        label=_("Compartment"), required=False, choices=[("", _("All")), *Compartment.choices]
    )
    date_from = PlausibleDateField(label=_("From"), years=dates.AUDIT, required=False)
    date_to = PlausibleDateField(label=_("To"), years=dates.AUDIT, required=False)
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("All")), (WRITE, _("Write (history)")), *AccessEvent.Action.choices],
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("All")), *AccessEvent.Outcome.choices],
    )
    flagged_only = forms.BooleanField(label=_("Denied or emergency accesses only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient_id: uuid.UUID | None = None

    def clean_prison_number(self) -> str:
        number: str = self.cleaned_data["prison_number"]
        if not number:
            return ""
        self.patient_id = patient_id_by_prison_number(number)
        if self.patient_id is None:
            raise ValidationError(_("No patient with this prison number."), code="unknown")
        return number

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def trail_filter(self) -> TrailFilter:
        data = self.cleaned_data
        return TrailFilter(
            actor_id=data["actor"].pk if data.get("actor") else None,
            patient_id=self.patient_id,
            compartment=data.get("compartment") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            flagged_only=bool(data.get("flagged_only")),
        )


class PatientReportForm(forms.Form):
    prison_number = PrisonNumberField(label=_("Prison number"))

    def clean_prison_number(self) -> Any:
        """The patient's id (the number is looked up through its blind index)."""
        number = self.cleaned_data["prison_number"]
        patient_id = patient_id_by_prison_number(number)
        if patient_id is None:
            raise ValidationError(_("No patient with this prison number."), code="unknown")
        return patient_id


class ReviewForm(forms.Form):
    comment = forms.CharField(
        label=_("Review comment"),
        min_length=5,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
