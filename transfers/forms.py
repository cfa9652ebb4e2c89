from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dossiers.identifiers import validate_prison_number
from usmp.core.forms import NOTHING_CHOSEN

from .models import PartnerUnit

MAX_PACKAGE_BYTES = 512 * 1024 * 1024


class PartnerForm(forms.Form):
    name = forms.CharField(label=_("Unit"), max_length=200)
    establishment = forms.CharField(label=_("Establishment"), max_length=200)
    recipient = forms.CharField(
        label=_("Encryption key (age)"),
        max_length=100,
        help_text=_("As the other unit's “manage.py unit_keys” prints it: age1…"),
    )
    verify_key = forms.CharField(label=_("Signature key (Ed25519)"), max_length=60)


class PartnerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.label} · {obj.fingerprint}"


class PrepareForm(forms.Form):
    recipient = PartnerChoiceField(
        label=_("Receiving unit"),
        queryset=PartnerUnit.objects.filter(active=True),
        empty_label=NOTHING_CHOSEN,
    )


class UploadForm(forms.Form):
    package = forms.FileField(label=_("Transfer package"))

    def clean_package(self) -> bytes:
        upload = self.cleaned_data["package"]
        if upload.size > MAX_PACKAGE_BYTES:
            raise forms.ValidationError(_("The file is too large."), code="too_large")
        return bytes(upload.read())


class ConfirmForm(forms.Form):
    patient = forms.ChoiceField(label=_("Patient"), widget=forms.RadioSelect)
    prison_number = forms.CharField(label=_("Prison number here"), required=False)
    arrival_date = forms.DateField(
        label=_("Arrival date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [*choices, ("new", _("A new patient"))]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("patient") == "new":
            if not data.get("prison_number"):
                self.add_error("prison_number", _("Give the patient's prison number here."))
            else:
                try:
                    validate_prison_number(data["prison_number"])
                except forms.ValidationError as exc:
                    self.add_error("prison_number", exc)
            if not data.get("arrival_date"):
                self.add_error("arrival_date", _("Give the arrival date."))
        return data
