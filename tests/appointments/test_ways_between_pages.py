"""Ways between pages: "Ma journée" on a clinician's home page, the unit's day for the
secretary, what awaits the coordinator's review, and links from appointments, care
requests and visits to the patient and to the dossier the viewer may open, never to one
they may not (the compartment wall)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.services import care_requests
from dossiers.models import Compartment
from tests.dossiers.conftest import open_break_glass
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

from . import factories as f

pytestmark = pytest.mark.django_db

DAY = f.next_weekday(2)
NOON = f.at(DAY, 12)


def dossier_url(patient, compartment="somatic") -> str:
    return reverse(
        "dossiers:dossier_detail", kwargs={"patient_id": patient.pk, "compartment": compartment}
    )


def patient_url(patient) -> str:
    return reverse("dossiers:patient_detail", kwargs={"patient_id": patient.pk})


@pytest.fixture
def day_of_a_doctor():
    """A physician's day: three consultations (one at 09:00 still planned at noon: late),
    a colleague's consultation, and a cancelled one."""
    doctor = f.practitioner("physician")
    colleague = f.practitioner("physician", room_name="Cabinet 2")
    with time_machine.travel(f.at(DAY, 7), tick=False):
        first = make_patient(last_name="Matin", first_name="Paul")
        mine = [
            f.book(patient=first, practitioner_user=doctor, start=f.at(DAY, 9)),
            f.book(practitioner_user=doctor, start=f.at(DAY, 14)),
            f.book(practitioner_user=doctor, start=f.at(DAY, 11)),
        ]
        other = f.book(
            patient=make_patient(last_name="Ailleurs"),
            practitioner_user=colleague,
            start=f.at(DAY, 9),
            room_obj=f.room("Cabinet 2"),
        )
    return doctor, colleague, first, mine, other


def test_my_day_lists_my_consultations_in_order_with_their_dossiers(client, day_of_a_doctor):
    doctor, _colleague, first, mine, _other = day_of_a_doctor
    with time_machine.travel(NOON, tick=False):
        client.force_login(doctor)
        response = client.get(reverse("home"))
    panels = response.context["panels"]
    assert [a.id for a in panels.my_day] == [mine[0].pk, mine[2].pk, mine[1].pk]
    assert [a.is_late for a in panels.my_day] == [True, True, False]
    body = response.content.decode()
    assert "Ma journée" in body
    assert "AILLEURS" not in body  # the colleague's patient
    assert "MATIN Paul" in body
    assert f'href="{dossier_url(first)}"' in body
    assert "2 en retard" in body
    # One list event for the home page, naming the day, no patient.
    event = AccessEvent.objects.latest("id")
    assert (event.action, event.object_type, event.object_id, event.patient_id) == (
        "list_view",
        "home",
        DAY.isoformat(),
        None,
    )


def test_a_psychiatric_consultation_of_the_day_links_no_somatic_dossier(client):
    psychiatrist = f.practitioner(
        "psychiatrist", specialty_code="psychiatry", room_name="Cabinet psy"
    )
    patient = make_patient(last_name="Muraille")
    with time_machine.travel(f.at(DAY, 7), tick=False):
        f.book(
            patient=patient,
            practitioner_user=psychiatrist,
            specialty_obj=f.specialty("psychiatry"),
            room_obj=f.room("Cabinet psy"),
            start=f.at(DAY, 10),
        )
    with time_machine.travel(NOON, tick=False):
        client.force_login(psychiatrist)
        body = client.get(reverse("home")).content.decode()
    assert f'href="{dossier_url(patient, "psychiatric")}"' in body
    assert f'href="{dossier_url(patient, "somatic")}"' not in body


def test_the_secretary_gets_the_units_day_by_practitioner_and_no_dossier(client, day_of_a_doctor):
    doctor, colleague, first, mine, other = day_of_a_doctor
    with time_machine.travel(NOON, tick=False):
        client.force_login(make_user("secretary"))
        response = client.get(reverse("home"))
    panels = response.context["panels"]
    assert not panels.show_my_day
    by_name = {p.name: [a.id for a in p.appointments] for p in panels.unit_day}
    assert by_name == {
        doctor.get_full_name(): [mine[0].pk, mine[2].pk, mine[1].pk],
        colleague.get_full_name(): [other.pk],
    }
    body = response.content.decode()
    assert "/dossiers/" not in body
    assert f'href="{patient_url(first)}"' in body


def test_the_coordinator_sees_what_awaits_review(client):
    open_break_glass(make_user("nurse"), make_patient(), Compartment.PSYCHIATRIC)
    client.force_login(make_user("coordinator"))
    response = client.get(reverse("home"))
    assert response.context["panels"].to_review == 1
    body = response.content.decode()
    assert "1 accès d'urgence attend votre contrôle." in body
    assert reverse("coordination:break_glass_list") in body


def test_the_appointment_page_leads_to_the_patient_and_the_dossier(client):
    appointment = f.book()
    patient = appointment.patient
    url = reverse("appointments:appointment_detail", kwargs={"appointment_id": appointment.pk})
    client.force_login(make_user("physician"))
    body = client.get(url).content.decode()
    assert f'href="{patient_url(patient)}"' in body
    assert f'href="{dossier_url(patient)}"' in body
    # The psychiatric team sees the somatic appointment, not a way into the somatic dossier.
    client.force_login(make_user("psychiatrist"))
    body = client.get(url).content.decode()
    assert f'href="{patient_url(patient)}"' in body
    assert "/dossiers/" not in body


def test_an_emergency_access_opens_the_way_while_it_lasts(client):
    appointment = f.book()
    psychiatrist = make_user("psychiatrist")
    open_break_glass(psychiatrist, appointment.patient, Compartment.SOMATIC)
    client.force_login(psychiatrist)
    url = reverse("appointments:appointment_detail", kwargs={"appointment_id": appointment.pk})
    assert dossier_url(appointment.patient) in client.get(url).content.decode()
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2), tick=False):
        assert dossier_url(appointment.patient) not in client.get(url).content.decode()


def _request(nurse, patient, code="general-medicine"):
    return care_requests.care_request_create(
        acting_user=nurse,
        patient=patient,
        specialty=f.specialty(code),
        received_on=timezone.localdate(),
        priority="soon",
        text="Demande",
    )


def test_the_queue_links_each_request_to_the_dossier_of_its_compartment_only(client):
    nurse = make_user("nurse")
    somatic, psychiatric = make_patient(), make_patient()
    _request(nurse, somatic)
    _request(nurse, psychiatric, "psychiatry")
    client.force_login(nurse)
    body = client.get(reverse("appointments:request_list")).content.decode()
    assert dossier_url(somatic) in body
    assert dossier_url(psychiatric, "psychiatric") not in body
    assert patient_url(psychiatric) in body


def test_the_patient_page_shows_the_agenda_and_the_reachable_dossiers(client):
    nurse = make_user("nurse")
    patient = make_patient(last_name="Carrefour")
    appointment = f.book(patient=patient)
    _request(nurse, patient)
    _request(nurse, patient, "psychiatry")
    client.force_login(nurse)
    response = client.get(patient_url(patient))
    agenda = response.context["agenda"]
    assert [a.id for a in agenda.upcoming] == [appointment.pk]
    assert [r.compartment for r in agenda.care_requests] == ["somatic", "psychiatric"]
    body = response.content.decode()
    assert reverse("appointments:appointment_detail", args=[appointment.pk]) in body
    assert f'href="{dossier_url(patient)}"' in body
    assert f'href="{dossier_url(patient, "psychiatric")}"' not in body
    # The secretary: the appointments, neither the requests nor a dossier.
    client.force_login(make_user("secretary"))
    response = client.get(patient_url(patient))
    assert response.context["agenda"].care_requests is None
    assert "/dossiers/" not in response.content.decode()


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_my_day_costs_the_same_queries_for_2_or_20_consultations(client):
    doctor = f.practitioner("physician")
    with time_machine.travel(f.at(DAY, 7), tick=False):
        for hour in (8, 9):
            f.book(practitioner_user=doctor, start=f.at(DAY, hour))
    with time_machine.travel(NOON, tick=False):
        client.force_login(doctor)
        few = _queries(client, reverse("home"))
    with time_machine.travel(f.at(DAY, 7), tick=False):
        for i in range(18):
            f.book(
                practitioner_user=doctor,
                start=f.at(DAY, 10) + datetime.timedelta(minutes=20 * i),
                minutes=20,
            )
    with time_machine.travel(NOON, tick=False):
        assert _queries(client, reverse("home")) == few


def test_the_units_day_costs_the_same_queries_whatever_its_length(client):
    secretary = make_user("secretary")
    doctors = [f.practitioner("physician", room_name=f"Cabinet {i}") for i in range(3)]
    with time_machine.travel(f.at(DAY, 7), tick=False):
        f.book(practitioner_user=doctors[0], start=f.at(DAY, 9), room_obj=f.room("Cabinet 0"))
    with time_machine.travel(NOON, tick=False):
        client.force_login(secretary)
        few = _queries(client, reverse("home"))
    with time_machine.travel(f.at(DAY, 7), tick=False):
        for i, doctor in enumerate(doctors):
            for hour in (10, 11, 14, 15):
                f.book(
                    practitioner_user=doctor, start=f.at(DAY, hour), room_obj=f.room(f"Cabinet {i}")
                )
    with time_machine.travel(NOON, tick=False):
        assert _queries(client, reverse("home")) == few


def test_the_patient_page_costs_the_same_queries_whatever_the_agenda(client):
    nurse = make_user("nurse")
    patient = make_patient()
    f.book(patient=patient)
    _request(nurse, patient)
    client.force_login(nurse)
    few = _queries(client, patient_url(patient))
    for weeks in (2, 3, 4, 5, 6, 7):
        f.book(patient=patient, start=f.at(f.next_weekday(1, weeks_ahead=weeks), 10))
    for _ in range(5):
        _request(nurse, patient, "psychiatry")
        _request(nurse, patient)
    assert _queries(client, patient_url(patient)) == few


def test_the_agenda_grid_links_each_line_to_the_dossier_the_viewer_reaches(client, day_of_a_doctor):
    doctor, _colleague, first, _mine, other = day_of_a_doctor
    psy = f.practitioner("psychiatrist", specialty_code="psychiatry", room_name="Cabinet psy")
    walled = make_patient(last_name="Mur")
    with time_machine.travel(f.at(DAY, 7), tick=False):
        f.book(
            patient=walled,
            practitioner_user=psy,
            specialty_obj=f.specialty("psychiatry"),
            room_obj=f.room("Cabinet psy"),
            start=f.at(DAY, 15),
        )
    day = reverse("appointments:day") + f"?date={DAY.isoformat()}"
    client.force_login(doctor)
    body = client.get(day).content.decode()
    assert f'class="appt-dossier" href="{dossier_url(first)}"' in body
    assert f'class="appt-dossier" href="{dossier_url(other.patient)}"' in body  # a colleague's
    # Across the wall: the line, never a dossier link, of either compartment.
    assert dossier_url(walled, "psychiatric") not in body
    assert dossier_url(walled) not in body
    client.force_login(make_user("secretary"))
    assert 'class="appt-dossier"' not in client.get(day).content.decode()
