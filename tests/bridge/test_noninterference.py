"""Non-interference by self-composition: two agendas with the same movements (same detainees,
movement points, waves and statuses) but different specialties, practitioners, rooms within
the point, motives, cancellation reasons and times/lengths within the waves must produce
byte-identical JSON, CSV, ICS and HTML bodies and identical ETags.

Profiles: 200 examples by default, 1,000 with HYPOTHESIS_PROFILE=long (tests/bridge/conftest.py).
"""

from __future__ import annotations

import datetime
import itertools

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from appointments.models import Appointment
from bridge import policy
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user

from .agendas import Consultation, local, write
from .conftest import bearer

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)
DAYS = [NOW.date() + datetime.timedelta(days=n) for n in range(3)]
# Intervals between consecutive waves, plus the clamped ones before the first and after the
# last wave: a consultation inside one keeps the same window.
BOUNDS = [datetime.time(0, 0), *policy.DEFAULT_WAVES, datetime.time(23, 59)]
INTERVALS = list(itertools.pairwise(BOUNDS))
SPECIALTIES = ["general-medicine", "psychiatry", "dental", "hepatology", "psychology", "addiction"]
MAX_VISITS = 5
MAX_PARTS = 2
SLOTS = MAX_VISITS * MAX_PARTS

visit = st.tuples(
    st.integers(0, 3),  # detainee
    st.integers(0, len(DAYS) - 1),  # day
    st.integers(0, len(INTERVALS) - 1),  # interval between waves
    st.integers(0, 1),  # movement point
    st.lists(st.booleans(), min_size=1, max_size=MAX_PARTS),  # consultations: active?
)
skeletons = st.lists(visit, min_size=0, max_size=MAX_VISITS, unique_by=lambda v: v[:3])

# What may differ: (specialty, practitioner, room, motive, reason, start fraction, length
# fraction), drawn independently for each side.
flesh = st.tuples(
    st.sampled_from(SPECIALTIES),
    st.integers(0, 2),  # practitioner: none, or one of the slot's two
    st.integers(0, 1),  # room among the slot's two rooms of the point
    st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    st.sampled_from(["refused", "not_brought", "practitioner_absent", "other"]),
    st.floats(0, 0.99),
    st.floats(0.01, 1.0),
)
fleshes = st.lists(flesh, min_size=SLOTS, max_size=SLOTS)


def _minutes(t: datetime.time) -> int:
    return t.hour * 60 + t.minute


def _span(day, interval, part, parts, start_frac, length_frac):
    """A sub-span of the PART-th of PARTS equal shares of INTERVAL (no overlap between parts)."""
    lo, hi = _minutes(interval[0]), _minutes(interval[1])
    if interval[1] == datetime.time(23, 59):
        hi = 24 * 60
    share = (hi - lo) // parts
    begin = lo + part * share
    offset = min(int(start_frac * share), share - 1)
    length = max(1, int(length_frac * (share - offset)))
    start = local(day, 0) + datetime.timedelta(minutes=begin + offset)
    return start, start + datetime.timedelta(minutes=length)


@pytest.fixture
def cast(db, waves, issue):
    points = [agenda.point(), agenda.hospital_point()]
    rooms = [
        [agenda.room(f"Cabinet {slot}-{n}", points[0]) for n in range(2)] for slot in range(SLOTS)
    ]
    doctors = [[make_user("physician") for _ in range(2)] for _slot in range(SLOTS)]
    patients = [make_patient(prison_number=f"{300000 + n}") for n in range(4)]
    for code in SPECIALTIES:
        agenda.specialty(code)
    _client, token = issue(rate=10_000)
    return {
        "points": points,
        "rooms": rooms,
        "doctors": doctors,
        "patients": patients,
        "token": token,
        "by": make_user("secretary"),
    }


def _build(cast, skeleton, sides):
    Appointment.objects.all().delete()
    slot = 0
    for patient_n, day_n, interval_n, point_n, parts in skeleton:
        point = cast["points"][point_n]
        for part, active in enumerate(parts):
            specialty, doctor_n, room_n, motive, reason, start_frac, length_frac = sides[slot]
            start, end = _span(
                DAYS[day_n], INTERVALS[interval_n], part, len(parts), start_frac, length_frac
            )
            write(
                Consultation(
                    patient=cast["patients"][patient_n],
                    point=point,
                    start=start,
                    end=end,
                    active=active,
                    specialty_code=specialty,
                    practitioner=cast["doctors"][slot][doctor_n - 1] if doctor_n else None,
                    room=cast["rooms"][slot][room_n] if point_n == 0 else None,
                    motive=motive,
                    reason=reason,
                ),
                created_by=cast["by"],
            )
            slot += 1


def _responses(token):
    client = Client()
    out = []
    for suffix in ("", ".csv", ".ics"):
        response = client.get(f"/bridge/v1/movements{suffix}", **bearer(token))
        assert response.status_code == 200
        out.append((suffix, response.content, response["ETag"]))
    page = client.get(reverse("bridge:movements_print"), {"token": token})
    assert page.status_code == 200
    out.append(("html", page.content, page["ETag"]))
    # Headers other than the validators must not vary either.
    out.append(("headers", sorted((k, v) for k, v in page.items() if k != "ETag"), ""))
    return out


@pytest.mark.django_db
@given(skeleton=skeletons, left=fleshes, right=fleshes)
def test_feed_is_identical_when_only_hidden_details_differ(cast, skeleton, left, right):
    with time_machine.travel(NOW, tick=False):
        _build(cast, skeleton, left)
        first = _responses(cast["token"])
        _build(cast, skeleton, right)
        second = _responses(cast["token"])
    assert first == second


@pytest.mark.django_db
def test_self_composition_would_see_a_change_of_window(cast):
    """The harness is not blind: moving one consultation to another wave changes the bytes."""
    skeleton = [(0, 0, 2, 0, [True])]
    base = [("general-medicine", 0, 0, None, "refused", 0.1, 0.2)] * SLOTS
    with time_machine.travel(NOW, tick=False):
        _build(cast, skeleton, base)
        first = _responses(cast["token"])
        _build(cast, [(0, 0, 3, 0, [True])], base)
        second = _responses(cast["token"])
    assert first[0][1] != second[0][1]
    assert first[0][2] != second[0][2]
    assert b"300000" in first[0][1]
