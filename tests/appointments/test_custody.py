"""Custody facts drive the mandatory visits through one service (services.custody), called by
the patient forms and by the bridge's custody events alike; a save of a patient by itself
drives nothing."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from appointments.models import Appointment, Reason, Side, Status, VisitTask
from appointments.movements import custody_event_record
from appointments.services.custody import custody_change
from dossiers.models import Patient
from tests.appointments import factories as f
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=f.PARIS)  # a Monday
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def tasks(patient):
    return list(
        VisitTask.objects.filter(patient=patient)
        .order_by("kind", "due_from")
        .values_list("kind", "status", "due_from", "due_by")
    )


def form_data(patient, **changes):
    data = {
        "prison_number": patient.prison_number,
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "ins": "",
        "arrival_date": patient.arrival_date.isoformat(),
        "custody_status": patient.custody_status,
        "expected_release_date": (
            patient.expected_release_date.isoformat() if patient.expected_release_date else ""
        ),
    }
    return {**data, **changes}


def edit(client, patient, **changes):
    url = reverse("dossiers:patient_update", kwargs={"patient_id": patient.pk})
    response = client.post(url, form_data(patient, **changes))
    assert response.status_code == 302, response.content.decode()[:500]
    patient.refresh_from_db()


def push(patient, kind, date, ref):
    return custody_event_record(
        prison_number=patient.prison_number,
        kind=kind,
        date=date,
        client_ref=ref,
        acting_client_label="test",
    )


def test_registering_a_patient_through_the_form_opens_the_entry_visit(persona_client):
    data = {
        "prison_number": "765432",
        "last_name": "Entrant",
        "first_name": "Arthur",
        "birth_date": "1990-01-01",
        "sex": "M",
        "ins": "",
        "arrival_date": TODAY.isoformat(),
    }
    response = persona_client("secretary").post(reverse("dossiers:patient_create"), data)
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert tasks(patient) == [
        (VisitTask.Kind.ENTRY, VisitTask.Status.OPEN, TODAY, TODAY + datetime.timedelta(days=2))
    ]


def test_the_form_and_the_bridge_give_the_same_visits_for_the_same_custody_facts(
    persona_client,
):
    client = persona_client("secretary")
    by_form = make_patient(arrival_date=TODAY - datetime.timedelta(days=1))
    by_bridge = make_patient(arrival_date=TODAY - datetime.timedelta(days=1))
    release = TODAY + datetime.timedelta(days=40)
    edit(client, by_form, expected_release_date=release.isoformat())
    push(by_bridge, "release", release, "r-1")
    assert tasks(by_form) == tasks(by_bridge)
    assert [kind for kind, *_ in tasks(by_form)] == [
        VisitTask.Kind.ENTRY,
        VisitTask.Kind.PRE_RELEASE,
    ]
    edit(client, by_form, custody_status="transferred")
    push(by_bridge, "transfer", TODAY, "t-1")
    assert tasks(by_form) == tasks(by_bridge)
    assert {status for _kind, status, *_ in tasks(by_form)} == {VisitTask.Status.CANCELLED}


def test_a_departure_in_the_form_keeps_the_appointments_the_bridge_cancels_them(
    persona_client,
):
    by_form = make_patient(arrival_date=TODAY)
    by_bridge = make_patient(arrival_date=TODAY)
    later = TODAY + datetime.timedelta(days=2)
    kept = f.book(patient=by_form, start=f.at(later, 10))
    cancelled = f.book(patient=by_bridge, start=f.at(later, 11))
    edit(persona_client("secretary"), by_form, custody_status="released")
    result = push(by_bridge, "release", TODAY, "r-2")
    kept.refresh_from_db()
    cancelled.refresh_from_db()
    assert kept.status == Status.PLANNED
    assert (cancelled.status, cancelled.reason, cancelled.side) == (
        Status.CANCELLED,
        Reason.RELEASED,
        Side.PENITENTIARY,
    )
    assert (result.cancelled, result.flagged) == (1, 0)
    assert tasks(by_form) == tasks(by_bridge)


def test_a_readmission_in_the_form_opens_a_new_entry_visit(persona_client):
    patient = make_patient(arrival_date=datetime.date(2025, 6, 1))
    custody_change(acting_user=None, patient=patient, custody_status="released")
    assert tasks(patient) == []
    edit(
        persona_client("secretary"),
        patient,
        custody_status="present",
        arrival_date=TODAY.isoformat(),
    )
    assert tasks(patient) == [
        (VisitTask.Kind.ENTRY, VisitTask.Status.OPEN, TODAY, TODAY + datetime.timedelta(days=2))
    ]


def test_identity_and_custody_changed_together_are_one_write(persona_client):
    client = persona_client("secretary")
    patient = make_patient(arrival_date=TODAY)
    before = LogEntry.objects.get_for_object(patient).count()
    edit(
        client,
        patient,
        last_name="Autrenom",
        expected_release_date=(TODAY + datetime.timedelta(days=90)).isoformat(),
    )
    entries = LogEntry.objects.get_for_object(patient)
    assert entries.count() == before + 1
    assert "expected_release_date" in entries.order_by("pk").last().changes_dict
    assert patient.last_name == "Autrenom"
    assert VisitTask.objects.filter(patient=patient, kind=VisitTask.Kind.PRE_RELEASE).exists()


def test_an_unchanged_form_changes_nothing_and_says_so(persona_client):
    client = persona_client("secretary")
    patient = make_patient(arrival_date=TODAY)
    before = (tasks(patient), LogEntry.objects.count())
    url = reverse("dossiers:patient_update", kwargs={"patient_id": patient.pk})
    response = client.post(url, form_data(patient))
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["Rien n'a changé."]
    assert (tasks(patient), LogEntry.objects.count()) == before


def test_a_bare_save_of_a_patient_derives_no_visit():
    patient = make_patient(arrival_date=datetime.date(2025, 6, 1))
    patient.expected_release_date = TODAY + datetime.timedelta(days=20)
    patient.save()
    assert tasks(patient) == []
    custody_change(acting_user=None, patient=patient, expected_release_date=TODAY)
    assert [kind for kind, *_ in tasks(patient)] == [VisitTask.Kind.PRE_RELEASE]


def test_planned_appointments_of_the_day_of_departure_are_flagged_not_cancelled():
    patient = make_patient(arrival_date=TODAY - datetime.timedelta(days=10))
    today = f.book(patient=patient, start=f.at(TODAY, 15))
    change = custody_change(
        acting_user=None, patient=patient, custody_status="released", left_on=TODAY
    )
    today.refresh_from_db()
    assert (change.cancelled, change.flagged) == (0, 1)
    assert today.status == Status.PLANNED
    assert Appointment.objects.filter(status=Status.CANCELLED).count() == 0


@pytest.mark.parametrize("release", ["9999-12-31", "2031-03-03"])
def test_a_release_date_too_far_ahead_is_refused_and_opens_no_visit(persona_client, release):
    """At most dates.RELEASE_MAX_YEARS_AHEAD years ahead (to the day): 9999 is out of the
    years a release may take, the day after the limit is out of the limit."""
    client = persona_client("secretary")
    patient = make_patient(arrival_date=TODAY)
    before = (tasks(patient), LogEntry.objects.count())
    url = reverse("dossiers:patient_update", kwargs={"patient_id": patient.pk})
    response = client.post(url, form_data(patient, expected_release_date=release))
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["expected_release_date"])
    assert "2031" in errors
    assert (tasks(patient), LogEntry.objects.count()) == before


def test_the_release_limit_is_the_services_too():
    from django.core.exceptions import ValidationError

    from usmp.core.dates import latest_release

    patient = make_patient(arrival_date=TODAY)
    assert latest_release() == datetime.date(2031, 3, 2)
    with pytest.raises(ValidationError) as refused:
        custody_change(
            acting_user=None,
            patient=patient,
            expected_release_date=latest_release() + datetime.timedelta(days=1),
        )
    assert refused.value.error_dict["expected_release_date"][0].code == "release_too_far"
    patient.refresh_from_db()
    assert patient.expected_release_date is None
    assert [kind for kind, *_ in tasks(patient)] == [VisitTask.Kind.ENTRY]
    custody_change(acting_user=None, patient=patient, expected_release_date=latest_release())
    assert [kind for kind, *_ in tasks(patient)] == [
        VisitTask.Kind.ENTRY,
        VisitTask.Kind.PRE_RELEASE,
    ]
