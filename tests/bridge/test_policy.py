"""The publication policy as pure functions: windows, grouping, ids, horizon."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from appointments.movements import MovementFact
from bridge import policy

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WAVES = list(policy.DEFAULT_WAVES)
KEY = b"k" * 32
DAY = datetime.date(2026, 11, 24)


def at(hour: int, minute: int = 0, day: datetime.date = DAY) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=PARIS)


def fact(start, end, *, number="100001", point="usmp-attente", active=True) -> MovementFact:
    return MovementFact(
        prison_number=number, start=start, end=end, movement_point=point, active=active
    )


@pytest.mark.parametrize(
    ("start", "end", "window"),
    [
        ((9, 0), (9, 30), ((8, 30), (10, 0))),
        ((8, 30), (10, 0), ((8, 30), (10, 0))),  # exactly on waves
        ((10, 0), (10, 1), ((10, 0), (11, 30))),
        ((9, 59), (10, 1), ((8, 30), (11, 30))),
        ((12, 0), (13, 0), ((11, 30), (14, 0))),
    ],
)
def test_window_runs_from_wave_before_to_wave_after(settings, start, end, window):
    assert policy.window_start(at(*start), WAVES) == at(*window[0])
    assert policy.window_end(at(*end), WAVES) == at(*window[1])


def test_before_first_wave_clamps_to_midnight():
    assert policy.window_start(at(7, 0), WAVES) == at(0, 0)
    assert policy.window_end(at(7, 45), WAVES) == at(8, 30)


def test_after_last_wave_clamps_to_next_midnight():
    assert policy.window_start(at(18, 0), WAVES) == at(17, 0)
    assert policy.window_end(at(18, 30), WAVES) == at(0, 0, DAY + datetime.timedelta(days=1))


def test_end_at_midnight_closes_that_day():
    midnight = at(0, 0, DAY + datetime.timedelta(days=1))
    assert policy.window_end(midnight, WAVES) == midnight


def test_no_waves_means_whole_days():
    assert policy.window_start(at(9, 0), []) == at(0, 0)
    assert policy.window_end(at(9, 30), []) == at(0, 0, DAY + datetime.timedelta(days=1))


def test_waves_follow_daylight_saving():
    summer = datetime.date(2026, 7, 1)
    assert policy.window_start(at(9, 0, summer), WAVES).utcoffset() == datetime.timedelta(0)
    assert policy.window_start(at(9, 0, summer), WAVES) == at(8, 30, summer)


def test_consultations_in_one_window_are_one_movement():
    facts = [fact(at(8, 40), at(9, 0)), fact(at(9, 10), at(9, 40))]
    (movement,) = policy.group_movements(facts, WAVES, KEY)
    assert (movement.start, movement.end, movement.status) == (at(8, 30), at(10, 0), "scheduled")


def test_touching_windows_merge():
    facts = [fact(at(9, 0), at(9, 30)), fact(at(10, 15), at(11, 0))]
    (movement,) = policy.group_movements(facts, WAVES, KEY)
    assert (movement.start, movement.end) == (at(8, 30), at(11, 30))


def test_separate_windows_stay_separate():
    facts = [fact(at(9, 0), at(9, 30)), fact(at(14, 15), at(15, 0))]
    movements = policy.group_movements(facts, WAVES, KEY)
    assert [(m.start, m.end) for m in movements] == [
        (at(8, 30), at(10, 0)),
        (at(14, 0), at(15, 30)),
    ]


def test_different_points_or_detainees_do_not_merge():
    facts = [
        fact(at(9, 0), at(9, 30)),
        fact(at(9, 0), at(9, 30), point="extraction-hopital"),
        fact(at(9, 0), at(9, 30), number="100002"),
    ]
    movements = policy.group_movements(facts, WAVES, KEY)
    assert len(movements) == 3
    assert len({m.id for m in movements}) == 3


def test_cancelled_only_when_all_facts_inactive():
    both_off = [fact(at(9, 0), at(9, 20), active=False), fact(at(9, 30), at(9, 50), active=False)]
    one_on = [fact(at(9, 0), at(9, 20), active=False), fact(at(9, 30), at(9, 50))]
    assert [m.status for m in policy.group_movements(both_off, WAVES, KEY)] == ["cancelled"]
    assert [m.status for m in policy.group_movements(one_on, WAVES, KEY)] == ["scheduled"]


def test_a_cancelled_consultation_in_the_next_wave_does_not_stretch_the_window():
    live = fact(at(9, 0), at(9, 20))
    cancelled_next_wave = fact(at(10, 15), at(10, 45), active=False)
    (movement,) = policy.group_movements([live, cancelled_next_wave], WAVES, KEY)
    alone = policy.group_movements([live], WAVES, KEY)[0]
    assert movement == alone  # same window, same id, scheduled: the cancellation tells nothing
    assert (movement.start, movement.end) == (at(8, 30), at(10, 0))


def test_a_cancelled_consultation_spanning_live_ones_does_not_join_them():
    morning, afternoon = fact(at(9, 0), at(9, 20)), fact(at(14, 10), at(14, 40))
    long_cancelled = fact(at(9, 0), at(14, 30), active=False)
    movements = policy.group_movements([morning, afternoon, long_cancelled], WAVES, KEY)
    assert movements == policy.group_movements([morning, afternoon], WAVES, KEY)
    assert [m.status for m in movements] == ["scheduled", "scheduled"]


@pytest.mark.parametrize("dead", [True, False])
def test_a_dead_consultation_standing_alone_is_published_cancelled(dead):
    live = fact(at(9, 0), at(9, 20))
    later = fact(at(15, 40), at(16, 0), active=not dead)
    movements = policy.group_movements([live, later], WAVES, KEY)
    assert [m.status for m in movements] == ["scheduled", "cancelled" if dead else "scheduled"]
    assert (movements[1].start, movements[1].end) == (at(15, 30), at(17, 0))


def test_cancelled_windows_standing_alone_merge_among_themselves():
    facts = [fact(at(9, 0), at(9, 40), active=False), fact(at(9, 50), at(10, 20), active=False)]
    (movement,) = policy.group_movements(facts, WAVES, KEY)
    assert (movement.status, movement.start, movement.end) == ("cancelled", at(8, 30), at(11, 30))


def test_cancelling_keeps_the_id():
    on = policy.group_movements([fact(at(9, 0), at(9, 20))], WAVES, KEY)
    off = policy.group_movements([fact(at(9, 5), at(9, 45), active=False)], WAVES, KEY)
    assert on[0].id == off[0].id


def test_ids_are_32_hex_keyed_and_not_sequential():
    facts = [fact(at(9, 0), at(9, 20), number=str(100000 + i)) for i in range(5)]
    ids = [m.id for m in policy.group_movements(facts, WAVES, KEY)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == 5
    other = [m.id for m in policy.group_movements(facts, WAVES, b"o" * 32)]
    assert set(ids).isdisjoint(other)


def test_movement_key_is_derived_with_its_own_domain(settings):
    from usmp.crypto.keyring import get_keyring

    key = policy.movement_key()
    assert key != get_keyring().blind_index_key
    assert len(key) == 32


def test_sorted_by_start_then_prison_number():
    facts = [
        fact(at(14, 10), at(14, 20), number="100001"),
        fact(at(9, 0), at(9, 20), number="100003"),
        fact(at(9, 0), at(9, 20), number="100002"),
    ]
    movements = policy.group_movements(facts, WAVES, KEY)
    assert [(m.start, m.prison_number) for m in movements] == [
        (at(8, 30), "100002"),
        (at(8, 30), "100003"),
        (at(14, 0), "100001"),
    ]


def test_horizon_starts_today_and_ends_n_hours_ahead():
    now = at(13, 17)
    horizon = policy.horizon_at(now, 48)
    assert horizon.start == at(0, 0)
    assert horizon.end == now + datetime.timedelta(hours=48)


def test_the_horizon_is_elapsed_hours_whatever_the_zone_it_is_asked_in():
    """Across the autumn change of clocks, 48 hours are 48 elapsed hours, the same for one
    instant read in Paris or in UTC, and for the two readings of the repeated hour (the
    horizon is memoised: equal keys must be equal instants)."""
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    utc = datetime.UTC
    before_change = datetime.datetime(2026, 10, 24, 11, 0, tzinfo=paris)
    for first, second in (
        (before_change, before_change.astimezone(utc)),
        (before_change.astimezone(utc), before_change),
    ):
        policy.horizon_at(first, 48)
        assert policy.horizon_at(second, 48).end == before_change.astimezone(
            utc
        ) + datetime.timedelta(hours=48)
    early = datetime.datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=paris)
    late = early.replace(fold=1)
    assert late.astimezone(utc) - early.astimezone(utc) == datetime.timedelta(hours=1)
    assert policy.horizon_at(early, 1).end == datetime.datetime(2026, 10, 25, 1, 30, tzinfo=utc)
    assert policy.horizon_at(late, 1).end == datetime.datetime(2026, 10, 25, 2, 30, tzinfo=utc)
    with pytest.raises(ValueError, match="aware"):
        policy.horizon_at(datetime.datetime(2026, 10, 24, 11, 0), 48)


def test_publish_keeps_only_windows_in_the_horizon():
    now = at(13, 17)
    horizon = policy.horizon_at(now, 24)
    yesterday = DAY - datetime.timedelta(days=1)
    facts = [
        fact(at(9, 0, yesterday), at(9, 30, yesterday), number="1"),  # before today
        fact(at(9, 0), at(9, 30), number="2"),  # earlier today: kept
        fact(
            at(12, 0, DAY + datetime.timedelta(days=1)),
            at(12, 10, DAY + datetime.timedelta(days=1)),
            number="3",
        ),  # window 11:30 tomorrow < 13:17: kept
        fact(
            at(14, 0, DAY + datetime.timedelta(days=1)),
            at(14, 10, DAY + datetime.timedelta(days=1)),
            number="4",
        ),  # beyond
    ]
    published = policy.publish(facts, WAVES, horizon, KEY)
    assert [m.prison_number for m in published] == ["2", "3"]


def test_close_waves_are_reported():
    close = policy.close_waves([datetime.time(8, 30), datetime.time(8, 45), datetime.time(10, 0)])
    assert close == [(datetime.time(8, 30), datetime.time(8, 45))]
    assert policy.close_waves(WAVES) == []


def test_windows_touching_at_midnight_stay_two_movements():
    """A late consultation yesterday must not swallow today's early one (which would then
    start before today and vanish from the feed)."""
    yesterday = DAY - datetime.timedelta(days=1)
    facts = [fact(at(20, 0, yesterday), at(20, 30, yesterday)), fact(at(7, 0), at(7, 30))]
    movements = policy.group_movements(facts, WAVES, KEY)
    assert [(m.start, m.end) for m in movements] == [
        (at(17, 0, yesterday), at(0, 0)),
        (at(0, 0), at(8, 30)),
    ]
    horizon = policy.horizon_at(at(6, 0), 48)
    assert [m.start for m in policy.publish(facts, WAVES, horizon, KEY)] == [at(0, 0)]


def test_no_waves_days_do_not_chain():
    facts = [
        fact(at(9, 0), at(9, 30)),
        fact(
            at(9, 0, DAY + datetime.timedelta(days=1)), at(10, 0, DAY + datetime.timedelta(days=1))
        ),
    ]
    assert len(policy.group_movements(facts, [], KEY)) == 2
