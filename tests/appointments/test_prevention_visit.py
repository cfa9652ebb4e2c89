"""The information and prevention visit of a working detainee (code pénitentiaire
L.412-47): its own task, and a warning when it would be booked with the patient's treating
doctor, which the booker may override with a reason that is recorded."""

from __future__ import annotations

import datetime
from html import unescape

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Status, VisitTask
from appointments.selectors.agenda import treating_practitioner_id
from appointments.services.visit_tasks import prevention_visit_open
from tests.appointments import factories as f
from tests.bridge.agendas import Consultation, write
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db

WARNING = "médecin traitant"
CONFIRM = "confirm_treating_doctor"
REASON = "treating_reason"


def seen_by(patient, doctor, times, days_ago=20):
    for n in range(times):
        day = timezone.localdate() - datetime.timedelta(days=days_ago + n)
        write(
            Consultation(
                patient,
                f.point(),
                f.at(day, 9),
                f.at(day, 9) + datetime.timedelta(minutes=20),
                practitioner=doctor,
                status=Status.DONE,
            ),
            created_by=doctor,
        )


@pytest.fixture
def setting():
    treating, other = f.practitioner(), f.practitioner(room_name="Cabinet 2")
    patient = make_patient()
    seen_by(patient, treating, 3)
    seen_by(patient, other, 1, days_ago=5)
    task = prevention_visit_open(acting_user=make_user("nurse"), patient=patient)
    return patient, task, treating, other


def booking(patient, task, doctor, room="Cabinet 1", **extra):
    data = {
        "patient": str(patient.pk),
        "visit_task": str(task.pk),
        "specialty": f.specialty().pk,
        "kind": "on_site",
        "date": f.next_weekday().isoformat(),
        "start_time": "10:00",
        "end_time": "10:30",
        "practitioner": doctor.pk,
        "room": f.room(room).pk,
        "movement_point": f.point().pk,
    }
    data.update(extra)
    return data


def test_the_prevention_visit_is_a_task_of_its_own_and_one_at_a_time():
    patient = make_patient(arrival_date=timezone.localdate())
    task = prevention_visit_open(acting_user=None, patient=patient)
    assert (task.kind, task.status, task.due_from) == ("prevention", "open", timezone.localdate())
    assert task.due_by == timezone.localdate() + datetime.timedelta(days=30)
    with pytest.raises(ValidationError):
        prevention_visit_open(acting_user=None, patient=patient)
    # The entry visit opened at the arrival is another task.
    assert set(VisitTask.objects.filter(patient=patient).values_list("kind", flat=True)) == {
        "prevention",
        "entry",
    }


def test_the_treating_doctor_is_the_one_who_saw_the_patient_most_in_twelve_months():
    patient, old, recent = make_patient(), f.practitioner(), f.practitioner()
    seen_by(patient, old, 4, days_ago=400)  # more, but over a year ago
    seen_by(patient, recent, 2)
    assert treating_practitioner_id(patient_id=patient.pk, at=timezone.now()) == recent.pk


def test_booking_with_the_treating_doctor_warns_and_writes_nothing(persona_client, setting):
    patient, task, treating, _other = setting
    response = persona_client("secretary").post(
        reverse("appointments:book"), booking(patient, task, treating)
    )
    text = unescape(response.content.decode())
    assert response.status_code == 200
    assert WARNING in text and f'name="{CONFIRM}"' in text and f'name="{REASON}"' in text
    assert not Appointment.objects.filter(status=Status.PLANNED).exists()
    assert VisitTask.objects.get(pk=task.pk).status == "open"


def test_ticking_without_a_reason_is_not_enough(persona_client, setting):
    patient, task, treating, _other = setting
    data = booking(patient, task, treating, **{CONFIRM: "on"})
    response = persona_client("secretary").post(reverse("appointments:book"), data)
    assert response.status_code == 200
    assert not Appointment.objects.filter(status=Status.PLANNED).exists()


def test_the_override_books_and_records_its_reason(persona_client, setting):
    patient, task, treating, _other = setting
    data = booking(patient, task, treating, **{CONFIRM: "on", REASON: "no_other_doctor"})
    response = persona_client("secretary").post(reverse("appointments:book"), data)
    assert response.status_code == 302, unescape(response.content.decode())
    task.refresh_from_db()
    assert (task.status, task.treating_override) == ("booked", "no_other_doctor")
    assert task.appointment.practitioner == treating
    change = LogEntry.objects.get_for_object(task).order_by("-timestamp").first()
    assert "treating_override" in change.changes_dict


def test_another_doctor_books_without_a_warning(persona_client, setting):
    patient, task, _treating, other = setting
    response = persona_client("secretary").post(
        reverse("appointments:book"), booking(patient, task, other, room="Cabinet 2")
    )
    assert response.status_code == 302, unescape(response.content.decode())
    task.refresh_from_db()
    assert (task.status, task.treating_override) == ("booked", "")


def test_the_service_refuses_the_treating_doctor_without_a_reason(setting):
    from appointments.services.booking import appointment_book

    patient, task, treating, _other = setting
    start = f.at(f.next_weekday(), 10)
    with pytest.raises(ValidationError) as refused:
        appointment_book(
            acting_user=treating,
            patient=patient,
            specialty=f.specialty(),
            kind="on_site",
            start=start,
            end=start + datetime.timedelta(minutes=30),
            practitioner=treating,
            room=f.room(),
            visit_task=task,
        )
    assert refused.value.code == "treating_doctor"


def test_the_desk_opens_the_visit_from_the_patients_agenda(persona_client):
    patient = make_patient()
    response = persona_client("secretary").post(
        reverse("appointments:prevention_open", kwargs={"patient_id": patient.pk})
    )
    assert response.status_code == 302
    assert VisitTask.objects.filter(patient=patient, kind="prevention").count() == 1
