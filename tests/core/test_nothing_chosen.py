"""Every list of every form reads "—" when nothing is chosen, never Django's "---------"
(usmp.core.forms): the rule over every form class the application defines, not a list."""

from __future__ import annotations

import importlib
import inspect

import pytest
from django import forms

from usmp.core.forms import DJANGO_BLANK, NOTHING_CHOSEN, NothingChosenMixin

pytestmark = pytest.mark.django_db

FORM_MODULES = [
    "appointments.forms",
    "bridge.views",
    "certificates.forms",
    "disclosures.forms",
    "dossiers.forms",
    "onboarding.lines",
    "oversight.forms",
    "transfers.forms",
    "usmp.accounts.forms",
]


def _form_classes() -> list[type[forms.BaseForm]]:
    found = []
    for name in FORM_MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, forms.BaseForm)
                and cls.__module__ == name
                and not cls.__name__.startswith("_")
            ):
                found.append(cls)
    return found


def test_no_list_of_any_form_offers_djangos_dashes():
    rendered = []
    for cls in _form_classes():
        try:
            form = cls()
        except TypeError:
            continue  # needs arguments (a patient, choices): its lists are built by its view
        html = str(form)
        assert DJANGO_BLANK not in html, cls.__qualname__
        rendered.append(cls)
    # Every ModelForm renders without arguments (their lists come from the models).
    model_forms = [c for c in _form_classes() if issubclass(c, forms.ModelForm)]
    assert model_forms and set(model_forms) <= set(rendered)
    assert len(rendered) >= 20


def test_a_models_foreign_key_and_choices_read_a_dash():
    from appointments.forms import OpeningHoursForm

    form = OpeningHoursForm()
    for name in ("specialty", "room", "practitioner"):
        assert form.fields[name].empty_label == NOTHING_CHOSEN  # type: ignore[attr-defined]
    assert next(iter(form.fields["weekday"].choices)) == ("", NOTHING_CHOSEN)  # type: ignore[attr-defined]


def test_a_list_that_must_have_a_choice_is_left_alone():
    class Form(NothingChosenMixin, forms.Form):
        kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])

    assert list(Form().fields["kind"].choices) == [("a", "A"), ("b", "B")]  # type: ignore[attr-defined]
