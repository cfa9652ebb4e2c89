"""The cached feed is the plain definition's feed, byte for byte, after any sequence of writes.

These tests commit (transactional_db): the cache only keeps what committed transactions
wrote, so a test inside one rolled-back transaction would only ever see the plain path.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from appointments.models import Appointment, Status
from appointments.movements import FOLD_ABOVE, facts_version
from bridge import feeds
from bridge.models import MovementWave
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user

from .agendas import Consultation, local, write
from .conftest import bearer

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=agenda.PARIS)
FORMATS = ("json", "csv", "ics")


def plain_and_served(now: datetime.datetime):
    """(plain, served) bodies and ETags in every format, at NOW."""
    plain, served = feeds.build_feed(now), feeds.current_feed(now)
    return (
        [(feeds.render(plain, f), feeds.etag(plain, f)) for f in FORMATS],
        [(feeds.render(served, f), feeds.etag(served, f)) for f in FORMATS],
    )


@pytest.fixture
def unit(waves):
    feeds.forget()
    points = [agenda.point(), agenda.hospital_point()]
    patients = [make_patient(prison_number=f"{400000 + n}") for n in range(3)]
    yield {"points": points, "patients": patients, "by": make_user("secretary")}
    feeds.forget()


steps = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, 2), st.integers(0, 1), st.integers(0, 60)),
        st.tuples(st.just("move"), st.integers(0, 20), st.integers(0, 60)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(
            st.just("outcome"), st.integers(0, 20), st.sampled_from([Status.DONE, Status.NOT_DONE])
        ),
        st.tuples(st.just("renumber"), st.integers(0, 2), st.integers(0, 99)),
        st.tuples(st.just("wave"), st.sampled_from([datetime.time(12, 45), datetime.time(10, 0)])),
        st.tuples(st.just("clock"), st.integers(1, 30)),
        st.tuples(st.just("pull")),
    ),
    max_size=12,
)


def _slot(n: int) -> datetime.datetime:
    """The N-th half hour from 07:00 today (NOW's day): 60 of them cover two days."""
    return local(NOW.date(), 7) + datetime.timedelta(minutes=30 * n)


def _nth(n: int) -> Appointment | None:
    rows = list(Appointment.objects.order_by("pk"))
    return rows[n % len(rows)] if rows else None


def apply(step, unit, clock):
    kind = step[0]
    if kind == "book":
        _kind, patient_n, point_n, slot = step
        start = _slot(slot)
        overlap = Appointment.objects.filter(
            patient=unit["patients"][patient_n],
            start__lt=start + datetime.timedelta(minutes=25),
            end__gt=start,
            status__in=(Status.PLANNED, Status.DONE),
        )
        if not overlap.exists():
            write(
                Consultation(
                    patient=unit["patients"][patient_n],
                    point=unit["points"][point_n],
                    start=start,
                    end=start + datetime.timedelta(minutes=25),
                ),
                created_by=unit["by"],
            )
    elif kind == "move":
        row = _nth(step[1])
        if row is not None:
            start = _slot(step[2])
            clash = (
                Appointment.objects.filter(
                    patient_id=row.patient_id,
                    start__lt=start + datetime.timedelta(minutes=25),
                    end__gt=start,
                    status__in=(Status.PLANNED, Status.DONE),
                )
                .exclude(pk=row.pk)
                .exists()
            )
            if not clash:
                Appointment.objects.filter(pk=row.pk).update(
                    start=start, end=start + datetime.timedelta(minutes=25)
                )
    elif kind == "cancel":
        row = _nth(step[1])
        if row is not None:
            Appointment.objects.filter(pk=row.pk).update(status=Status.CANCELLED, reason="refused")
    elif kind == "outcome":
        row = _nth(step[1])
        if row is not None and row.status == Status.PLANNED:
            reason = "refused" if step[2] == Status.NOT_DONE else ""
            Appointment.objects.filter(pk=row.pk).update(status=step[2], reason=reason)
    elif kind == "renumber":
        patient = unit["patients"][step[1]]
        patient.refresh_from_db()
        patient.prison_number = f"{500000 + step[1] * 100 + step[2]}"
        patient.save()
    elif kind == "wave":
        wave = MovementWave.objects.filter(time=step[1])
        if wave.exists():
            wave.delete()
        else:
            MovementWave.objects.create(time=step[1])
    elif kind == "clock":
        clock.shift(datetime.timedelta(hours=step[1]))


@given(sequence=steps)
@settings(max_examples=40)
def test_the_served_feed_is_the_plain_one_after_every_write(unit, sequence):
    Appointment.objects.all().delete()
    with time_machine.travel(NOW, tick=False) as clock:
        for step in sequence:
            apply(step, unit, clock)
            plain, served = plain_and_served(datetime.datetime.now(datetime.UTC))
            assert served == plain, step
            # Asked again with nothing changed: the cache answers, still the same.
            assert plain_and_served(datetime.datetime.now(datetime.UTC))[1] == plain


def test_an_unchanged_feed_costs_one_query_and_builds_nothing(unit, django_assert_num_queries):
    with time_machine.travel(NOW, tick=False):
        write(
            Consultation(
                patient=unit["patients"][0],
                point=unit["points"][0],
                start=_slot(4),
                end=_slot(5),
            ),
            created_by=unit["by"],
        )
        first = feeds.current_feed()
        assert first.movements
        with django_assert_num_queries(1):
            again = feeds.current_feed()
            feeds.etag(again, "json")
        assert again.movements is first.movements
        assert feeds.as_json(again) == feeds.as_json(feeds.build_feed())


def test_a_write_from_another_connection_is_seen_at_its_commit(unit):
    with time_machine.travel(NOW, tick=False):
        assert feeds.current_feed().movements == ()
        write(
            Consultation(
                patient=unit["patients"][1], point=unit["points"][0], start=_slot(4), end=_slot(5)
            ),
            created_by=unit["by"],
        )  # committed (autocommit): another transaction than the pull's
        assert len(feeds.current_feed().movements) == 1


def test_a_transaction_that_changed_a_fact_is_served_plain_and_nothing_is_cached(unit):
    with time_machine.travel(NOW, tick=False):
        before = feeds.current_feed()
        with transaction.atomic():
            write(
                Consultation(
                    patient=unit["patients"][2],
                    point=unit["points"][0],
                    start=_slot(4),
                    end=_slot(5),
                ),
                created_by=unit["by"],
            )
            assert facts_version()[1] is True
            inside = feeds.current_feed()
            assert len(inside.movements) == 1
            transaction.set_rollback(True)
        # Another change commits at once: the version it brings is the one the rolled-back
        # transaction saw; what that transaction built must not be served for it.
        MovementWave.objects.create(time=datetime.time(12, 45))
        after = feeds.current_feed()
        assert after.movements == before.movements == feeds.build_feed().movements == ()


def test_folding_keeps_the_version(unit):
    version, _own = facts_version()
    for n in range(FOLD_ABOVE + 2):
        MovementWave.objects.create(time=datetime.time(n // 60 % 24, n % 60, 1))
    grown, _own = facts_version()  # this one folds
    assert grown == version + FOLD_ABOVE + 2
    assert facts_version()[0] == grown
    with connection.cursor() as cursor:
        # Folded: every change of a finished transaction (one still open elsewhere in the
        # cluster holds back the snapshot's xmin: its changes and later ones wait).
        cursor.execute(
            "SELECT count(*) FROM appointments_factchange"
            " WHERE xid < pg_snapshot_xmin(pg_current_snapshot())"
        )
        assert cursor.fetchone()[0] == 0
    MovementWave.objects.create(time=datetime.time(23, 59, 59))
    assert facts_version()[0] == grown + 1


def test_the_http_answers_come_from_the_cache_and_match_the_plain_feed(unit, issue):
    _client, token = issue()
    http = Client()
    with time_machine.travel(NOW, tick=False):
        write(
            Consultation(
                patient=unit["patients"][0], point=unit["points"][1], start=_slot(6), end=_slot(7)
            ),
            created_by=unit["by"],
        )
        first = http.get("/bridge/v1/movements", **bearer(token))
        second = http.get("/bridge/v1/movements", **bearer(token))
        assert first.content == second.content == feeds.as_json(feeds.build_feed())
        assert first["ETag"] == second["ETag"] == feeds.etag(feeds.build_feed(), "json")
        not_modified = http.get(
            "/bridge/v1/movements", **bearer(token), HTTP_IF_NONE_MATCH=first["ETag"]
        )
        assert not_modified.status_code == 304 and "Content-Type" not in not_modified
