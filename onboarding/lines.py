"""One line of a legacy file, checked and written through the product's own forms and
services: a patient through the patient form's rules and ``patient_admit`` (encryption,
blind indexes, audit, entry visit), an appointment through ``appointment_book`` (opening
hours, absences, closures, overlaps, the exclusion constraints). A line's outcome is
accepted, a duplicate (found by blind index) or refused, with its reason."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from appointments.forms import TIME_FORMATS, SpanMixin
from appointments.models import ACTIVE_STATUSES, Appointment, Kind, Room, Specialty
from appointments.services.booking import appointment_book
from appointments.services.custody import patient_admit
from appointments.services.texts import TEXT_MAX_LENGTH
from dossiers.forms import PatientForm, PrisonNumberField
from dossiers.models import Patient
from dossiers.selectors import patient_by_prison_number
from usmp.core import dates
from usmp.core.dates import PlausibleDateField

if TYPE_CHECKING:
    from usmp.accounts.models import User

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"

# The file's columns and the form's fields.
PATIENT_FIELDS = {
    "numero_ecrou": "prison_number",
    "nom": "last_name",
    "prenom": "first_name",
    "date_naissance": "birth_date",
    "sexe": "sex",
    "date_arrivee": "arrival_date",
    "ins": "ins",
}
APPOINTMENT_FIELDS = {
    "numero_ecrou": "prison_number",
    "date": "date",
    "debut": "start_time",
    "fin": "end_time",
    "praticien": "practitioner",
    "specialite": "specialty",
    "salle": "room",
    "motif": "motive",
}
# What legacy files write for the sex: the form's codes, and the French words.
SEX_WORDS = {
    "f": "F",
    "femme": "F",
    "feminin": "F",
    "féminin": "F",
    "m": "M",
    "h": "M",
    "homme": "M",
    "masculin": "M",
    "x": "X",
    "autre": "X",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    code: str = ""
    message: str = ""
    column: str = ""


def _refusals(errors: dict[str, list[ValidationError]], columns: dict[str, str]) -> Outcome:
    """The first error of a form as a refusal naming the file's column."""
    by_field = {field: column for column, field in columns.items()}
    for field, field_errors in errors.items():
        error = field_errors[0]
        message = error.messages[0] if error.messages else str(error)
        if error.code == "invalid_choice":
            # Django's own message repeats the value read: say it without.
            message = _("This value is not one of those accepted.")
        return Outcome(REFUSED, error.code or "invalid", message, by_field.get(field, ""))
    return Outcome(REFUSED, "invalid", _("The line is not valid."))


def _service_refusal(exc: ValidationError) -> Outcome:
    errors = (
        exc.error_list
        if not hasattr(exc, "error_dict")
        else [e for errs in exc.error_dict.values() for e in errs]
    )
    message = " ".join(m for e in errors for m in e.messages)
    return Outcome(REFUSED, errors[0].code or "refused", message)


# -- patients -----------------------------------------------------------------------------------


class LegacyPatientForm(PatientForm):
    """The patient form's rules; the prison number's uniqueness is the import's to judge
    (same person already registered, or another one under this number)."""

    def clean_prison_number(self) -> str:
        return str(self.cleaned_data["prison_number"])


def patient_line(values: dict[str, str], *, acting_user: User) -> Outcome:
    data = {PATIENT_FIELDS[c]: v.strip() for c, v in values.items() if c in PATIENT_FIELDS}
    data["sex"] = SEX_WORDS.get(data.get("sex", "").casefold(), data.get("sex", ""))
    form = LegacyPatientForm(data=data)
    if not form.is_valid():
        return _refusals(form.errors.as_data(), PATIENT_FIELDS)
    identity: dict[str, Any] = dict(form.cleaned_data)
    identity["ins"] = identity.get("ins") or None
    duplicate = _patient_duplicate(identity)
    if duplicate is not None:
        return duplicate
    try:
        patient_admit(acting_user=acting_user, **identity)
    except ValidationError as exc:
        return _service_refusal(exc)
    return Outcome(ACCEPTED)


def _patient_duplicate(identity: dict[str, Any]) -> Outcome | None:
    """A patient registered already under this prison number or INS, or likely the same
    person (same last name and birth date) under another number: compared by blind index,
    nothing decrypted."""
    candidate = Patient(**identity)
    candidate.compute_blind_indexes()
    match = Q(prison_number_bidx=candidate.prison_number_bidx) | Q(
        last_birth_bidx=candidate.last_birth_bidx
    )
    if candidate.ins_bidx:
        match |= Q(ins_bidx=candidate.ins_bidx)
    found = list(
        Patient.objects.filter(match).values_list(
            "prison_number_bidx", "full_name_bidx", "last_birth_bidx", "ins_bidx"
        )[:20]
    )
    same_person = (candidate.full_name_bidx, candidate.last_birth_bidx)
    for number, full_name, last_birth, _ins in found:
        if number == candidate.prison_number_bidx:
            if (full_name, last_birth) == same_person:
                return Outcome(
                    DUPLICATE,
                    "already_registered",
                    _("already registered: same prison number, same name and date of birth."),
                    "numero_ecrou",
                )
            return Outcome(
                DUPLICATE,
                "prison_number_taken",
                _(
                    "this prison number is already registered for another identity: "
                    "check the line, nothing was imported."
                ),
                "numero_ecrou",
            )
    for _number, _full_name, _last_birth, ins in found:
        if candidate.ins_bidx and ins == candidate.ins_bidx:
            return Outcome(
                DUPLICATE,
                "ins_taken",
                _("this INS is already registered for another patient: nothing was imported."),
                "ins",
            )
    for _number, full_name, _last_birth, _ins in found:
        same_full = full_name == candidate.full_name_bidx
        return Outcome(
            DUPLICATE,
            "likely_duplicate",
            _(
                "likely duplicate: a patient with the same last name%(first)s and date of "
                "birth is registered under another prison number. Not imported: check, then "
                "register by hand if it is another person."
            )
            % {"first": _(", first name") if same_full else ""},
            "numero_ecrou",
        )
    return None


# -- appointments -------------------------------------------------------------------------------


class LegacyAppointmentForm(SpanMixin, forms.Form):
    prison_number = PrisonNumberField()
    date = PlausibleDateField(years=dates.AGENDA)
    start_time = forms.TimeField(input_formats=TIME_FORMATS)
    end_time = forms.TimeField(input_formats=TIME_FORMATS)
    practitioner = forms.CharField(max_length=150)
    specialty = forms.CharField(max_length=80)
    room = forms.CharField(max_length=80)
    motive = forms.CharField(required=False, max_length=TEXT_MAX_LENGTH)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_span()
        return data


class References:
    """The practitioners, specialties and rooms a file names, looked up once each."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Any] = {}

    def _get(self, what: str, key: str, find: Any) -> Any:
        slot = (what, key.casefold())
        if slot not in self._cache:
            self._cache[slot] = find()
        return self._cache[slot]

    def practitioner(self, login: str) -> User | None:
        from usmp.accounts.models import User

        return self._get(  # type: ignore[no-any-return]
            "user", login, lambda: User.objects.filter(username=login, is_active=True).first()
        )

    def specialty(self, name: str) -> Specialty | None:
        return self._get(  # type: ignore[no-any-return]
            "specialty",
            name,
            lambda: Specialty.objects.filter(Q(code__iexact=name) | Q(name__iexact=name)).first(),
        )

    def room(self, name: str) -> Room | None:
        return self._get(  # type: ignore[no-any-return]
            "room",
            name,
            lambda: Room.objects.select_related("movement_point").filter(name__iexact=name).first(),
        )


def appointment_line(
    values: dict[str, str], *, acting_user: User, references: References
) -> Outcome:
    data = {APPOINTMENT_FIELDS[c]: v.strip() for c, v in values.items() if c in APPOINTMENT_FIELDS}
    form = LegacyAppointmentForm(data=data)
    if not form.is_valid():
        return _refusals(form.errors.as_data(), APPOINTMENT_FIELDS)
    cleaned = form.cleaned_data
    patient = patient_by_prison_number(cleaned["prison_number"])
    if patient is None:
        return Outcome(
            REFUSED,
            "unknown_patient",
            _("no patient with this prison number: import the patients first."),
            "numero_ecrou",
        )
    practitioner = references.practitioner(cleaned["practitioner"])
    if practitioner is None:
        return Outcome(
            REFUSED, "unknown_practitioner", _("no active account with this login."), "praticien"
        )
    specialty = references.specialty(cleaned["specialty"])
    if specialty is None:
        return Outcome(
            REFUSED, "unknown_specialty", _("no specialty with this code or name."), "specialite"
        )
    room = references.room(cleaned["room"])
    if room is None:
        return Outcome(REFUSED, "unknown_room", _("no room with this name."), "salle")
    start: datetime.datetime = cleaned["start"]
    end: datetime.datetime = cleaned["end"]
    if Appointment.objects.filter(
        patient=patient,
        practitioner=practitioner,
        specialty=specialty,
        start=start,
        end=end,
        status__in=ACTIVE_STATUSES,
    ).exists():
        return Outcome(
            DUPLICATE,
            "already_booked",
            _("already booked: same patient, practitioner, specialty and times."),
        )
    try:
        appointment_book(
            acting_user=acting_user,
            patient=patient,
            specialty=specialty,
            kind=Kind.ON_SITE,
            start=start,
            end=end,
            practitioner=practitioner,
            room=room,
            motive=cleaned.get("motive") or None,
        )
    except ValidationError as exc:
        return _service_refusal(exc)
    return Outcome(ACCEPTED)
