"""The report's figures against independent implementations: scikit-learn's AUC, statsmodels-style intervals
worked out by hand, and deciles counted directly."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import roc_auc_score

from community_scoring.outcomes.metrics import (
    deciles, difference_interval, rate, roc_auc, top_decile_lift, wilson_interval,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=80))
def test_roc_auc_is_scikit_learns_with_ties(pairs):
    scores = [float(s) for s, _ in pairs]
    labels = [y for _, y in pairs]
    if len(set(labels)) < 2:
        assert roc_auc(scores, labels) is None
    else:
        assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_deciles_split_distinct_scores_evenly_and_keep_ties_together():
    assert np.bincount(deciles(list(range(100))), minlength=11)[1:].tolist() == [10] * 10
    ties = deciles([0.0] * 70 + [5.0] * 30)
    assert set(ties[:70]) == {7} and set(ties[70:]) == {10}


def test_top_decile_lift_is_the_top_tenths_rate_over_the_overall_rate():
    scores = list(range(100))
    labels = [s >= 95 for s in scores]  # 5 positives, all in the top decile (90..99)
    assert top_decile_lift(scores, labels) == pytest.approx((5 / 10) / (5 / 100))
    assert top_decile_lift(scores, [False] * 100) is None


def test_wilson_interval_matches_the_textbook_figures():
    # 3 of 10 at 95%: (0.1078, 0.6032) (Wilson 1927; e.g. Newcombe 1998, table I)
    low, high = wilson_interval(3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1078, 0.6032)
    assert wilson_interval(0, 0) is None
    assert rate(0, 0) is None and rate(1, 4) == 0.25


def test_difference_interval_contains_the_difference_and_is_newcombes():
    low, high = difference_interval((10, 100), (20, 100))
    assert low < 0.1 < high
    # Newcombe's method 10 for 56/70 vs 48/80 gives (0.0524, 0.3339) for the difference 0.2 (Newcombe 1998, ex. a)
    low, high = difference_interval((48, 80), (56, 70))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert not math.isnan(low)
