"""The dossier opens on a summary: allergies and the latest treatment summaries, newest
first, current versions only, for a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dossiers.models import Compartment
from tests.factories import make_patient, make_user

from .conftest import write_entry

pytestmark = pytest.mark.django_db


def url(patient, compartment="somatic"):
    return reverse(
        "dossiers:dossier_detail", kwargs={"patient_id": patient.pk, "compartment": compartment}
    )


def test_the_summary_shows_allergies_and_the_latest_treatment_first(client):
    physician = make_user("physician")
    patient = make_patient()
    write_entry(physician, patient, Compartment.SOMATIC, "Pénicilline : urticaire", "allergy")
    old = write_entry(physician, patient, Compartment.SOMATIC, "Paracétamol 1 g", "treatment")
    write_entry(
        physician, patient, Compartment.SOMATIC, "Paracétamol 1 g x3", "treatment", supersedes=old
    )
    write_entry(physician, patient, Compartment.SOMATIC, "Amoxicilline arrêtée", "treatment")
    write_entry(physician, patient, Compartment.SOMATIC, "Vu ce jour, va bien.", "consultation")
    client.force_login(physician)
    response = client.get(url(patient))
    dossier = response.context["dossier"]
    assert [e.text for e in dossier.allergies] == ["Pénicilline : urticaire"]
    # Current versions only (the corrected one is replaced), newest first.
    assert [e.text for e in dossier.treatments] == ["Amoxicilline arrêtée", "Paracétamol 1 g x3"]
    body = response.content.decode()
    summary = body.split('id="summary-title"', 1)[1].split("</section>", 1)[0]
    assert "Pénicilline : urticaire" in summary and "Vu ce jour" not in summary
    assert summary.index("Amoxicilline") < summary.index("Paracétamol 1 g x3")
    assert "Traitement en cours" in summary


def test_the_summary_of_one_compartment_holds_nothing_of_the_other(client):
    physician, psychiatrist = make_user("physician"), make_user("psychiatrist")
    patient = make_patient()
    write_entry(psychiatrist, patient, Compartment.PSYCHIATRIC, "PSY-ALLERGY", "allergy")
    client.force_login(physician)
    response = client.get(url(patient))
    assert response.context["dossier"].allergies == ()
    assert "PSY-ALLERGY" not in response.content.decode()
    assert "Aucune allergie notée dans ce dossier." in response.content.decode()


def test_the_summary_costs_the_same_queries_for_a_long_dossier(client):
    physician = make_user("physician")
    patient = make_patient()
    write_entry(physician, patient, Compartment.SOMATIC, "Allergie 0", "allergy")
    write_entry(physician, patient, Compartment.SOMATIC, "Traitement 0", "treatment")
    client.force_login(physician)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(patient)).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(1, 30):
        write_entry(physician, patient, Compartment.SOMATIC, f"Allergie {i}", "allergy")
        write_entry(physician, patient, Compartment.SOMATIC, f"Traitement {i}", "treatment")
    assert queries() == few
    dossier = client.get(url(patient)).context["dossier"]
    assert (len(dossier.allergies), dossier.allergies_count) == (20, 30)
    assert (len(dossier.treatments), dossier.treatments_count) == (3, 30)
    assert [e.text for e in dossier.treatments] == [
        "Traitement 29",
        "Traitement 28",
        "Traitement 27",
    ]
