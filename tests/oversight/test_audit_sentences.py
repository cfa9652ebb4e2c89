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
    assert moved.detail == "champs : début, fin"
    for raw in ("appointment created", "appointment updated", "start, end"):
        assert raw not in body


def test_every_audited_model_has_words():
    """A model added to the write history without a phrase would be named by its class."""
    from auditlog.registry import auditlog

    from oversight.wording import THINGS

    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in auditlog.get_models()}
    assert registered <= set(THINGS), registered - set(THINGS)
