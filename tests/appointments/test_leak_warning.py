"""The leakage lint at the moment it matters: booking or moving a consultation that would
leave a movement point served by one specialty warns the person first, in plain words, and
writes nothing until they confirm (bridge.W002 stays on the coordinator's pages)."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from appointments.models import Appointment, MovementPoint
from tests.appointments import factories as f
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

WARNING = "Les surveillants qui amènent les patients"
CONFIRM = "confirm_single_specialty"


def extraction(patient, point, specialty="dental", **extra):
    day = f.next_weekday()
    data = {
        "prison_number": patient.prison_number,
        "specialty": f.specialty(specialty).pk,
        "kind": "extraction",
        "movement_point": point.pk,
        "date": day.isoformat(),
        "start_time": "10:00",
        "end_time": "11:00",
    }
    data.update(extra)
    return data


def wing():
    return MovementPoint.objects.create(code="batiment-b", label="Bâtiment B, salle commune")


def test_a_booking_that_would_name_the_specialty_warns_first_and_writes_nothing(persona_client):
    nurse, point = persona_client("nurse"), wing()
    response = nurse.post(reverse("appointments:book"), extraction(make_patient(), point))
    text = unescape(response.content.decode())
    assert response.status_code == 200
    assert WARNING in text and "Bâtiment B, salle commune" in text and "Soins dentaires" in text
    assert f'name="{CONFIRM}"' in text
    assert not Appointment.objects.exists()


def test_the_booking_goes_through_once_confirmed(persona_client):
    nurse, point = persona_client("nurse"), wing()
    data = extraction(make_patient(), point, **{CONFIRM: "on"})
    assert nurse.post(reverse("appointments:book"), data).status_code == 302
    assert Appointment.objects.get().movement_point == point


def test_no_warning_where_the_point_already_serves_another_specialty(persona_client):
    nurse, point = persona_client("nurse"), wing()
    first = extraction(make_patient(), point, specialty="hepatology", **{CONFIRM: "on"})
    assert nurse.post(reverse("appointments:book"), first).status_code == 302
    second = extraction(make_patient(), point, start_time="14:00", end_time="15:00")
    response = nurse.post(reverse("appointments:book"), second)
    assert response.status_code == 302, unescape(response.content.decode())
    assert Appointment.objects.count() == 2


def test_no_warning_for_the_hospital_s_generic_consultations(persona_client):
    nurse = persona_client("nurse")
    data = extraction(make_patient(), f.hospital_point(), specialty="external-hospital")
    assert nurse.post(reverse("appointments:book"), data).status_code == 302


def test_no_warning_in_a_room_whose_point_other_specialties_serve(persona_client):
    doctor, patient = f.practitioner(), make_patient()
    day = f.next_weekday()
    data = {
        "prison_number": patient.prison_number,
        "specialty": f.specialty().pk,
        "kind": "on_site",
        "practitioner": doctor.pk,
        "room": f.room().pk,
        "date": day.isoformat(),
        "start_time": "10:00",
        "end_time": "10:30",
    }
    assert persona_client("secretary").post(reverse("appointments:book"), data).status_code == 302


def test_moving_the_last_other_specialty_away_warns_about_the_point_left_behind(persona_client):
    # The waiting room serves general medicine (opening hours) and one dental consultation;
    # moving that one to a room of another point would leave general medicine alone there.
    from tests.bridge.agendas import Consultation, write

    f.practitioner()
    annexe = MovementPoint.objects.create(code="annexe", label="Annexe")
    elsewhere = f.room("Cabinet annexe", annexe)
    dentist = f.practitioner(specialty_code="dental", room_name="Cabinet annexe")
    patient = make_patient()
    day = f.next_weekday()
    appointment = write(
        Consultation(
            patient=patient,
            point=f.point(),
            start=f.at(day, 10),
            end=f.at(day, 10, 30),
            specialty_code="dental",
            practitioner=dentist,
            room=f.room("Cabinet dentaire"),
        ),
        created_by=dentist,
    )
    url = reverse("appointments:appointment_move", kwargs={"appointment_id": appointment.pk})
    move = {
        "date": day.isoformat(),
        "start_time": "10:00",
        "end_time": "10:30",
        "practitioner": dentist.pk,
        "room": elsewhere.pk,
        "reason": "unit_organisation",
    }
    nurse = persona_client("nurse")
    response = nurse.post(url, move)
    text = unescape(response.content.decode())
    assert response.status_code == 200
    assert WARNING in text and "Salle d'attente USMP" in text and "Médecine générale" in text
    appointment.refresh_from_db()
    assert appointment.room.name == "Cabinet dentaire"
    response = nurse.post(url, {**move, CONFIRM: "on"})
    assert response.status_code == 302, unescape(response.content.decode())
    appointment.refresh_from_db()
    assert appointment.room == elsewhere
