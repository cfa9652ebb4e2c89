"""Non-interference by self-composition: two agendas with the same movements (same detainees,
movement points, waves and live/dead pattern) but different specialties, practitioners, rooms
within the point, motives, reasons, exact statuses (planned or done; cancelled or not done),
histories (moved from elsewhere or booked there) and times/lengths within the waves must
produce byte-identical JSON, CSV, ICS and HTML bodies, identical ETags, identical 304s, and
identical headers (all but Date, which the test client does not send anyway).

Each visit may also carry a dead consultation in the next wave interval (adjacent waves), on
both sides alike: it must not stretch a live movement on either.

Profiles: 200 examples by default, 1,000 with HYPOTHESIS_PROFILE=long (tests/bridge/conftest.py).
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import replace

import pytest
import time_machine
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from appointments.models import Appointment, Status
from bridge import admission, policy
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user

from .agendas import Consultation, local, write
from .conftest import PRINT_URL, bearer, enrol

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)
DAYS = [NOW.date() + datetime.timedelta(days=n) for n in range(3)]
# Intervals between consecutive waves, plus the clamped ones before the first and after the
# last wave: a consultation inside one keeps the same window.
BOUNDS = [datetime.time(0, 0), *policy.DEFAULT_WAVES, datetime.time(23, 59)]
INTERVALS = list(itertools.pairwise(BOUNDS))
SPECIALTIES = ["general-medicine", "psychiatry", "dental", "hepatology", "psychology", "addiction"]
MAX_VISITS = 5
MAX_PARTS = 2
SLOTS = MAX_VISITS * (MAX_PARTS + 1)

visit = st.tuples(
    st.integers(0, 3),  # detainee
    st.integers(0, len(DAYS) - 1),  # day
    st.integers(0, len(INTERVALS) - 1),  # interval between waves
    st.integers(0, 1),  # movement point
    st.lists(st.booleans(), min_size=1, max_size=MAX_PARTS),  # consultations: active?
    st.booleans(),  # a dead consultation in the next interval (adjacent wave)
)
skeletons = st.lists(visit, min_size=0, max_size=MAX_VISITS, unique_by=lambda v: v[:3])

# What may differ: (specialty, practitioner, room, motive, reason, start fraction, length
# fraction, exact status among the live or the dead ones, moved from another day and
# interval or not), drawn independently for each side.
flesh = st.tuples(
    st.sampled_from(SPECIALTIES),
    st.integers(0, 2),  # practitioner: none, or one of the slot's two
    st.integers(0, 1),  # room among the slot's two rooms of the point
    st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    st.sampled_from(["refused", "not_brought", "practitioner_absent", "other"]),
    st.floats(0, 0.99),
    st.floats(0.01, 1.0),
    st.booleans(),  # planned rather than done; cancelled rather than not done
    st.one_of(st.none(), st.integers(0, 2)),  # moved from a day past the horizon
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
    printer = Client()
    assert enrol(printer, token).status_code == 302
    return {
        "printer": printer,
        "points": points,
        "rooms": rooms,
        "doctors": doctors,
        "patients": patients,
        "token": token,
        "by": make_user("secretary"),
    }


LIVE = (Status.PLANNED, Status.DONE)
DEAD = (Status.CANCELLED, Status.NOT_DONE)


def _build(cast, skeleton, sides):
    Appointment.objects.all().delete()
    slot = 0
    for patient_n, day_n, interval_n, point_n, parts, dead_next in skeleton:
        point = cast["points"][point_n]
        placed = [(interval_n, part, len(parts), active) for part, active in enumerate(parts)]
        if dead_next and interval_n + 1 < len(INTERVALS):
            placed.append((interval_n + 1, 0, 1, False))
        for interval, part, parts_n, active in placed:
            (specialty, doctor_n, room_n, motive, reason, start_frac, length_frac, first, moved) = (
                sides[slot]
            )
            start, end = _span(
                DAYS[day_n], INTERVALS[interval], part, parts_n, start_frac, length_frac
            )
            consultation = Consultation(
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
                status=(LIVE if active else DEAD)[0 if first else 1],
            )
            if moved is None:
                write(consultation, created_by=cast["by"])
            else:
                # Booked elsewhere first (a day past the horizon, a time of its own), then
                # moved here: the feed keeps no history.
                away = local(NOW.date() + datetime.timedelta(days=10 + moved), 0)
                away += datetime.timedelta(minutes=20 * slot)
                elsewhere = (away, away + datetime.timedelta(minutes=15))
                row = write(
                    replace(consultation, start=elsewhere[0], end=elsewhere[1]),
                    created_by=cast["by"],
                )
                Appointment.objects.filter(pk=row.pk).update(start=start, end=end)
            slot += 1


def _headers(response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.items() if k.lower() != "date")


def _responses(cast):
    """Every rendering, its headers, and the 304 that its ETag gets."""
    # The clock is frozen: every example counts in the same minute of the rate limit.
    admission.reset()
    client, printer = Client(), cast["printer"]
    out = []
    for suffix in ("", ".csv", ".ics"):
        url = f"/bridge/v1/movements{suffix}"
        response = client.get(url, **bearer(cast["token"]))
        assert response.status_code == 200
        again = client.get(url, **bearer(cast["token"]), HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
        out.append((suffix, response.content, _headers(response), again.content, _headers(again)))
    page = printer.get(PRINT_URL)
    assert page.status_code == 200, page.content
    out.append(("html", page.content, _headers(page), b"", []))
    return out


@pytest.mark.django_db
@given(skeleton=skeletons, left=fleshes, right=fleshes)
def test_feed_is_identical_when_only_hidden_details_differ(cast, skeleton, left, right):
    with time_machine.travel(NOW, tick=False):
        _build(cast, skeleton, left)
        first = _responses(cast)
        _build(cast, skeleton, right)
        second = _responses(cast)
    assert first == second


@pytest.mark.django_db
def test_self_composition_would_see_a_change_of_window(cast):
    """The harness is not blind: moving one consultation to another wave changes the bytes."""
    skeleton = [(0, 0, 2, 0, [True], False)]
    base = [("general-medicine", 0, 0, None, "refused", 0.1, 0.2, True, None)] * SLOTS
    with time_machine.travel(NOW, tick=False):
        _build(cast, skeleton, base)
        first = _responses(cast)
        _build(cast, [(0, 0, 3, 0, [True], False)], base)
        second = _responses(cast)
    assert first[0][1] != second[0][1]
    assert dict(first[0][2])["ETag"] != dict(second[0][2])["ETag"]
    assert b"300000" in first[0][1]


@pytest.mark.django_db
def test_a_dead_consultation_in_the_next_wave_changes_nothing(cast):
    """Cancelled or not done in the adjacent wave: the same bytes as without it."""
    base = [("general-medicine", 0, 0, None, "refused", 0.1, 0.2, True, None)] * SLOTS
    with time_machine.travel(NOW, tick=False):
        _build(cast, [(0, 0, 2, 0, [True], False)], base)
        alone = _responses(cast)
        for first in (True, False):
            flesh = [(*base[0][:7], first, None)] * SLOTS
            _build(cast, [(0, 0, 2, 0, [True], True)], flesh)
            assert _responses(cast) == alone
