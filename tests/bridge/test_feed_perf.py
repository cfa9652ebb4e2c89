"""The fast paths of the feed give the same bytes as the plain definitions.

- ``policy.publish_from`` fetches only the facts the published movements depend on (from the
  horizon's start to the next midnight, further only for consultations across midnight): it
  must publish exactly what ``policy.publish`` publishes over every fact of the agenda.
- ``policy.Windows`` memoises window bounds per instant; ``Feed.rows`` renders each movement
  once for the ETag and the bodies: same values, same bytes, same ETags as before (a poller's
  stored ETag stays valid across the change).
- ``build_feed`` runs a fixed number of queries, whatever the size of the agenda.

No timing is asserted here: figures come from bench/bridge.py.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from appointments.models import Appointment
from appointments.movements import MovementFact, movement_facts
from bridge import feeds, policy
from tests.appointments import factories as agenda
from tests.factories import make_patient

from .agendas import Consultation, local, staff, write

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
KEY = b"k" * 32
FIRST_DAY = datetime.date(2026, 10, 23)  # the days drawn include the end of summer time
DAYS = 8
MAX_DURATION = datetime.timedelta(hours=12)  # appointments.models.MAX_DURATION


def _source(facts: list[MovementFact]):
    """movement_facts over a list: the facts overlapping [start, end), sorted by start."""

    def fetch(start: datetime.datetime, end: datetime.datetime) -> list[MovementFact]:
        if end <= start:
            return []
        return sorted(
            (
                f
                for f in facts
                if f.start < end and f.start > start - MAX_DURATION and f.end > start
            ),
            key=lambda f: (f.start, f.end),
        )

    return fetch


instants = st.builds(
    lambda day, minutes: (
        datetime.datetime.combine(
            FIRST_DAY + datetime.timedelta(days=day), datetime.time(0), tzinfo=PARIS
        ).astimezone(datetime.UTC)
        + datetime.timedelta(minutes=minutes)
    ),
    st.integers(0, DAYS - 1),
    # On the hour and on the waves' half hours, so that facts touch waves and midnights.
    st.integers(0, 24 * 4 - 1).map(lambda quarter: quarter * 15),
)
fact_lists = st.lists(
    st.builds(
        lambda number, point, start, quarters, active: MovementFact(
            prison_number=number,
            start=start,
            end=start + datetime.timedelta(minutes=15 * quarters),
            movement_point=point,
            active=active,
        ),
        st.sampled_from(["100001", "100002", "100003"]),
        st.sampled_from(["usmp-attente", "extraction-hopital"]),
        instants,
        st.integers(1, 48),  # 15 minutes to 12 hours: some cross midnight
        st.booleans(),
    ),
    max_size=40,
)
wave_sets = st.one_of(
    st.just(list(policy.DEFAULT_WAVES)),
    st.lists(st.sampled_from((*policy.DEFAULT_WAVES, datetime.time(0, 0))), unique=True),
)


@given(facts=fact_lists, waves=wave_sets, now=instants, hours=st.sampled_from([1, 24, 48]))
def test_publish_from_fetches_all_that_publish_needs(facts, waves, now, hours):
    horizon = policy.horizon_at(now, hours)
    fetched: list[tuple[datetime.datetime, datetime.datetime]] = []
    source = _source(facts)

    def spy(start: datetime.datetime, end: datetime.datetime) -> list[MovementFact]:
        fetched.append((start, end))
        return source(start, end)

    assert policy.publish_from(spy, waves, horizon, KEY) == policy.publish(
        facts, waves, horizon, KEY
    )
    assert fetched[0][0] == horizon.start


def test_publish_from_follows_a_consultation_across_midnight():
    day = datetime.date(2026, 11, 24)
    horizon = policy.horizon_at(datetime.datetime.combine(day, datetime.time(10), tzinfo=PARIS), 2)
    evening = datetime.datetime.combine(day, datetime.time(11, 0), tzinfo=PARIS)
    facts = [
        MovementFact("1", evening, evening + datetime.timedelta(hours=1), "usmp-attente", True),
        # 22:00 to 06:00, then 08:00 tomorrow: one movement from 17:00 to 08:30 tomorrow,
        MovementFact(
            "2",
            evening + datetime.timedelta(hours=11),
            evening + datetime.timedelta(hours=19),
            "usmp-attente",
            True,
        ),
        MovementFact(
            "2",
            evening + datetime.timedelta(hours=21),
            evening + datetime.timedelta(hours=21, minutes=20),
            "usmp-attente",
            True,
        ),
    ]
    calls: list[tuple[datetime.datetime, datetime.datetime]] = []

    def spy(start, end):
        calls.append((start, end))
        return _source(facts)(start, end)

    published = policy.publish_from(spy, list(policy.DEFAULT_WAVES), horizon, KEY)
    assert published == policy.publish(facts, list(policy.DEFAULT_WAVES), horizon, KEY)
    # not in this 2-hour horizon (it starts at 17:00), unlike the first one.
    assert [m.prison_number for m in published] == ["1"]
    assert len(calls) == 1  # nothing published reaches past midnight: no second fetch

    long_horizon = policy.horizon_at(horizon.start + datetime.timedelta(hours=10), 12)
    calls.clear()
    published = policy.publish_from(spy, list(policy.DEFAULT_WAVES), long_horizon, KEY)
    assert published == policy.publish(facts, list(policy.DEFAULT_WAVES), long_horizon, KEY)
    night = [m for m in published if m.prison_number == "2"]
    # 22:00-06:00 (window 17:00-08:30) and 08:00-08:20 tomorrow (00:00-08:30) are one.
    assert [(m.start.astimezone(PARIS).hour, m.end.astimezone(PARIS).hour) for m in night] == [
        (17, 8)
    ]
    assert len(calls) == 2  # the night's movement reaches past midnight: one more day


@given(facts=fact_lists, waves=wave_sets)
def test_window_memo_is_the_plain_function(facts, waves):
    windows = policy.Windows(waves)
    for fact in facts + facts:
        assert windows.start(fact.start) == policy.window_start(fact.start, waves)
        assert windows.end(fact.end) == policy.window_end(fact.end, waves)


def _reference(feed: feeds.Feed) -> dict[str, object]:
    """The renderings as they were defined before Feed.rows (one movement_dict per use)."""
    dicts = [feeds.movement_dict(m) for m in feed.movements]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(feeds.FIELDS)
    for row in dicts:
        writer.writerow([feeds._csv_safe(row[f]) for f in feeds.FIELDS])
    tags = {}
    for fmt in ("json", "csv", "ics", "html"):
        digest = hashlib.sha256(fmt.encode() + b"\x00")
        for row in dicts:
            digest.update("\x1f".join(row[f] for f in feeds.FIELDS).encode() + b"\x1e")
        tags[fmt] = f'W/"{digest.hexdigest()[:40]}"'
    document = {
        "generated_at": feeds.iso(feed.generated_at),
        "horizon_end": feeds.iso(feed.horizon.end),
        "movements": dicts,
    }
    return {
        "json": json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
        "csv": out.getvalue().encode(),
        "tags": tags,
    }


@given(facts=fact_lists, now=instants)
def test_rows_render_the_same_bytes_and_etags(facts, now):
    horizon = policy.horizon_at(now, 48)
    movements = tuple(policy.publish(facts, list(policy.DEFAULT_WAVES), horizon, KEY))
    feed = feeds.Feed(generated_at=now, horizon=horizon, movements=movements)
    reference = _reference(feed)
    assert feeds.as_json(feed) == reference["json"]
    assert feeds.as_csv(feed) == reference["csv"]
    assert {fmt: feeds.etag(feed, fmt) for fmt in reference["tags"]} == reference["tags"]


NOW = datetime.datetime(2026, 11, 23, 14, 37, tzinfo=PARIS)  # a Monday afternoon


def _agenda(patients: int, first: int = 0) -> None:
    by = staff()
    point, hospital = agenda.point(), agenda.hospital_point()
    for n in range(patients):
        patient = make_patient(prison_number=f"{400000 + first + n}")
        for day in range(-1, 4):  # yesterday to beyond the horizon
            date = NOW.date() + datetime.timedelta(days=day)
            write(
                Consultation(
                    patient,
                    hospital if n % 3 == 0 else point,
                    local(date, 8 + n % 9, 10),
                    local(date, 8 + n % 9, 40),
                    active=n % 5 != 0,
                ),
                created_by=by,
            )


def _queries() -> tuple[int, int]:
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
        feed = feeds.build_feed()
        feeds.as_json(feed)
        for fmt in ("json", "csv", "ics", "html"):
            feeds.etag(feed, fmt)
    return len(ctx.captured_queries), len(feed.movements)


@pytest.mark.django_db
def test_build_feed_runs_the_same_queries_for_a_larger_agenda(waves):
    _agenda(2)
    small, small_movements = _queries()
    Appointment.objects.all().delete()
    _agenda(25, first=100)
    large, large_movements = _queries()
    assert large_movements > small_movements
    # The waves, then one fetch of facts (appointments.movements.movement_facts).
    assert small == large


@pytest.mark.django_db
def test_only_a_consultation_across_midnight_costs_another_fetch(waves):
    _agenda(3)
    before, _ = _queries()
    # The horizon ends on Wednesday at 14:37. A consultation from 14:00 on Wednesday to
    # 01:00 on Thursday is published (window from 14:00) and reaches past midnight: the
    # next day's facts may extend it, so they are fetched too.
    patient = make_patient(prison_number="499999")
    wednesday = NOW.date() + datetime.timedelta(days=2)
    write(
        Consultation(
            patient,
            agenda.point(),
            local(wednesday, 14),
            local(wednesday + datetime.timedelta(days=1), 1),
        ),
        created_by=staff(),
    )
    after, _ = _queries()
    assert after == before + len(_fetch_queries())


def _fetch_queries() -> list[dict[str, str]]:
    """The queries of one call of movement_facts over a non-empty range."""
    start = local(NOW.date(), 0)
    with CaptureQueriesContext(connection) as ctx:
        movement_facts(start, start + datetime.timedelta(days=3))
    return ctx.captured_queries
