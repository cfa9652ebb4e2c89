"""Every list of every form reads "—" when nothing is chosen, never Django's "---------"
(usmp.core.forms): the rule over every form class the application defines, found, not
listed."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django import forms
from django.core.management import get_commands, load_command_class
from django.urls import get_resolver

from usmp.core.forms import DJANGO_BLANK, NOTHING_CHOSEN, NothingChosenMixin

from .deployment import own_packages

pytestmark = pytest.mark.django_db


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _form_classes() -> list[type[forms.BaseForm]]:
    """Every form class of the application: those its views and commands can show, found
    by importing every URL's view and every management command (and so the forms they
    use) and every module named forms, then listing BaseForm's subclasses defined in the
    project's packages."""
    get_resolver().url_patterns  # noqa: B018 - imports every view module
    for name, app_name in get_commands().items():
        load_command_class(app_name, name)  # and every command's (the first day's import)
    own = tuple(f"{top}." for top in own_packages())
    for top in own_packages():
        package = importlib.import_module(top)
        for info in pkgutil.walk_packages(package.__path__, f"{top}."):
            if info.name.rsplit(".", 1)[-1] == "forms":
                importlib.import_module(info.name)
    return sorted(
        (
            cls
            for cls in _subclasses(forms.BaseForm)
            if cls.__module__.startswith(own)
            and not cls.__name__.startswith("_")
            # An abstract ModelForm (no model) is not a form anyone sees.
            and getattr(getattr(cls, "_meta", None), "model", True) is not None
        ),
        key=lambda c: (c.__module__, c.__qualname__),
    )


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
    for name in ("specialty", "room"):
        assert form.fields[name].empty_label == NOTHING_CHOSEN  # type: ignore[attr-defined]
    assert next(iter(form.fields["weekday"].choices)) == ("", NOTHING_CHOSEN)  # type: ignore[attr-defined]


def test_a_list_that_must_have_a_choice_is_left_alone():
    class Form(NothingChosenMixin, forms.Form):
        kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])

    assert list(Form().fields["kind"].choices) == [("a", "A"), ("b", "B")]  # type: ignore[attr-defined]
