"""Personas and patients for the tests. All names are invented."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from django.contrib.auth.models import Group

from appointments.services.custody import patient_admit
from dossiers.models import Patient
from usmp.accounts.models import User
from usmp.accounts.roles import Role

PASSWORD = "correct-horse-battery-staple"

# persona name -> (role group or None, superuser, staff)
PERSONAS: dict[str, tuple[str | None, bool, bool]] = {
    "nurse": (Role.NURSE, False, False),
    "physician": (Role.PHYSICIAN, False, False),
    "psychiatrist": (Role.PSYCHIATRIST, False, False),
    "secretary": (Role.SECRETARY, False, False),
    "coordinator": (Role.COORDINATOR, False, True),
    "superuser": (None, True, True),
}

_counter = itertools.count(1)


def make_user(persona: str, **extra: Any) -> User:
    role, superuser, staff = PERSONAS[persona]
    n = next(_counter)
    user = User.objects.create_user(
        username=f"{persona}{n}",
        password=PASSWORD,
        first_name=persona.title(),
        last_name=f"Test{n}",
        is_superuser=superuser,
        is_staff=staff,
        **extra,
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_patient(**overrides: Any) -> Patient:
    n = next(_counter)
    data: dict[str, Any] = {
        "prison_number": f"{100000 + n}",
        "last_name": "Fictif",
        "first_name": f"Prénom{chr(65 + n % 26)}",
        "birth_date": datetime.date(1985, 4, 12),
        "sex": Patient.Sex.MALE,
        "arrival_date": datetime.date(2026, 1, 5),
        "ins": None,
    }
    data.update(overrides)
    return patient_admit(acting_user=None, **data)


def in_a_week() -> datetime.date:
    """The last day of a dossier grant given for a week."""
    from django.utils import timezone

    return timezone.localdate() + datetime.timedelta(days=7)
