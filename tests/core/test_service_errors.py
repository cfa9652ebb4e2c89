"""One convention for a service's refusals (ValidationError with codes) and one way each to
show them on a form and to answer an API client (usmp.core.errors)."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError

from usmp.core.errors import ApiError, add_service_error, api_error, error_codes, field_error


class _Form(forms.Form):
    room = forms.CharField(required=False)


def test_a_field_error_keeps_its_code():
    exc = field_error("room", "Choose a room.", "room_required")
    assert error_codes(exc) == ["room_required"]
    assert exc.message_dict == {"room": ["Choose a room."]}


def test_codes_of_a_list_of_errors_are_listed_in_order():
    exc = ValidationError(
        [ValidationError("a", code="practitioner_busy"), ValidationError("b", code="room_busy")]
    )
    assert error_codes(exc) == ["practitioner_busy", "room_busy"]


def test_errors_of_fields_the_form_shows_go_to_the_field_others_to_the_form():
    form = _Form({})
    assert form.is_valid()
    add_service_error(
        form,
        ValidationError(
            {
                "room": ValidationError("Closed.", code="room_closed"),
                "motive": ValidationError("Too long.", code="too_long"),
            }
        ),
    )
    assert form.errors == {"room": ["Closed."], "__all__": ["Too long."]}


def test_an_error_of_no_field_goes_to_the_form():
    form = _Form({})
    assert form.is_valid()
    add_service_error(form, ValidationError("Taken.", code="conflict"))
    assert form.non_field_errors() == ["Taken."]


def test_the_api_answers_with_the_entry_of_the_refusals_code():
    answers = {"unknown_reference": ApiError(404, "Not found")}
    assert api_error(ValidationError("x", code="unknown_reference"), answers) == ApiError(
        404, "Not found"
    )


def test_a_refusal_the_api_does_not_list_is_raised_again():
    refusal = ValidationError("x", code="unexpected")
    with pytest.raises(ValidationError) as excinfo:
        api_error(refusal, {"unknown_reference": ApiError(404, "Not found")})
    assert excinfo.value is refusal
