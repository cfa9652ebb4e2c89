"""The write history in French sentences: who did what to which kind of thing, and which
fields changed, by their labels (never their values)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from appointments.services import changes
from tests.appointments import factories as agenda
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_moved_appointment_reads_as_a_french_sentence(client):
    doctor = agenda.practitioner("physician")
    doctor.first_name, doctor.last_name = "Paul", "Médecin"
    doctor.save()
    appointment = agenda.book(practitioner_user=doctor)
    changes.appointment_move(
        acting_user=doctor,
        appointment=appointment,
        start=appointment.start + datetime.timedelta(hours=1),
        end=appointment.end + datetime.timedelta(hours=1),
        practitioner=doctor,
        room=appointment.room,
        reason="practitioner_absent",
    )
    client.force_login(make_user("coordinator"))
    response = client.get(reverse("oversight:audit_log"), {"action": "write"})
    body = response.content.decode()
    labels = [r.action_label for r in response.context["page"].rows]
    assert "Paul Médecin a créé un rendez-vous" in labels
    assert "Paul Médecin a modifié un rendez-vous" in labels
    moved = next(
        r
        for r in response.context["page"].rows
        if r.action_label.endswith("modifié un rendez-vous")
    )
    assert moved.detail == "champs : début, fin · motif : Praticien absent ou en retard"
    for raw in ("appointment created", "appointment updated", "start, end"):
        assert raw not in body


def test_every_audited_model_has_words():
    """A model added to the write history without a phrase would be named by its class."""
    from auditlog.registry import auditlog

    from oversight.wording import THINGS

    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in auditlog.get_models()}
    assert registered <= set(THINGS), registered - set(THINGS)


def test_every_object_an_access_event_names_has_words():
    """The object types written by the access functions, found in their source, each have
    a label in the trail."""
    import pathlib
    import re

    from oversight.wording import OBJECTS

    root = pathlib.Path(__file__).resolve().parents[2]
    used = set()
    for path in [*root.glob("*/access/*.py"), *root.glob("*/access.py")]:
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'object_type="([a-z_]+)"', source))
        used |= set(re.findall(r'list_target\(\s*"([a-z_]+)"', source))
        used |= set(re.findall(r'_object_target\(\s*Action\.\w+,\s*"([a-z_]+)"', source))
    assert used, "object types found"
    assert used <= set(OBJECTS), used - set(OBJECTS)


def test_an_access_event_detail_reads_as_words(client):
    from tests.factories import make_patient
    from usmp.audit.writer import write_event

    patient = make_patient()
    write_event(
        actor=make_user("nurse"),
        action="list_view",
        object_type="agenda_day",
        object_id="2026-12-02",
        patient_id=None,
    )
    write_event(
        actor=make_user("nurse"),
        action="dossier_view",
        object_type="dossier",
        patient_id=patient.pk,
    )
    client.force_login(make_user("coordinator"))
    rows = client.get(reverse("oversight:audit_log")).context["page"].rows
    details = {r.detail for r in rows}
    assert "agenda du jour 2026-12-02" in details
    assert "dossier" in details
