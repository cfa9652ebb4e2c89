"""appointments.movements: the bridge's only door. Movement facts and nothing else."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
import time_machine

from appointments.movements import MovementFact, movement_facts
from appointments.services.changes import appointment_cancel
from tests.appointments import factories as f
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

FROZEN = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=f.PARIS)


def test_movement_fact_has_exactly_the_allowed_fields():
    assert [field.name for field in dataclasses.fields(MovementFact)] == [
        "prison_number",
        "start",
        "end",
        "movement_point",
        "active",
    ]
    assert MovementFact.__dataclass_params__.frozen


@time_machine.travel(FROZEN, tick=False)
def test_movement_facts_carry_no_specialty_practitioner_room_or_motive():
    day = datetime.date(2026, 3, 3)
    patient = make_patient(prison_number="777001")
    kept = f.book(
        patient=patient,
        specialty_obj=f.specialty("psychiatry"),
        practitioner_user=f.practitioner("psychiatrist", specialty_code="psychiatry"),
        start=f.at(day, 10),
        motive="SENTINELLE",
    )
    gone = f.book(patient=make_patient(prison_number="777002"), start=f.at(day, 14))
    appointment_cancel(acting_user=gone.created_by, appointment=gone, reason="refused")
    f.book(patient=make_patient(), start=f.at(day + datetime.timedelta(days=7), 10))

    facts = movement_facts(f.at(day, 0), f.at(day, 23))
    assert facts == (
        MovementFact("777001", kept.start, kept.end, "usmp-attente", True),
        MovementFact("777002", gone.start, gone.end, "usmp-attente", False),
    )
    for fact in facts:
        for value in dataclasses.astuple(fact):
            assert type(value) in (str, datetime.datetime, bool)
        assert not hasattr(fact, "__dict__")  # slots: nothing can be attached
        text = repr(fact)
        for leak in ("Psychiatr", "Cabinet", "SENTINELLE", "psychiatrist"):
            assert leak not in text


@time_machine.travel(FROZEN, tick=False)
def test_movement_facts_query_count_is_constant(django_assert_num_queries):
    day = datetime.date(2026, 3, 3)
    doctor = f.practitioner()
    for hour in range(8, 16):
        f.book(practitioner_user=doctor, start=f.at(day, hour))
    with django_assert_num_queries(2):
        facts = movement_facts(f.at(day, 0), f.at(day, 23))
    assert len(facts) == 8
    assert movement_facts(f.at(day, 10), f.at(day, 9)) == ()
