"""Agenda pages: what each role sees, query counts that do not grow with the agenda, and
bad input answered with a clear message and nothing written."""

from __future__ import annotations

import datetime
import uuid
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments import clock
from appointments.models import Appointment, Reason, Status
from appointments.services.care_requests import care_request_create
from appointments.services.changes import appointment_cancel
from tests.appointments import factories as f
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db

MOTIVE = "SENTINELLE-MOTIF-douleur-thoracique"
COMMENT = "SENTINELLE-COMMENTAIRE-refus-escorte"


def _fill_day(day: datetime.date, count: int) -> None:
    """COUNT appointments on DAY spread over practitioners and rooms."""
    doctors = [f.practitioner(room_name=f"Cabinet {i}") for i in range(max(1, count // 10 + 1))]
    for i in range(count):
        doctor = doctors[i % len(doctors)]
        slot = i // len(doctors)
        f.book(
            practitioner_user=doctor,
            room_obj=f.room(f"Cabinet {doctors.index(doctor)}"),
            start=f.at(day, 8) + datetime.timedelta(minutes=20 * slot),
            minutes=20,
            motive=MOTIVE,
        )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_day_view_query_count_does_not_grow(persona_client):
    client = persona_client("nurse")
    day_small, day_big = f.next_weekday(1), f.next_weekday(2)
    _fill_day(day_small, 3)
    _fill_day(day_big, 60)
    url = reverse("appointments:day")
    small = _queries(client, f"{url}?date={day_small.isoformat()}")
    big = _queries(client, f"{url}?date={day_big.isoformat()}")
    assert big == small
    by_room = _queries(client, f"{url}?date={day_big.isoformat()}&by=room")
    assert by_room <= small + 2


def test_week_view_query_count_does_not_grow(persona_client):
    client = persona_client("nurse")
    doctor = f.practitioner()
    quiet, busy = f.next_weekday(0, weeks_ahead=1), f.next_weekday(0, weeks_ahead=2)
    f.book(practitioner_user=doctor, start=f.at(quiet, 9))
    for day_offset in range(5):
        for slot in range(8):
            f.book(
                practitioner_user=doctor,
                start=f.at(busy + datetime.timedelta(days=day_offset), 8)
                + datetime.timedelta(minutes=30 * slot),
            )
    url = reverse("appointments:week")
    small = _queries(client, f"{url}?practitioner={doctor.pk}&date={quiet.isoformat()}")
    big = _queries(client, f"{url}?practitioner={doctor.pk}&date={busy.isoformat()}")
    assert big == small


def test_day_view_shows_booked_appointment(persona_client):
    patient = make_patient(last_name="Agendaire")
    appointment = f.book(patient=patient)
    client = persona_client("nurse")
    day = appointment.start.astimezone(f.PARIS).date()
    body = client.get(reverse("appointments:day"), {"date": day.isoformat()}).content.decode()
    assert "AGENDAIRE" in body
    assert "Médecine générale" in body


def test_secretary_never_sees_motive_or_comment(persona_client):
    appointment = f.book(motive=MOTIVE)
    request = care_request_create(
        acting_user=make_user("nurse"),
        patient=appointment.patient,
        specialty=f.specialty("psychiatry"),
        received_on=datetime.date.today(),
        priority="soon",
        text=MOTIVE,
    )
    appointment_cancel(
        acting_user=make_user("nurse"),
        appointment=appointment,
        reason=Reason.ESCORT_CANCELLED,
        comment=COMMENT,
    )
    day = appointment.start.astimezone(f.PARIS).date().isoformat()
    secretary = persona_client("secretary")
    nurse = persona_client("nurse")
    urls = [
        reverse("appointments:day") + f"?date={day}",
        reverse("appointments:day") + f"?date={day}&by=room",
        reverse("appointments:day_print") + f"?date={day}",
        reverse("appointments:week") + f"?practitioner={appointment.practitioner_id}&date={day}",
        reverse("appointments:patient", kwargs={"patient_id": appointment.patient_id}),
        reverse("appointments:appointment_detail", kwargs={"appointment_id": appointment.pk}),
        reverse("appointments:book") + f"?patient={appointment.patient_id}",
        reverse("home"),
    ]
    for url in urls:
        body = secretary.get(url).content.decode()
        assert "SENTINELLE" not in body, url
    assert secretary.get(reverse("appointments:request_list")).status_code == 403
    book_with_request = reverse("appointments:book") + f"?care_request={request.pk}"
    assert secretary.get(book_with_request).status_code == 404
    detail = nurse.get(urls[5]).content.decode()
    assert MOTIVE in detail and COMMENT in detail
    # A psychiatric request's text is for the psychiatric team, not the somatic nurse.
    assert MOTIVE not in nurse.get(reverse("appointments:request_list")).content.decode()
    psychiatrist = persona_client("psychiatrist")
    assert MOTIVE in psychiatrist.get(reverse("appointments:request_list")).content.decode()


def test_secretary_form_has_no_motive_or_comment_field(persona_client):
    appointment = f.book()
    secretary = persona_client("secretary")
    book_page = secretary.get(reverse("appointments:book")).content.decode()
    cancel_page = secretary.get(
        reverse("appointments:appointment_cancel", kwargs={"appointment_id": appointment.pk})
    ).content.decode()
    assert 'name="motive"' not in book_page
    assert 'name="comment"' not in cancel_page
    assert (
        'name="motive"'
        in persona_client("nurse").get(reverse("appointments:book")).content.decode()
    )


def test_secretary_cancels_with_reason(persona_client):
    appointment = f.book()
    secretary = persona_client("secretary")
    url = reverse("appointments:appointment_cancel", kwargs={"appointment_id": appointment.pk})
    response = secretary.post(url, {"reason": Reason.NOT_BROUGHT})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.reason, appointment.side) == (
        Status.CANCELLED,
        Reason.NOT_BROUGHT,
        "penitentiary",
    )


def test_printable_day_list_renders_active_appointments(persona_client):
    kept = f.book(patient=make_patient(last_name="Imprimable"))
    gone = f.book(
        patient=make_patient(last_name="Annulable"),
        practitioner_user=kept.practitioner,
        room_obj=kept.room,
        start=kept.end,
    )
    appointment_cancel(acting_user=kept.practitioner, appointment=gone, reason="refused")
    day = kept.start.astimezone(f.PARIS).date().isoformat()
    body = persona_client("secretary").get(reverse("appointments:day_print"), {"date": day})
    text = body.content.decode()
    assert body.status_code == 200
    assert "IMPRIMABLE" in text and "ANNULABLE" not in text
    assert "ne quitte jamais" in text or "never leaves" in text


def _booking_post(doctor, patient, day, start="10:00", end="10:30", **extra):
    data = {
        "prison_number": patient.prison_number,
        "specialty": f.specialty().pk,
        "kind": "on_site",
        "practitioner": doctor.pk,
        "room": f.room().pk,
        "date": day.isoformat(),
        "start_time": start,
        "end_time": end,
    }
    data.update(extra)
    return data


def test_booking_through_the_form(persona_client):
    doctor = f.practitioner()
    patient = make_patient()
    day = f.next_weekday()
    response = persona_client("secretary").post(
        reverse("appointments:book"), _booking_post(doctor, patient, day)
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.start == f.at(day, 10)
    assert appointment.patient == patient


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_time": "11:00", "end_time": "10:30"}, "précède"),
        ({"start_time": "19:00", "end_time": "19:30"}, "ne consulte pas"),
        ({"room": 999_999}, "Sélectionnez un choix valide"),
        ({"practitioner": 999_999}, "Sélectionnez un choix valide"),
        ({"prison_number": "99999999"}, "Aucun patient"),
        ({"date": "2026-02-30"}, "Saisissez une date valide"),
    ],
)
def test_bad_booking_input_gives_a_clear_message_and_writes_nothing(
    persona_client, changes, message
):
    doctor = f.practitioner()
    patient = make_patient()
    data = _booking_post(doctor, patient, f.next_weekday(), **changes)
    response = persona_client("nurse").post(reverse("appointments:book"), data)
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert not Appointment.objects.exists()


def test_outside_hours_names_the_specialty_of_the_hours_it_gives(persona_client):
    """A practitioner who only keeps dental hours, booked in general medicine: the refusal
    does not give those as general medicine's; with hours in the specialty that day, they
    are given as such."""
    dentist = f.practitioner(specialty_code="dental", start=datetime.time(9))
    patient = make_patient()
    day = f.next_weekday()
    data = _booking_post(dentist, patient, day)
    text = unescape(
        persona_client("nurse").post(reverse("appointments:book"), data).content.decode()
    )
    assert "ne consulte pas en Médecine générale le" in text
    assert "Ce jour-là : Soins dentaires (09:00\u201318:00)." in text
    assert "Horaires en" not in text
    doctor = f.practitioner()
    data = _booking_post(doctor, patient, day, start="19:00", end="19:30")
    text = unescape(
        persona_client("nurse").post(reverse("appointments:book"), data).content.decode()
    )
    assert "ne consulte pas en Médecine générale à cette heure-là le" in text
    assert "Horaires en Médecine générale ce jour-là : 08:00\u201318:00." in text
    assert not Appointment.objects.exists()


def test_booking_a_released_patient_is_refused(persona_client):
    doctor = f.practitioner()
    patient = make_patient()
    patient.custody_status = "released"
    patient.save()
    data = _booking_post(doctor, patient, f.next_weekday())
    response = persona_client("nurse").post(reverse("appointments:book"), data)
    assert "plus dans l" in unescape(response.content.decode())
    assert not Appointment.objects.exists()


def test_practitioner_in_two_rooms_is_refused_with_the_room_named(persona_client):
    first = f.book()
    other_room = f.room("Cabinet 9")
    data = _booking_post(
        first.practitioner,
        make_patient(),
        first.start.astimezone(f.PARIS).date(),
        room=other_room.pk,
    )
    response = persona_client("nurse").post(reverse("appointments:book"), data)
    body = unescape(response.content.decode())
    assert response.status_code == 409
    assert "Cabinet 1" in body  # where the practitioner already is
    assert "slot-list" in body or "Aucun créneau" in body  # fresh free slots offered
    assert Appointment.objects.count() == 1


def test_forged_ids_are_404_and_write_nothing(persona_client):
    client = persona_client("nurse")
    forged = uuid.uuid4()
    for name in ("appointment_detail", "appointment_move", "appointment_cancel"):
        url = reverse(f"appointments:{name}", kwargs={"appointment_id": forged})
        assert client.get(url).status_code == 404
    cancel = reverse("appointments:appointment_cancel", kwargs={"appointment_id": forged})
    assert client.post(cancel, {"reason": "refused"}).status_code == 404
    assert client.get(reverse("appointments:book"), {"care_request": forged}).status_code == 404
    assert client.get(reverse("appointments:book"), {"patient": "not-a-uuid"}).status_code == 404
    close = reverse("appointments:request_close", kwargs={"care_request_id": forged})
    assert client.post(close, {"reason": "duplicate"}).status_code == 404
    assert not Appointment.objects.exists()


def test_bad_day_parameter_falls_back_to_today(persona_client):
    response = persona_client("nurse").get(reverse("appointments:day"), {"date": "yesterday"})
    assert response.status_code == 200
    assert response.context["day"] == clock.today()
    assert response.context["date_errors"]  # the page says why it shows today


def test_the_day_and_week_pickers_start_on_the_day_shown(persona_client):
    """Without a date in the address the page shows today, and so does its date field
    (it was empty: a nurse had to type today's date to move one day on)."""
    client = persona_client("nurse")
    today = clock.today().isoformat()
    for name in ("appointments:day", "appointments:week"):
        page = client.get(reverse(name)).content.decode()
        assert f'type="date" name="date" value="{today}"' in page, name
    week = client.get(reverse("appointments:week")).content.decode()
    assert '<option value="">—</option>' in week  # as the agenda's other lists
    other = (clock.today() + datetime.timedelta(days=3)).isoformat()
    page = client.get(reverse("appointments:day"), {"date": other}).content.decode()
    assert f'value="{other}"' in page and f'value="{today}"' not in page
    # "Show" with the field cleared, or another parameter alone: today, in the field too.
    for name in ("appointments:day", "appointments:week"):
        for params in ({"date": ""}, {"date": "  "}, {"by": "room"}):
            response = client.get(reverse(name), params)
            assert response.status_code == 200
            page = response.content.decode()
            assert f'type="date" name="date" value="{today}"' in page, (name, params)
            assert not response.context["date_errors"], (name, params)


def test_the_week_s_practitioner_list_shows_whose_week_it_is(client):
    """A practitioner's own week without a practitioner in the address: the list names them
    (it read "—" as soon as the address had a date)."""
    doctor = f.practitioner()
    client.force_login(doctor)
    for params in ({}, {"date": clock.today().isoformat()}, {"date": "", "practitioner": ""}):
        page = client.get(reverse("appointments:week"), params).content.decode()
        assert f'<option value="{doctor.pk}" selected>' in page, params


def test_unknown_setup_kind_is_404(persona_client):
    client = persona_client("coordinator")
    assert client.get(reverse("appointments:setup_create", kwargs={"kind": "x"})).status_code == 404
    url = reverse("appointments:setup_edit", kwargs={"kind": "rooms", "pk": 999_999})
    assert client.get(url).status_code == 404


def test_coordinator_edits_reference_data_but_sees_no_patient(persona_client):
    client = persona_client("coordinator")
    point = f.point()
    response = client.post(
        reverse("appointments:setup_create", kwargs={"kind": "rooms"}),
        {"name": "Salle de soins", "movement_point": point.pk, "active": "on"},
    )
    assert response.status_code == 302
    duplicate = client.post(
        reverse("appointments:setup_create", kwargs={"kind": "rooms"}),
        {"name": "Salle de soins", "movement_point": point.pk, "active": "on"},
    )
    assert duplicate.status_code == 400
    assert "existe déjà" in unescape(duplicate.content.decode())
    assert client.get(reverse("appointments:day")).status_code == 403
    assert client.get(reverse("appointments:setup")).status_code == 200


def test_coordinator_sets_opening_hours_every_other_week(persona_client):
    doctor = make_user("physician")
    client = persona_client("coordinator")
    data = {
        "practitioner": doctor.pk,
        "specialty": f.specialty("hepatology").pk,
        "room": f.room().pk,
        "weekday": 1,
        "start_time": "14:00",
        "end_time": "18:00",
        "every_n_weeks": 2,
        "valid_from": "2026-01-06",
    }
    response = client.post(
        reverse("appointments:setup_create", kwargs={"kind": "opening-hours"}), data
    )
    assert response.status_code == 302
    bad = client.post(
        reverse("appointments:setup_create", kwargs={"kind": "opening-hours"}),
        {**data, "start_time": "18:00", "end_time": "14:00"},
    )
    assert "précède" in unescape(bad.content.decode())


def test_absence_form_refuses_nonexistent_time(persona_client):
    doctor = make_user("physician")
    client = persona_client("coordinator")
    response = client.post(
        reverse("appointments:setup_create", kwargs={"kind": "absences"}),
        {
            "practitioner": doctor.pk,
            "start_date": "2026-03-29",
            "start_time": "02:30",
            "end_date": "2026-03-30",
            "end_time": "08:00",
        },
    )
    assert response.status_code == 400
    assert "n'existe pas" in unescape(response.content.decode())


def test_inline_validation_reports_one_field(persona_client):
    client = persona_client("nurse")
    url = reverse("appointments:validate") + "?form=booking&field=end_time"
    response = client.post(url, {"date": "2026-12-01", "start_time": "11:00", "end_time": "10:00"})
    assert response.status_code == 200
    assert "précède" in unescape(response.content.decode())
    assert client.post(reverse("appointments:validate") + "?form=nope").status_code == 400


def test_huge_reference_id_is_404_not_500(persona_client):
    url = reverse("appointments:setup_edit", kwargs={"kind": "rooms", "pk": 10**30})
    assert persona_client("coordinator").get(url).status_code == 404


def test_queue_patient_and_task_pages_do_not_grow_with_data(persona_client):
    nurse = make_user("nurse")
    client = persona_client("nurse")
    patient = make_patient()

    def add_requests(count: int) -> None:
        for _ in range(count):
            care_request_create(
                acting_user=nurse,
                patient=make_patient(),
                specialty=f.specialty("dental"),
                received_on=datetime.date.today(),
                priority="routine",
                text="Mal aux dents",
            )

    add_requests(2)
    f.book(patient=patient)
    queue_small = _queries(client, reverse("appointments:request_list"))
    patient_url = reverse("appointments:patient", kwargs={"patient_id": patient.pk})
    patient_small = _queries(client, patient_url)
    add_requests(15)
    doctor = f.practitioner(room_name="Cabinet 7")
    for hour in range(9, 15):
        f.book(
            patient=patient,
            practitioner_user=doctor,
            room_obj=f.room("Cabinet 7"),
            start=f.at(f.next_weekday(3), hour),
        )
    assert _queries(client, reverse("appointments:request_list")) == queue_small
    assert _queries(client, patient_url) == patient_small


@pytest.mark.parametrize(
    "url, status",
    [
        ("/agenda/?date=9999-12-31", 200),  # an invalid day falls back to today
        ("/agenda/print/?date=0001-01-01", 200),
        ("/agenda/week/?date=9999-12-31", 200),
        ("/agenda/report/?first_day=9999-12-30&last_day=9999-12-31", 400),
        ("/agenda/report/?first_day=0001-01-01&last_day=0001-01-02", 400),
    ],
)
def test_a_date_out_of_range_is_refused_not_a_500(client, url, status):
    """A year typed as 9999 or 0001 would overflow once turned into UTC day bounds."""
    client.force_login(make_user("physician"))
    assert client.get(url).status_code == status


def test_the_day_grid_escapes_what_it_prints(persona_client):
    """The grid's cells are built in Python (appointments.rendering): every value escaped."""
    doctor = f.practitioner(room_name='Cabinet <b>"1"</b>')
    doctor.last_name = "<script>alert(1)</script>"
    doctor.save()
    day = f.next_weekday(1)
    f.book(practitioner_user=doctor, room_obj=f.room('Cabinet <b>"1"</b>'), start=f.at(day, 9))
    client = persona_client("nurse")
    for by in ("practitioner", "room"):
        body = client.get(reverse("appointments:day"), {"date": day.isoformat(), "by": by})
        html = body.content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "<b>" not in html
        assert "&lt;b&gt;&quot;1&quot;&lt;/b&gt;" in html
