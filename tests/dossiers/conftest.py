from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from dossiers.models import Compartment, Dossier
from dossiers.permissions import dossier_access_for
from dossiers.services import break_glass_open, entry_create
from tests.factories import make_patient, make_user


def dossier_of(patient, compartment):
    return Dossier.objects.select_related("patient__identity_key", "data_key").get(
        patient=patient, compartment=compartment
    )


def write_entry(
    user, patient, compartment, text, kind="consultation", supersedes=None, addendum_to=None
):
    dossier = dossier_of(patient, compartment)
    access = dossier_access_for(user, dossier)
    assert access is not None, f"{user} cannot write in {compartment}"
    return entry_create(
        acting_user=user,
        access=access,
        kind=kind,
        text=text,
        supersedes=supersedes,
        reason="Erreur de saisie" if supersedes is not None else "",
        addendum_to=addendum_to,
    )


def open_break_glass(user, patient, compartment, minutes=60):
    return break_glass_open(
        acting_user=user,
        dossier=dossier_of(patient, compartment),
        reason="Malaise en cellule, patient inconscient, traitement inconnu",
        minutes=minutes,
    )


@pytest.fixture
def psy_patient(db):
    """A patient with content in both compartments: data that could leak."""
    patient = make_patient(last_name="Compartiment", first_name="Double")
    write_entry(make_user("physician"), patient, Compartment.SOMATIC, "SOMATIC-SENTINEL note")
    write_entry(make_user("psychiatrist"), patient, Compartment.PSYCHIATRIC, "PSY-SENTINEL note")
    return patient


def later(minutes):
    return timezone.now() + datetime.timedelta(minutes=minutes)
