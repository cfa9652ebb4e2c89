"""Series, daylight-saving days, outcomes and reasons, care requests and their delays."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from appointments import clock
from appointments.models import (
    Absence,
    Appointment,
    CareRequest,
    Kind,
    Reason,
    RoomClosure,
    Side,
    Status,
)
from appointments.selectors.care_requests import care_request_queue, care_request_stats
from appointments.selectors.slots import free_slots
from appointments.services.booking import appointment_book, appointment_series_book
from appointments.services.care_requests import care_request_create
from appointments.services.changes import (
    appointment_cancel,
    appointment_move,
    appointment_record_outcome,
)
from tests.appointments import factories as f
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db

# A Monday in winter, well before the spring-forward night of Sunday 29 March 2026.
FROZEN = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=f.PARIS)


def _series(doctor=None, occurrences=4, every=1, start_day=datetime.date(2026, 3, 10)):
    doctor = doctor or f.practitioner()
    start = f.at(start_day, 10)
    return appointment_series_book(
        acting_user=doctor,
        patient=make_patient(),
        specialty=f.specialty(),
        kind=Kind.ON_SITE,
        start=start,
        end=start + datetime.timedelta(minutes=30),
        every_n_weeks=every,
        occurrences=occurrences,
        practitioner=doctor,
        room=f.room(),
    )


# -- Series ------------------------------------------------------------------------------------


@time_machine.travel(FROZEN, tick=False)
def test_series_keeps_wall_clock_time_across_daylight_saving():
    booked = _series(occurrences=4)
    local_times = [clock.local(a.start).strftime("%a %H:%M") for a in booked]
    assert local_times == ["Tue 10:00"] * 4
    offsets = {clock.local(a.start).utcoffset() for a in booked}
    assert offsets == {datetime.timedelta(hours=1), datetime.timedelta(hours=2)}
    assert [a.series_index for a in booked] == [1, 2, 3, 4]


@time_machine.travel(FROZEN, tick=False)
def test_moving_one_occurrence_leaves_the_others():
    booked = _series()
    second = booked[1]
    new_start = second.start + datetime.timedelta(hours=2)
    appointment_move(
        acting_user=second.created_by,
        appointment=second,
        start=new_start,
        end=new_start + datetime.timedelta(minutes=30),
    )
    starts = [clock.local(a.start).hour for a in Appointment.objects.order_by("series_index")]
    assert starts == [10, 12, 10, 10]


@time_machine.travel(FROZEN, tick=False)
def test_cancelling_one_occurrence_leaves_the_others():
    booked = _series()
    cancelled = appointment_cancel(
        acting_user=booked[0].created_by, appointment=booked[2], reason=Reason.REFUSED
    )
    assert [a.pk for a in cancelled] == [booked[2].pk]
    statuses = list(Appointment.objects.order_by("series_index").values_list("status", flat=True))
    assert statuses == [Status.PLANNED, Status.PLANNED, Status.CANCELLED, Status.PLANNED]


@time_machine.travel(FROZEN, tick=False)
def test_cancelling_this_and_following():
    booked = _series(occurrences=5)
    appointment_cancel(
        acting_user=booked[0].created_by,
        appointment=booked[1],
        reason=Reason.PRACTITIONER_ABSENT,
        following=True,
    )
    rows = list(Appointment.objects.order_by("series_index").values_list("status", "side"))
    assert rows == [(Status.PLANNED, "")] + [(Status.CANCELLED, Side.HEALTH)] * 4


@time_machine.travel(FROZEN, tick=False)
def test_series_with_one_refused_date_writes_nothing_and_names_the_date():
    doctor = f.practitioner()
    Absence.objects.create(
        practitioner=doctor,
        start=f.at(datetime.date(2026, 3, 24), 0),
        end=f.at(datetime.date(2026, 3, 25), 0),
    )
    with pytest.raises(ValidationError) as excinfo:
        _series(doctor=doctor, occurrences=3)
    assert any("24/03/2026" in m for m in excinfo.value.messages)
    assert not Appointment.objects.exists()


@time_machine.travel(FROZEN, tick=False)
def test_every_other_week_series():
    booked = _series(occurrences=3, every=2)
    days = [clock.local(a.start).date().isoformat() for a in booked]
    assert days == ["2026-03-10", "2026-03-24", "2026-04-07"]


# -- Daylight saving ---------------------------------------------------------------------------


def test_nonexistent_spring_forward_time_is_refused_clearly():
    with pytest.raises(ValidationError) as excinfo:
        clock.wall_clock(datetime.date(2026, 3, 29), datetime.time(2, 30))
    assert excinfo.value.code == "nonexistent_time"
    assert "29/03/2026" in excinfo.value.messages[0]


def test_repeated_fall_back_time_is_refused_clearly():
    with pytest.raises(ValidationError) as excinfo:
        clock.wall_clock(datetime.date(2026, 10, 25), datetime.time(2, 30))
    assert excinfo.value.code == "ambiguous_time"


@time_machine.travel(FROZEN, tick=False)
def test_booking_form_refuses_0230_on_spring_forward_day(persona_client):
    from django.urls import reverse

    doctor = f.practitioner(start=datetime.time(0, 0), end=datetime.time(6, 0))
    patient = make_patient()
    response = persona_client("nurse").post(
        reverse("appointments:book"),
        {
            "prison_number": patient.prison_number,
            "specialty": f.specialty().pk,
            "kind": "on_site",
            "practitioner": doctor.pk,
            "room": f.room().pk,
            "date": "2026-03-29",
            "start_time": "02:30",
            "end_time": "03:00",
        },
    )
    from html import unescape

    body = unescape(response.content.decode())
    assert response.status_code == 400
    assert "02:30 n'existe pas le 29/03/2026" in body
    assert not Appointment.objects.exists()


@time_machine.travel(FROZEN, tick=False)
def test_day_bounds_and_free_slots_on_daylight_saving_days():

    start, end = clock.day_bounds(datetime.date(2026, 3, 29))
    assert end - start == datetime.timedelta(hours=23)
    start, end = clock.day_bounds(datetime.date(2026, 10, 25))
    assert end - start == datetime.timedelta(hours=25)
    doctor = f.practitioner(start=datetime.time(1, 0), end=datetime.time(4, 0), weekdays=[6])
    slots = free_slots(
        duration=datetime.timedelta(minutes=30),
        after=f.at(datetime.date(2026, 3, 29), 0),
        practitioner=doctor,
        limit=3,
    )
    # The window crosses the jump (01:00-04:00 lasts two real hours): the slots are real
    # instants, and none is offered at a wall-clock time that does not exist.
    local_times = [clock.local(s.start).strftime("%d/%m %H:%M") for s in slots]
    assert local_times == ["29/03 01:00", "29/03 01:30", "29/03 03:00"]
    assert [s.end - s.start for s in slots] == [datetime.timedelta(minutes=30)] * 3


# -- Availability --------------------------------------------------------------------------------


@time_machine.travel(FROZEN, tick=False)
def test_booking_outside_opening_hours_names_the_hours():
    doctor = f.practitioner(start=datetime.time(9, 0), end=datetime.time(12, 0))
    with pytest.raises(ValidationError) as excinfo:
        f.book(practitioner_user=doctor, start=f.at(datetime.date(2026, 3, 10), 14))
    assert "09:00" in " ".join(excinfo.value.messages)


@time_machine.travel(FROZEN, tick=False)
def test_booking_during_absence_or_room_closure_is_refused():
    doctor = f.practitioner()
    day = datetime.date(2026, 3, 10)
    Absence.objects.create(practitioner=doctor, start=f.at(day, 9), end=f.at(day, 11))
    with pytest.raises(ValidationError):
        f.book(practitioner_user=doctor, start=f.at(day, 10))
    RoomClosure.objects.create(room=f.room(), start=f.at(day, 14), end=f.at(day, 16))
    with pytest.raises(ValidationError):
        f.book(practitioner_user=doctor, start=f.at(day, 15))
    assert not Appointment.objects.exists()


@time_machine.travel(FROZEN, tick=False)
def test_free_slots_skip_busy_absent_and_closed_times():

    doctor = f.practitioner(start=datetime.time(9, 0), end=datetime.time(11, 0), weekdays=[1])
    day = datetime.date(2026, 3, 3)
    f.book(practitioner_user=doctor, start=f.at(day, 9))
    Absence.objects.create(practitioner=doctor, start=f.at(day, 10), end=f.at(day, 10, 30))
    slots = free_slots(
        duration=datetime.timedelta(minutes=30),
        after=FROZEN,
        specialty=f.specialty(),
        limit=3,
    )
    times = [clock.local(s.start).strftime("%d %H:%M") for s in slots]
    assert times == ["03 09:30", "03 10:30", "10 09:00"]


@time_machine.travel(FROZEN, tick=False)
def test_every_other_week_opening_hours():

    f.practitioner(
        specialty_code="hepatology",
        start=datetime.time(14, 0),
        end=datetime.time(15, 0),
        weekdays=[1],
        every_n_weeks=2,
        valid_from=datetime.date(2026, 3, 3),
    )
    slots = free_slots(
        duration=datetime.timedelta(minutes=30),
        after=FROZEN,
        specialty=f.specialty("hepatology"),
        limit=4,
    )
    days = [clock.local(s.start).date().isoformat() for s in slots]
    assert days == ["2026-03-03", "2026-03-03", "2026-03-17", "2026-03-17"]


@time_machine.travel(FROZEN, tick=False)
def test_booking_in_the_past_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        f.book(start=f.at(datetime.date(2026, 3, 1), 10))
    assert excinfo.value.messages


@time_machine.travel(FROZEN, tick=False)
def test_extraction_needs_a_movement_point_and_no_room():
    patient = make_patient()
    nurse = make_user("nurse")
    start = f.at(datetime.date(2026, 3, 12), 9)
    common = {
        "acting_user": nurse,
        "patient": patient,
        "specialty": f.specialty("external-hospital"),
        "kind": Kind.EXTRACTION,
        "start": start,
        "end": start + datetime.timedelta(hours=3),
    }
    with pytest.raises(ValidationError):
        appointment_book(**common)
    appointment = appointment_book(**common, movement_point=f.hospital_point())
    assert appointment.practitioner is None and appointment.room is None


# -- Outcomes and reasons ------------------------------------------------------------------------


def test_outcome_not_done_with_structured_reason_and_encrypted_comment():
    with time_machine.travel(FROZEN, tick=False):
        appointment = f.book(start=f.at(datetime.date(2026, 3, 3), 10))
    with time_machine.travel(datetime.datetime(2026, 3, 3, 11, 0, tzinfo=f.PARIS), tick=False):
        appointment_record_outcome(
            acting_user=appointment.created_by,
            appointment=appointment,
            done=False,
            reason=Reason.NOT_BROUGHT,
            comment="SENTINELLE-escorte-absente",
        )
    appointment.refresh_from_db()
    assert (appointment.status, appointment.reason, appointment.side) == (
        Status.NOT_DONE,
        Reason.NOT_BROUGHT,
        Side.PENITENTIARY,
    )
    assert appointment.outcome_comment == "SENTINELLE-escorte-absente"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT outcome_comment FROM appointments_appointment WHERE id = %s", [appointment.pk]
        )
        raw = bytes(cursor.fetchone()[0])
    assert b"SENTINELLE" not in raw


def test_other_reason_requires_attribution_and_future_outcome_is_refused():
    with time_machine.travel(FROZEN, tick=False):
        appointment = f.book(start=f.at(datetime.date(2026, 3, 3), 10))
        with pytest.raises(ValidationError):
            appointment_record_outcome(
                acting_user=appointment.created_by, appointment=appointment, done=True
            )
    with time_machine.travel(datetime.datetime(2026, 3, 3, 11, 0, tzinfo=f.PARIS), tick=False):
        with pytest.raises(ValidationError) as excinfo:
            appointment_record_outcome(
                acting_user=appointment.created_by,
                appointment=appointment,
                done=False,
                reason=Reason.OTHER,
            )
        assert excinfo.value.message_dict["side"]
        appointment_record_outcome(
            acting_user=appointment.created_by,
            appointment=appointment,
            done=False,
            reason=Reason.OTHER,
            side=Side.PATIENT,
        )
    appointment.refresh_from_db()
    assert appointment.side == Side.PATIENT


@time_machine.travel(FROZEN, tick=False)
def test_cancelled_appointment_cannot_be_cancelled_twice_or_moved():
    appointment = f.book(start=f.at(datetime.date(2026, 3, 3), 10))
    appointment_cancel(
        acting_user=appointment.created_by, appointment=appointment, reason=Reason.REFUSED
    )
    with pytest.raises(ValidationError):
        appointment_cancel(
            acting_user=appointment.created_by, appointment=appointment, reason=Reason.REFUSED
        )
    with pytest.raises(ValidationError):
        appointment_move(
            acting_user=appointment.created_by,
            appointment=appointment,
            start=appointment.start,
            end=appointment.end,
        )


@time_machine.travel(FROZEN, tick=False)
def test_writes_are_audited_without_clinical_text():
    from auditlog.models import LogEntry

    appointment = f.book(start=f.at(datetime.date(2026, 3, 3), 10), motive="SENTINELLE-motif")
    entries = LogEntry.objects.get_for_object(appointment)
    assert entries.count() == 1
    assert "SENTINELLE" not in str(entries.first().changes)
    assert str(appointment) == f"Appointment {appointment.pk}"


# -- Care requests -------------------------------------------------------------------------------


@time_machine.travel(FROZEN, tick=False)
def test_care_request_lifecycle_keeps_delays_for_reports():

    nurse = make_user("nurse")
    patient = make_patient()
    request = care_request_create(
        acting_user=nurse,
        patient=patient,
        specialty=f.specialty("psychiatry"),
        received_on=datetime.date(2026, 2, 27),
        priority="soon",
        text="J'ai besoin de voir quelqu'un",
    )
    # Encrypted with the patient's psychiatric dossier key.
    assert request.data_key.purpose == "psychiatric"
    doctor = f.practitioner("psychiatrist", specialty_code="psychiatry")
    appointment = f.book(
        patient=patient,
        practitioner_user=doctor,
        specialty_obj=f.specialty("psychiatry"),
        start=f.at(datetime.date(2026, 3, 4), 10),
        care_request=request,
    )
    request.refresh_from_db()
    assert request.status == CareRequest.Status.BOOKED
    assert request.first_booked_at == FROZEN
    appointment_cancel(
        acting_user=nurse, appointment=appointment, reason=Reason.OTHER, side=Side.HEALTH
    )
    request.refresh_from_db()
    assert request.status == CareRequest.Status.WAITING  # back in the queue
    again = f.book(
        patient=patient,
        practitioner_user=doctor,
        specialty_obj=f.specialty("psychiatry"),
        start=f.at(datetime.date(2026, 3, 4), 11),
        care_request=request,
    )
    with time_machine.travel(datetime.datetime(2026, 3, 4, 12, 0, tzinfo=f.PARIS), tick=False):
        appointment_record_outcome(acting_user=doctor, appointment=again, done=True)
        stats = care_request_stats(since=datetime.date(2026, 1, 1))
    request.refresh_from_db()
    assert request.status == CareRequest.Status.DONE
    assert request.consulted_at == again.start
    assert request.first_booked_at == FROZEN  # the first booking is what the report counts
    assert (stats.median_days_to_booking, stats.median_days_to_consultation) == (3, 5)


@time_machine.travel(FROZEN, tick=False)
def test_queue_is_most_urgent_then_oldest_first():

    nurse = make_user("nurse")
    for received, priority in [(1, "routine"), (3, "urgent"), (5, "routine"), (2, "soon")]:
        care_request_create(
            acting_user=nurse,
            patient=make_patient(),
            specialty=f.specialty("dental"),
            received_on=datetime.date(2026, 2, 20) + datetime.timedelta(days=received),
            priority=priority,
            text="Mal aux dents",
        )
    queue = [(r.priority, r.received_on.day) for r in care_request_queue()]
    assert queue == [("urgent", 23), ("soon", 22), ("routine", 21), ("routine", 25)]


@time_machine.travel(FROZEN, tick=False)
def test_care_request_bad_input():
    nurse = make_user("nurse")
    patient = make_patient()
    for kwargs in (
        {"received_on": datetime.date(2026, 3, 9), "text": "x"},
        {"received_on": datetime.date(2026, 3, 1), "text": "   "},
        {"received_on": datetime.date(2026, 3, 1), "text": "x" * 5001},
    ):
        with pytest.raises(ValidationError):
            care_request_create(
                acting_user=nurse,
                patient=patient,
                specialty=f.specialty(),
                priority="routine",
                **kwargs,
            )
    assert not CareRequest.objects.exists()


@time_machine.travel(FROZEN, tick=False)
def test_nurse_records_a_care_request_through_the_form(persona_client):
    from html import unescape

    from django.urls import reverse

    patient = make_patient()
    client = persona_client("nurse")
    response = client.post(
        reverse("appointments:request_create"),
        {
            "prison_number": patient.prison_number,
            "received_on": "2026-03-01",
            "specialty": f.specialty("dental").pk,
            "priority": "urgent",
            "text": "Dent cassée",
            "then": "book",
        },
    )
    request = CareRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?care_request={request.pk}")
    page = unescape(client.get(response["Location"]).content.decode())
    assert "Dent cassée" in page
    bad = client.post(
        reverse("appointments:request_create"),
        {"prison_number": patient.prison_number, "received_on": "2026-03-20", "text": "x"},
    )
    assert bad.status_code == 400
    assert CareRequest.objects.count() == 1
