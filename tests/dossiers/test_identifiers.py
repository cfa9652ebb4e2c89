"""The unit's prison number: digits only, of a configurable length, and never a date."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from dossiers.checks import check_prison_number_format
from dossiers.identifiers import looks_like_a_date, validate_prison_number
from dossiers.models import Patient
from tests.factories import make_patient
from usmp.audit.models import AccessEvent


@pytest.mark.parametrize(
    "typed",
    [
        "0001-01-01",
        "2026-03-12",
        "12/03/2026",
        "12.03.2026",
        "12-03-26",
        "12 / 03 / 2026",
        "12 03 2026",
        "2026 03 12",
        "1/2/26",
        "2026-03-12T10:00",
        "123-456",
    ],
)
def test_a_date_is_never_taken_for_a_prison_number(typed):
    assert looks_like_a_date(typed)
    with pytest.raises(ValidationError) as refused:
        validate_prison_number(typed)
    assert refused.value.code == "date_like_prison_number"


@pytest.mark.parametrize(
    ("typed", "number"),
    [("2026123", "2026123"), (" 555 0002 ", "5550002"), ("12032026", "12032026"), ("0042", "0042")],
)
def test_digits_are_a_prison_number_spaces_between_them_are_dropped(typed, number):
    """Digits alone are a number even when they would read as a date (units number by year:
    2026 0312), and a number typed in groups from a paper slip is one number."""
    assert validate_prison_number(typed) == number


@pytest.mark.parametrize(
    "typed", ["12345A", "ABC123", "\uff11\uff12\uff13\uff14\uff15", "123", "12345678901", ""]
)
def test_anything_else_is_refused_with_the_unit_format(typed):
    with pytest.raises(ValidationError) as refused:
        validate_prison_number(typed)
    assert refused.value.code == "invalid_prison_number"
    assert "4 à 10 chiffres" in refused.value.messages[0]


def test_the_length_is_the_units_setting(settings):
    settings.USMP_PRISON_NUMBER_MIN_DIGITS = 7
    settings.USMP_PRISON_NUMBER_MAX_DIGITS = 7
    assert validate_prison_number("1234567") == "1234567"
    for typed in ("123456", "12345678"):
        with pytest.raises(ValidationError, match="compte 7 chiffres"):
            validate_prison_number(typed)


@pytest.mark.parametrize(("fewest", "most"), [(0, 10), (8, 6), (4, 21)])
def test_a_length_range_that_cannot_hold_is_a_check_error(settings, fewest, most):
    settings.USMP_PRISON_NUMBER_MIN_DIGITS, settings.USMP_PRISON_NUMBER_MAX_DIGITS = fewest, most
    assert [e.id for e in check_prison_number_format()] == ["dossiers.E001"]


def test_the_default_length_passes_the_check():
    assert check_prison_number_format() == []


@pytest.mark.django_db
def test_the_check_command_lists_the_numbers_off_format(capsys):
    """The first format allowed one trailing letter: such numbers, and those a new length
    leaves out, are listed by id (never by number) for the unit to correct."""
    make_patient(prison_number="123456")
    lettered = make_patient(prison_number="123457")
    lettered.prison_number = "12345B"  # as registered before this format
    lettered.save(update_fields=["prison_number"])
    with pytest.raises(CommandError, match="1 prison number"):
        call_command("prison_numbers_check")
    out = capsys.readouterr().out
    assert out.split() == [str(lettered.pk)]
    assert "12345B" not in out
    event = AccessEvent.objects.latest("id")
    assert (event.action, event.purpose, event.actor_id) == ("list_view", "check", None)


@pytest.mark.django_db
def test_the_check_command_is_quiet_when_every_number_fits(capsys):
    make_patient(prison_number="123456")
    call_command("prison_numbers_check")
    assert "Every prison number" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_services_refuse_a_number_out_of_format_too():
    from dossiers.services import patient_update

    with pytest.raises(ValidationError) as refused:
        make_patient(prison_number="0001-01-01")
    assert refused.value.error_dict["prison_number"][0].code == "date_like_prison_number"
    patient = make_patient()
    with pytest.raises(ValidationError):
        patient_update(acting_user=None, patient=patient, prison_number="12345A")
    assert Patient.objects.count() == 1
