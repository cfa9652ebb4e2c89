"""What every form of the application shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.choices import BlankChoiceIterator

# Nothing chosen, in every list of the application (Django's default is "---------").
NOTHING_CHOSEN = "—"
DJANGO_BLANK = "---------"


def with_nothing_chosen(choices: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """CHOICES after the application's "nothing chosen" line, for a list that must be chosen
    from (a required field refuses the blank choice with its own message)."""
    return [("", NOTHING_CHOSEN), *choices]


class NothingChosenMixin:
    """A form whose lists read "—" when nothing is chosen: the foreign keys and the model
    choices a ModelForm makes carry Django's "---------" otherwise."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                if field.empty_label == DJANGO_BLANK:
                    field.empty_label = NOTHING_CHOSEN
            elif isinstance(field, forms.ChoiceField):
                # A model field's choices come lazily, with the blank choice to add.
                choices = field.choices
                if isinstance(choices, BlankChoiceIterator) and choices.blank_choice == [
                    ("", DJANGO_BLANK)
                ]:
                    field.choices = BlankChoiceIterator(choices.choices, [("", NOTHING_CHOSEN)])
                elif isinstance(choices, list) and choices and choices[0] == ("", DJANGO_BLANK):
                    field.choices = [("", NOTHING_CHOSEN), *choices[1:]]


class ModelForm(NothingChosenMixin, forms.ModelForm):  # type: ignore[type-arg]
    """The application's ModelForm."""
