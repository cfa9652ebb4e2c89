"""Overlaps are refused by PostgreSQL itself (exclusion constraints), not only by the service."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from appointments.models import Appointment, Reason, Status
from appointments.services.availability import BookingConflict
from appointments.services.booking import appointment_book
from appointments.services.changes import appointment_cancel
from tests.appointments import factories as f
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db


def _raw_copy(appointment: Appointment, **changes) -> Appointment:
    """A second row written straight through the ORM, bypassing every service check."""
    twin = Appointment(
        patient=appointment.patient,
        specialty=appointment.specialty,
        practitioner=appointment.practitioner,
        room=appointment.room,
        movement_point=appointment.movement_point,
        kind=appointment.kind,
        start=appointment.start,
        end=appointment.end,
        data_key=appointment.data_key,
        created_by=appointment.created_by,
    )
    for name, value in changes.items():
        setattr(twin, name, value)
    return twin


def _constraint_of(excinfo) -> str:
    return excinfo.value.__cause__.diag.constraint_name


def test_database_refuses_practitioner_overlap():
    first = f.book()
    twin = _raw_copy(
        first,
        patient=make_patient(),
        room=f.room("Cabinet 2"),
        start=first.start + datetime.timedelta(minutes=15),
        end=first.end + datetime.timedelta(minutes=15),
    )
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        twin.save(force_insert=True)
    assert _constraint_of(excinfo) == "appointment_no_practitioner_overlap"


def test_database_refuses_room_overlap():
    first = f.book()
    twin = _raw_copy(first, patient=make_patient(), practitioner=make_user("physician"))
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        twin.save(force_insert=True)
    assert _constraint_of(excinfo) == "appointment_no_room_overlap"


def test_database_refuses_patient_overlap():
    first = f.book()
    twin = _raw_copy(first, practitioner=make_user("physician"), room=f.room("Cabinet 2"))
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        twin.save(force_insert=True)
    assert _constraint_of(excinfo) == "appointment_no_patient_overlap"


def test_back_to_back_and_cancelled_appointments_do_not_conflict():
    first = f.book()
    after = _raw_copy(first, start=first.end, end=first.end + datetime.timedelta(minutes=30))
    after.save(force_insert=True)  # [start, end): touching is not overlapping
    appointment_cancel(acting_user=first.created_by, appointment=first, reason=Reason.REFUSED)
    again = _raw_copy(first)
    again.save(force_insert=True)  # the cancelled one no longer holds the slot
    assert Appointment.objects.filter(status=Status.PLANNED).count() == 2


def test_end_before_start_is_refused_by_the_database_too():
    first = f.book()
    broken = _raw_copy(first, start=first.end, end=first.start, patient=make_patient())
    with pytest.raises(IntegrityError), transaction.atomic():
        broken.save(force_insert=True)


def test_btree_gist_is_installed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db(transaction=True)
def test_twenty_clerks_booking_the_same_slot_at_once_one_wins():
    doctor = f.practitioner()
    clerks = [make_user("secretary") for _ in range(20)]
    patients = [make_patient() for _ in range(20)]
    day = f.next_weekday()
    start = f.at(day, 10)
    barrier = threading.Barrier(20)
    results: list[object] = [None] * 20

    def clerk(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = appointment_book(
                acting_user=clerks[i],
                patient=patients[i],
                specialty=f.specialty(),
                kind="on_site",
                start=start,
                end=start + datetime.timedelta(minutes=30),
                practitioner=doctor,
                room=f.room(),
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [r for r in results if isinstance(r, Appointment)]
    losers = [r for r in results if isinstance(r, BookingConflict)]
    assert len(winners) == 1
    assert len(losers) == 19, [type(r) for r in results]
    for loser in losers:
        message = " ".join(loser.messages)
        assert "déjà" in message  # in French: "a déjà un rendez-vous" / "déjà occupée"
    assert Appointment.objects.filter(start=start, status=Status.PLANNED).count() == 1
