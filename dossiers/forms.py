from __future__ import annotations

import datetime
import re
import uuid
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from usmp.core import dates
from usmp.core.dates import PlausibleDateField
from usmp.core.forms import NOTHING_CHOSEN, with_nothing_chosen

from .documents import (
    DOCUMENT_NAME_MAX_LENGTH,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_MB,
    too_large_message,
)
from .identifiers import (
    PRISON_NUMBER_INPUT_MAX_LENGTH,
    prison_number_format,
    validate_ins,
    validate_prison_number,
)
from .models import (
    BREAK_GLASS_REASON_MIN_LENGTH,
    CORRECTION_REASON_MAX_LENGTH,
    ENTRY_MAX_LENGTH,
    GRANT_DEFAULT_DAYS,
    Consent,
    EntryKind,
    Patient,
)
from .selectors import prison_number_taken


def described_by(name: str, field: forms.Field) -> str:
    """The ids that describe a field in includes/field.html: its live feedback, and its
    help when it has one (an id that exists nowhere is an error for screen readers)."""
    return f"{name}-feedback id_{name}_helptext" if field.help_text else f"{name}-feedback"


if TYPE_CHECKING:
    from usmp.accounts.models import User

NAME_MAX_LENGTH = 100
_NAME_RE = re.compile(r"^[^\W\d_]+(?:[ '\u2019\-][^\W\d_]+)*$")
_SPACES = re.compile(r"\s+")


def _prison_number_help() -> str:
    return gettext("%(format)s, nothing else.") % {"format": prison_number_format()}


class PrisonNumberField(forms.CharField):
    """A prison number as typed (spaces between digits allowed), cleaned to the unit's format
    by validate_prison_number: digits only, of the configured length, never a date."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PRISON_NUMBER_INPUT_MAX_LENGTH)
        kwargs.setdefault("help_text", lazy(_prison_number_help, str)())
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        cleaned: str = super().clean(value)
        return validate_prison_number(cleaned) if cleaned else cleaned


def clean_name(value: str) -> str:
    value = _SPACES.sub(" ", value).strip()
    if not _NAME_RE.match(value):
        raise ValidationError(
            _("Letters only, with spaces, hyphens or apostrophes between words."),
            code="invalid_name",
        )
    return value


def today() -> datetime.date:
    return timezone.localdate()


class PatientForm(forms.Form):
    prison_number = PrisonNumberField(
        label=_("Prison number"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    last_name = forms.CharField(label=_("Last name"), max_length=NAME_MAX_LENGTH)
    first_name = forms.CharField(label=_("First name"), max_length=NAME_MAX_LENGTH)
    birth_date = PlausibleDateField(label=_("Date of birth"), years=dates.BIRTH)
    # No default: a pre-selected value would be saved unread by a hurried user.
    sex = forms.ChoiceField(label=_("Sex"), choices=with_nothing_chosen(Patient.Sex.choices))
    ins = forms.CharField(
        label=_("INS (national health identifier)"),
        max_length=21,
        required=False,
        help_text=_("Optional. 15 characters."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    arrival_date = PlausibleDateField(label=_("Arrival date"), years=dates.ARRIVAL)

    validate_url = reverse_lazy("dossiers:patient_validate")

    def __init__(self, *args: Any, patient_id: uuid.UUID | None = None, **kwargs: Any) -> None:
        # The patient being edited (its own prison number is not a duplicate).
        self.patient_id = patient_id
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.update(
                {
                    "data-hx-post": str(self.validate_url),
                    "data-hx-trigger": "change, keyup changed delay:700ms",
                    "data-hx-target": f"#{name}-feedback",
                    "data-hx-swap": "innerHTML",
                    "data-hx-sync": "closest form:abort",
                    "aria-describedby": described_by(name, field),
                }
            )

    def clean_prison_number(self) -> str:
        value: str = self.cleaned_data["prison_number"]
        if prison_number_taken(value, exclude_id=self.patient_id):
            raise ValidationError(
                _("A patient with this prison number is already registered."),
                code="duplicate_prison_number",
            )
        return value

    def clean_last_name(self) -> str:
        return clean_name(self.cleaned_data["last_name"])

    def clean_first_name(self) -> str:
        return clean_name(self.cleaned_data["first_name"])

    def clean_birth_date(self) -> datetime.date:
        value: datetime.date = self.cleaned_data["birth_date"]
        if value > today():
            raise ValidationError(_("The date of birth cannot be in the future."), code="future")
        now = today()
        age = now.year - value.year - ((now.month, now.day) < (value.month, value.day))
        if age < 13:
            raise ValidationError(
                _("The patient must be at least 13 years old: check the date of birth."),
                code="too_young",
            )
        return value

    def clean_ins(self) -> str:
        value = self.cleaned_data.get("ins", "")
        return validate_ins(value) if value.strip() else ""

    def clean_arrival_date(self) -> datetime.date:
        value: datetime.date = self.cleaned_data["arrival_date"]
        if value > today():
            raise ValidationError(_("The arrival date cannot be in the future."), code="future")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        birth, arrival = data.get("birth_date"), data.get("arrival_date")
        if birth and arrival and arrival < birth:
            self.add_error("arrival_date", _("The arrival date is before the date of birth."))
        return data

    def field_errors(self, name: str) -> list[str]:
        """Errors of one field, for inline validation (other fields may still be empty)."""
        if name not in self.fields:
            return []
        return [str(e) for e in self.errors.get(name, [])]


class PatientUpdateForm(PatientForm):
    custody_status = forms.ChoiceField(
        label=_("Custody status"), choices=Patient.CustodyStatus.choices
    )
    expected_release_date = PlausibleDateField(
        label=_("Expected release date"),
        years=dates.RELEASE,
        required=False,
        help_text=lazy(
            lambda: (
                gettext(
                    "If known, at most %(years)d years ahead: a pre-release visit is then due in "
                    "the month before it."
                )
                % {"years": dates.RELEASE_MAX_YEARS_AHEAD}
            ),
            str,
        )(),
    )

    def clean_expected_release_date(self) -> datetime.date | None:
        value: datetime.date | None = self.cleaned_data.get("expected_release_date")
        arrival = self.cleaned_data.get("arrival_date")
        if value and arrival and value < arrival:
            raise ValidationError(
                _("The expected release date is before the arrival date."), code="before_arrival"
            )
        if value:
            dates.check_expected_release(value)
        return value

    @classmethod
    def initial_from(cls, patient: Any) -> dict[str, Any]:
        return {
            "prison_number": patient.prison_number,
            "last_name": patient.last_name,
            "first_name": patient.first_name,
            "birth_date": patient.birth_date,
            "sex": patient.sex,
            "ins": patient.ins or "",
            "arrival_date": patient.arrival_date,
            "custody_status": patient.custody_status,
            "expected_release_date": patient.expected_release_date,
        }


class PatientSearchForm(forms.Form):
    prison_number = PrisonNumberField(label=_("Prison number"), required=False, help_text="")
    last_name = forms.CharField(label=_("Last name"), max_length=NAME_MAX_LENGTH, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=NAME_MAX_LENGTH, required=False)
    birth_date = PlausibleDateField(label=_("Date of birth"), years=dates.BIRTH, required=False)

    # The home page's one box ("prison number or name"): a term with a digit is a prison
    # number, any other a last name. It lands in that field, so that the search page
    # shows it there, with that field's message when it is not valid.
    ONE_BOX = "term"

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and self.ONE_BOX in data:
            term = str(data.get(self.ONE_BOX) or "").strip()
            data = data.copy()
            del data[self.ONE_BOX]
            if term and not any(data.get(name) for name in self.base_fields):
                by_number = any(character.isdigit() for character in term)
                data["prison_number" if by_number else "last_name"] = term
        super().__init__(data, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        by_number = data.get("prison_number") or "prison_number" in self.errors
        if (
            not by_number
            and (data.get("first_name") or data.get("birth_date"))
            and not (data.get("last_name"))
        ):
            self.add_error("last_name", _("Enter the last name too."))
        return data


# -- dossiers ---------------------------------------------------------------------------------


class EntryForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=with_nothing_chosen(EntryKind.choices))
    text = forms.CharField(
        label=_("Note"),
        max_length=ENTRY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Kept for good: a later correction adds a new version, this one stays."),
    )

    def __init__(self, *args: Any, validate_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if validate_url:
            for name, field in self.fields.items():
                field.widget.attrs.update(
                    {
                        "data-hx-post": validate_url,
                        "data-hx-trigger": "change, keyup changed delay:700ms",
                        "data-hx-target": f"#{name}-feedback",
                        "data-hx-swap": "innerHTML",
                        "aria-describedby": described_by(name, field),
                    }
                )

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"].strip()
        if not text:
            raise ValidationError(_("The note is empty."), code="empty")
        return text

    def field_errors(self, name: str) -> list[str]:
        return [str(e) for e in self.errors.get(name, [])] if name in self.fields else []


class CorrectionForm(EntryForm):
    """A correction by the note's author: the new text and why."""

    # Checked by the service (after "nothing changed", which is said first).
    reason = forms.CharField(
        label=_("Reason for the correction"),
        required=False,
        max_length=CORRECTION_REASON_MAX_LENGTH,
        help_text=_("Kept with the new version, e.g. “dose copied from another note”."),
    )


class AddendumForm(forms.Form):
    """Another clinician's addendum to a note: text only, the note's type."""

    text = forms.CharField(
        label=_("Addendum"),
        max_length=ENTRY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown with the note, under your name; the note itself does not change."),
    )

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"].strip()
        if not text:
            raise ValidationError(_("The note is empty."), code="empty")
        return text


class EntryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All types")), *EntryKind.choices]
    )
    # Any id: the dossier's authors are only known once it is opened (they fill the menu
    # afterwards); an id of nobody who wrote there just filters every note out.
    author = forms.IntegerField(
        label=_("Author"), required=False, min_value=1, max_value=2**31 - 1, widget=forms.Select
    )
    page = forms.IntegerField(
        required=False, min_value=1, max_value=10**6, widget=forms.HiddenInput
    )

    def set_authors(self, authors: Any) -> None:
        """AUTHORS (``id``, ``name``) become the author menu's choices."""
        cast(forms.Select, self.fields["author"].widget).choices = [("", _("All authors"))] + [
            (a.id, a.name) for a in authors
        ]


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=DOCUMENT_NAME_MAX_LENGTH, required=False)
    file = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].label = gettext("File (PDF, PNG or JPEG, %(mb)d MB at most)") % {
            "mb": MAX_DOCUMENT_MB
        }

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DOCUMENT_BYTES:
            raise ValidationError(too_large_message(), code="too_large")
        return upload


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the emergency access"),
        min_length=BREAK_GLASS_REASON_MIN_LENGTH,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Read by the unit coordinator. Write the facts, not a diagnosis."),
    )
    password = forms.CharField(
        label=_("Your password, to confirm"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("Wrong password."), code="wrong_password")
        return password


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Subject"), choices=with_nothing_chosen(Consent.Kind.choices))
    decision = forms.ChoiceField(
        label=_("Patient's decision"), choices=Consent.Decision.choices, widget=forms.RadioSelect
    )
    given_on = PlausibleDateField(label=_("Date"), years=dates.DECISION)
    recipient = forms.CharField(
        label=_("Professional concerned"),
        max_length=200,
        required=False,
        help_text=_("Name and function, for sharing with a named professional."),
    )
    scope = forms.CharField(
        label=_("Scope, in the patient's words"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Consent.Kind.SHARE_PROFESSIONAL and not data.get("recipient"):
            self.add_error("recipient", _("Name the professional concerned."))
        if data.get("given_on") and data["given_on"] > today():
            self.add_error("given_on", _("The date cannot be in the future."))
        return data


class WithdrawForm(forms.Form):
    withdrawn_on = PlausibleDateField(label=_("Withdrawn on"), years=dates.DECISION)


class GrantForm(forms.Form):
    grantee = forms.ChoiceField(label=_("Give access to"))
    write = forms.BooleanField(label=_("May also write in the dossier"), required=False)
    until = PlausibleDateField(
        label=_("Until (included)"),
        years=dates.AGENDA,
        help_text=_("The access stops by itself at the end of this day."),
    )

    def __init__(self, *args: Any, choices: Any, **kwargs: Any) -> None:
        """CHOICES: the care teams and clinicians who may be given access (their ``key``,
        ``name`` and ``is_team``)."""
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(
                "until", timezone.localdate() + datetime.timedelta(days=GRANT_DEFAULT_DAYS)
            )
        cast(forms.ChoiceField, self.fields["grantee"]).choices = [("", NOTHING_CHOSEN)] + [
            (c.key, _("Care team: %(name)s") % {"name": c.name} if c.is_team else c.name)
            for c in choices
        ]


class MergeForm(forms.Form):
    """The other registration of the same person (step 1), then the confirmation (step 2)."""

    prison_number = PrisonNumberField(label=_("Prison number of the other registration"))
    reason = forms.CharField(
        label=_("Why these are the same person"),
        min_length=10,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
