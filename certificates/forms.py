from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from usmp.core import dates
from usmp.core.dates import PlausibleDateField
from usmp.core.forms import NOTHING_CHOSEN, ModelForm, with_nothing_chosen

from .models import (
    SIGNER_CHOICES,
    STRICT_RECIPIENTS,
    CertificateType,
    RefusalReason,
    Requester,
)
from .services import REQUESTER_NAME_MAX_LENGTH, TEXT_MAX_LENGTH


class RequestForm(forms.Form):
    certificate_type = forms.ModelChoiceField(
        label=_("Certificate or attestation"),
        queryset=CertificateType.objects.filter(active=True),
        empty_label=NOTHING_CHOSEN,
    )
    requester = forms.ChoiceField(
        label=_("Asked by"), choices=with_nothing_chosen(Requester.choices)
    )
    requester_name = forms.CharField(
        label=_("Name or service of the requester"),
        max_length=REQUESTER_NAME_MAX_LENGTH,
        required=False,
        help_text=_("Optional: the lawyer's name, the service that wrote."),
    )
    received_on = PlausibleDateField(label=_("Received on"), years=dates.DECISION)

    def clean_received_on(self) -> datetime.date:
        day: datetime.date = self.cleaned_data["received_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day


class IssueForm(forms.Form):
    first_day = PlausibleDateField(label=_("Count from"), years=dates.AGENDA, required=False)
    last_day = PlausibleDateField(label=_("Count until"), years=dates.AGENDA, required=False)
    text = forms.CharField(
        label=_("Text of the certificate"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args: Any, certificate_type: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not certificate_type.free_text:
            del self.fields["text"]
        if not certificate_type.counts_attendance:
            del self.fields["first_day"]
            del self.fields["last_day"]
        else:
            self.fields["first_day"].required = True
            self.fields["last_day"].required = True


class RefuseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=RefusalReason.choices, widget=forms.RadioSelect
    )


class TypeForm(ModelForm):
    signers = forms.MultipleChoiceField(
        label=_("Who may sign"), choices=SIGNER_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = CertificateType
        fields = [
            "name",
            "code",
            "recipient",
            "required_consent",
            "signers",
            "wording",
            "facts",
            "free_text",
            "active",
        ]
        widgets = {"wording": forms.Textarea(attrs={"rows": 4})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("recipient") in STRICT_RECIPIENTS and data.get("free_text"):
            self.add_error(
                "free_text",
                _("What goes to the administration or the judge allows no free text."),
            )
        return data


class PeriodForm(forms.Form):
    start = PlausibleDateField(label=_("From"), years=dates.AUDIT)
    end = PlausibleDateField(label=_("To"), years=dates.AUDIT)

    MAX_DAYS = 366

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end of the period is before its start."))
            elif (end - start).days >= self.MAX_DAYS:
                self.add_error("end", _("A period of 366 days at most."))
        return data
