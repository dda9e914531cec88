from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from community_scoring.scoring.decay import (
    accumulate, day_of, day_start, decay_factor, decayed_sum, from_epoch_days, to_epoch_days, value_at,
)


def test_half_life_halves():
    assert decay_factor(10, 10) == 0.5
    assert decay_factor(30, 10) == 0.125
    assert decay_factor(0, 10) == 1.0
    assert decay_factor(1000, None) == 1.0


def test_hand_computed_example():
    # 8 points on day 0 and 8 on day 10, half-life 10 days: worth 8 * 0.5 + 8 = 12 on day 10, 6 on day 20.
    value, ref = accumulate(0.0, None, 8.0, 0.0, 10.0)
    value, ref = accumulate(value, ref, 8.0, 10.0, 10.0)
    assert (value, ref) == (12.0, 10.0)
    assert value_at(value, ref, 20.0, 10.0) == 6.0


def test_late_arrival_is_valued_at_the_anchor():
    value, ref = accumulate(0.0, None, 8.0, 10.0, 10.0)
    value, ref = accumulate(value, ref, 8.0, 0.0, 10.0)  # arrives late
    assert (value, ref) == (12.0, 10.0)


@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(0, 400)), min_size=1, max_size=20), st.randoms())
@settings(max_examples=200)
def test_any_order_matches_the_sum(deltas, rnd):
    shuffled = list(deltas)
    rnd.shuffle(shuffled)
    value, ref = 0.0, None
    for delta, when in shuffled:
        value, ref = accumulate(value, ref, delta, when, 30.0)
    assert ref == max(t for _, t in deltas)
    expected = decayed_sum(deltas, ref, 30.0)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_epoch_days_round_trip_and_day_start():
    moment = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
    assert to_epoch_days(moment) == pytest.approx(day_start(date(2026, 3, 1)) + 0.75)
    assert from_epoch_days(to_epoch_days(moment)) == moment
    assert day_start(date(1970, 1, 2)) == 1.0
    assert day_of(datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)) == date(2026, 3, 1)
